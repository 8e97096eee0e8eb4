from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKeyConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from reputation.db import JSONType, UTCDateTime, utcnow
from reputation.evidence import RecordedBy
from reputation.extensions import db
from reputation.tenancy.models import TenantModel

ACTIVE, RETRACTED, SUPERSEDED, OVERTURNED = "active", "retracted", "superseded", "overturned"
STATUSES = (ACTIVE, RETRACTED, SUPERSEDED, OVERTURNED)


class ConductEvent(TenantModel, RecordedBy, db.Model):
    """One version of a conduct event. An amendment is a new row that `supersedes` this one."""

    __tablename__ = "conduct_events"
    __table_args__ = (
        ForeignKeyConstraint(
            ["agency_id", "contractor_id"], ["contractors.agency_id", "contractors.id"]
        ),
        ForeignKeyConstraint(
            ["agency_id", "supersedes_id"], ["conduct_events.agency_id", "conduct_events.id"]
        ),
        # A version is superseded at most once: two amendments of it race, one wins.
        UniqueConstraint("agency_id", "supersedes_id"),
        UniqueConstraint("agency_id", "external_ref"),
        Index("ix_conduct_events_contractor", "agency_id", "contractor_id", "occurred_at"),
    )

    contractor_id: Mapped[uuid.UUID] = mapped_column()
    kind: Mapped[str] = mapped_column(String(40))
    valence: Mapped[str] = mapped_column(String(10))
    severity: Mapped[int] = mapped_column()
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    summary: Mapped[str] = mapped_column(String(500))
    details: Mapped[str] = mapped_column(Text, default="")
    evidence_urls: Mapped[list[str]] = mapped_column(JSONType, default=list)
    source: Mapped[str] = mapped_column(String(20))
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column()
    # The id the agency's ATS gave the event, for idempotent imports.
    external_ref: Mapped[str | None] = mapped_column(String(100))

    status: Mapped[str] = mapped_column(String(20), default=ACTIVE)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_by: Mapped[str | None] = mapped_column(String(254))

    # Not stored: every version of the event, the first first, set for a read that shows them
    # (conduct.service.with_history).
    history = None

    @property
    def disputed(self) -> bool:
        return False  # disputes arrive with the self-service feature

    def facts(self) -> dict[str, Any]:
        """The recorded facts an amendment starts from."""
        return {
            "kind": self.kind,
            "severity": self.severity,
            "occurred_at": self.occurred_at,
            "summary": self.summary,
            "details": self.details,
            "evidence_urls": list(self.evidence_urls),
            "source": self.source,
        }

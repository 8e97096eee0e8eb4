from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKeyConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.orm.attributes import set_committed_value

from reputation.db import JSONType, UTCDateTime, utcnow
from reputation.disputes.models import OPEN, Dispute, Statement
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

    # The contractor's statements and disputes of this version, the latest first: every read of
    # events loads them for the whole page at once (one query each), as every read shows them.
    statements: Mapped[list[Statement]] = relationship(
        primaryjoin="and_(Statement.agency_id == ConductEvent.agency_id, "
        "Statement.event_id == ConductEvent.id)",
        foreign_keys="[Statement.agency_id, Statement.event_id]",
        order_by="[Statement.created_at.desc(), Statement.id.desc()]",
        viewonly=True,
        lazy="selectin",
    )
    disputes: Mapped[list[Dispute]] = relationship(
        primaryjoin="and_(Dispute.agency_id == ConductEvent.agency_id, "
        "Dispute.event_id == ConductEvent.id)",
        foreign_keys="[Dispute.agency_id, Dispute.event_id]",
        order_by="[Dispute.opened_at.desc(), Dispute.id.desc()]",
        viewonly=True,
        lazy="selectin",
    )

    # Not stored: every version of the event, the first first, set for a read that shows them
    # (conduct.service.with_history).
    history = None

    def __init__(self, **columns: Any) -> None:
        super().__init__(**columns)
        # A new event has no statement or dispute yet: nothing to load once it is stored (an
        # import records thousands).
        set_committed_value(self, "statements", [])
        set_committed_value(self, "disputes", [])

    @property
    def disputed(self) -> bool:
        """While a dispute of it is open; it keeps counting meanwhile (TRUST_MODEL.md §1)."""
        return any(dispute.status == OPEN for dispute in self.disputes)

    @property
    def dispute(self) -> Dispute | None:
        """The latest dispute of it, open or resolved."""
        return self.disputes[0] if self.disputes else None

    @property
    def statement(self) -> Statement | None:
        """The contractor's current account of it: the latest they gave."""
        return self.statements[0] if self.statements else None

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

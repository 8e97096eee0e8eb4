from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKeyConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from reputation.db import JSONType, UTCDateTime, utcnow
from reputation.evidence import RecordedBy
from reputation.extensions import db
from reputation.tenancy.models import TenantModel

PENDING, VERIFIED, REJECTED = "pending", "verified", "rejected"
STATUSES = (PENDING, VERIFIED, REJECTED)
SOURCES = ("agency", "contractor", "referee", "import")


class RehabilitationStep(TenantModel, RecordedBy, db.Model):
    __tablename__ = "rehabilitation_steps"
    __table_args__ = (
        ForeignKeyConstraint(
            ["agency_id", "contractor_id"], ["contractors.agency_id", "contractors.id"]
        ),
        ForeignKeyConstraint(
            ["agency_id", "addresses_event_id"],
            ["conduct_events.agency_id", "conduct_events.id"],
        ),
        UniqueConstraint("agency_id", "external_ref"),
        Index("ix_rehabilitation_steps_contractor", "agency_id", "contractor_id", "occurred_at"),
    )

    contractor_id: Mapped[uuid.UUID] = mapped_column()
    kind: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    addresses_event_id: Mapped[uuid.UUID | None] = mapped_column()
    unsolicited: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str] = mapped_column(Text, default="")
    evidence_urls: Mapped[list[str]] = mapped_column(JSONType, default=list)
    source: Mapped[str] = mapped_column(String(20))
    external_ref: Mapped[str | None] = mapped_column(String(100))

    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    verified_by: Mapped[str | None] = mapped_column(String(254))
    verified_by_id: Mapped[uuid.UUID | None] = mapped_column()
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verification_note: Mapped[str | None] = mapped_column(Text)

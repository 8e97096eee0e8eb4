"""A contractor's request that an agency erase their record, and the owner's decision."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from reputation.db import UTCDateTime, utcnow
from reputation.extensions import db
from reputation.tenancy.models import TenantModel

REQUESTED, CARRIED_OUT, REFUSED = "requested", "carried_out", "refused"
STATUSES = (REQUESTED, CARRIED_OUT, REFUSED)
MAX_TEXT = 2000

# The columns the owner's decision writes; the rest is what the person asked.
MUTABLE = ("status", "decided_by_id", "decided_by", "decided_at", "decision_reason")


def _open_only() -> dict[str, object]:
    where = text(f"status = '{REQUESTED}'")
    return {"postgresql_where": where, "sqlite_where": where}


class ErasureRequest(TenantModel, db.Model):
    """A person's request that the agency erase its record of them: open until one of the
    agency's owners carries it out or refuses it, with a reason. It outlives the erasure it
    asked for: it is the record that the agency was asked, and what it did."""

    __tablename__ = "erasure_requests"
    __table_args__ = (
        ForeignKeyConstraint(
            ["agency_id", "contractor_id"], ["contractors.agency_id", "contractors.id"]
        ),
        # One open request per record: two sent at once race, one wins.
        Index(
            "uq_erasure_requests_open", "agency_id", "contractor_id", unique=True, **_open_only()
        ),
        # The owners' queue: the open ones, the oldest first; then the decided ones.
        Index("ix_erasure_requests_queue", "agency_id", "status", "requested_at"),
    )

    contractor_id: Mapped[uuid.UUID] = mapped_column()
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default=REQUESTED)
    # The owner who decided: their id, and their email as it was then.
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column()
    decided_by: Mapped[str | None] = mapped_column(String(254))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)

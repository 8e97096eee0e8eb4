"""A contractor's statements about an event, and their disputes of it.

Both point at one version of a conduct event; conduct.models reads them beside the event.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from reputation.db import JSONType, UTCDateTime, utcnow
from reputation.extensions import db
from reputation.tenancy.models import TenantModel

OPEN, RESOLVED = "open", "resolved"
STATUSES = (OPEN, RESOLVED)
UPHELD, AMENDED, OVERTURNED = "upheld", "amended", "overturned"
OUTCOMES = (UPHELD, AMENDED, OVERTURNED)

# TRUST_MODEL.md §1: a dispute the agency has not resolved by then is overturned.
RESOLUTION_PERIOD = timedelta(days=30)
# The reason an overturn by the deadline records (TRUST_MODEL.md §1).
NOT_VERIFIED_IN_TIME = "not verified in time"
MAX_TEXT = 2000

# The columns a dispute's resolution and reminders write; the rest is what the person said.
MUTABLE = (
    "status",
    "outcome",
    "resolution_reason",
    "resolved_at",
    "resolved_by_type",
    "resolved_by_id",
    "resolved_by",
    "amendment_id",
    "reminders_sent",
)


def _open_only() -> dict[str, object]:
    where = text(f"status = '{OPEN}'")
    return {"postgresql_where": where, "sqlite_where": where}


class Statement(TenantModel, db.Model):
    """A contractor's own account of an event. Append-only: a new one supersedes the one before,
    which stays; the latest is the current one."""

    __tablename__ = "statements"
    __table_args__ = (
        ForeignKeyConstraint(
            ["agency_id", "contractor_id"], ["contractors.agency_id", "contractors.id"]
        ),
        ForeignKeyConstraint(
            ["agency_id", "event_id"], ["conduct_events.agency_id", "conduct_events.id"]
        ),
        Index("ix_statements_event", "agency_id", "event_id", "created_at"),
    )

    event_id: Mapped[uuid.UUID] = mapped_column()
    contractor_id: Mapped[uuid.UUID] = mapped_column()
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Dispute(TenantModel, db.Model):
    """A contractor's dispute of an event: open until the agency resolves it, or until its
    deadline, when it is overturned. The event keeps counting while it is open."""

    __tablename__ = "disputes"
    __table_args__ = (
        ForeignKeyConstraint(
            ["agency_id", "contractor_id"], ["contractors.agency_id", "contractors.id"]
        ),
        ForeignKeyConstraint(
            ["agency_id", "event_id"], ["conduct_events.agency_id", "conduct_events.id"]
        ),
        ForeignKeyConstraint(
            ["agency_id", "amendment_id"], ["conduct_events.agency_id", "conduct_events.id"]
        ),
        # One open dispute per event: two opened at once race, one wins.
        Index("uq_disputes_open_event", "agency_id", "event_id", unique=True, **_open_only()),
        Index("ix_disputes_event", "agency_id", "event_id", "opened_at"),
        # The agency's queue: open ones by deadline, resolved ones by when.
        Index("ix_disputes_queue", "agency_id", "status", "deadline"),
        # The scheduler's question, every minute, across agencies: which open ones fall due.
        Index("ix_disputes_due", "deadline", **_open_only()),
    )

    event_id: Mapped[uuid.UUID] = mapped_column()
    contractor_id: Mapped[uuid.UUID] = mapped_column()
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"))
    reason: Mapped[str] = mapped_column(Text)
    evidence_urls: Mapped[list[str]] = mapped_column(JSONType, default=list)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    # How many of the reminders before the deadline the agency has been sent.
    reminders_sent: Mapped[int] = mapped_column(default=0)

    status: Mapped[str] = mapped_column(String(20), default=OPEN)
    outcome: Mapped[str | None] = mapped_column(String(20))
    resolution_reason: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who resolved it (actors.Actor): a staff member, an API key, or the system at the deadline.
    resolved_by_type: Mapped[str | None] = mapped_column(String(20))
    resolved_by_id: Mapped[uuid.UUID | None] = mapped_column()
    resolved_by: Mapped[str | None] = mapped_column(String(254))
    # The version an `amended` outcome recorded.
    amendment_id: Mapped[uuid.UUID | None] = mapped_column()

    # Not stored: the event disputed, set for a read that shows it (service.with_events).
    event = None

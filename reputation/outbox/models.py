from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from reputation.db import JSONType, UTCDateTime, utcnow
from reputation.extensions import db
from reputation.tenancy.models import TenantModel

JOB = "job"
EVENT = "event"
# The PostgreSQL channel on which a commit that leaves work for the relay notifies it (the
# triggers of migration 0018).
NOTIFY_CHANNEL = "outbox"


class OutboxMessage(TenantModel, db.Model):
    """A job to enqueue or a webhook event to deliver, committed with the change that caused it."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        # The relay's scan: pending jobs, oldest first, across agencies.
        Index(
            "ix_outbox_messages_pending",
            "created_at",
            postgresql_where=text("relayed_at IS NULL AND kind = 'job'"),
            sqlite_where=text("relayed_at IS NULL AND kind = 'job'"),
        ),
    )

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(10))
    # For a job: the RQ queue and the dotted path of the function; for an event: its type.
    queue: Mapped[str | None] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # A job id shared by jobs that should coalesce (one recompute per contractor, say).
    job_id: Mapped[str | None] = mapped_column(String(200))
    relayed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(1000))

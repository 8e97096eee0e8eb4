from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from reputation.db import UTCDateTime, utcnow
from reputation.evidence import RecordedBy
from reputation.extensions import db
from reputation.tenancy.models import TenantModel

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


class Export(TenantModel, RecordedBy, db.Model):
    """One export file and how far its job has got: a row in the database, not only in Redis."""

    __tablename__ = "exports"

    what: Mapped[str] = mapped_column(String(20))
    format: Mapped[str] = mapped_column(String(10))
    since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Whether the CSV's text cells that a spreadsheet would run as formulas are written as text
    # (rows.writer). No default: start_export decides. False for JSONL, whose values are verbatim,
    # and for the exports written before the service neutralised formulas (migration 0010).
    neutralise_formulas: Mapped[bool] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default=QUEUED)
    rows_done: Mapped[int] = mapped_column(default=0)
    # The finished file; cleared when it expires and is deleted. The row stays, as the record of
    # what was exported.
    path: Mapped[str | None] = mapped_column(String(1000))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKeyConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from reputation.db import UTCDateTime, utcnow
from reputation.evidence import RecordedBy
from reputation.extensions import db
from reputation.tenancy.models import TenantModel

QUEUED, RUNNING, COMPLETED, FAILED = "queued", "running", "completed", "failed"
# Column lengths: a longer file name is refused; a row error's words are cut to fit.
MAX_FILENAME, MAX_FIELD, MAX_MESSAGE = 255, 100, 1000


class Import(TenantModel, RecordedBy, db.Model):
    """One uploaded file and how far its job has got: a row in the database, not only in Redis."""

    __tablename__ = "imports"

    filename: Mapped[str] = mapped_column(String(MAX_FILENAME))
    format: Mapped[str] = mapped_column(String(10))
    # Where the file waits for its job; it is deleted once the import has ended.
    path: Mapped[str] = mapped_column(String(1000))
    size_bytes: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default=QUEUED)
    rows_total: Mapped[int | None] = mapped_column()
    rows_done: Mapped[int] = mapped_column(default=0)
    rows_failed: Mapped[int] = mapped_column(default=0)
    failure: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Not stored: a page of the rows it could not apply, set for a read that shows them
    # (imports.service.with_errors).
    errors = ()


class ImportRowError(TenantModel, db.Model):
    """Why one row of an import was not applied."""

    __tablename__ = "import_row_errors"
    __table_args__ = (
        ForeignKeyConstraint(
            ["agency_id", "import_id"], ["imports.agency_id", "imports.id"], ondelete="CASCADE"
        ),
        Index("ix_import_row_errors_import", "agency_id", "import_id", "row_number"),
    )

    import_id: Mapped[uuid.UUID] = mapped_column()
    row_number: Mapped[int] = mapped_column()
    field: Mapped[str | None] = mapped_column(String(MAX_FIELD))
    message: Mapped[str] = mapped_column(String(MAX_MESSAGE))

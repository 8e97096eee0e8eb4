"""Imports: store the upload, then apply it in batches in a job (`workers.jobs.run_import`).

An import's file is kept only while the import needs it: a refused upload leaves nothing on
disk, and the file is deleted once the import has ended, completed or failed (its rows are then
in the database, or never will be, and a copy of an agency's data should not outlive its use).
`fail_abandoned_imports`, from the nightly sweep, ends the imports whose job was lost.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from datetime import timedelta
from typing import IO

from flask import current_app, g
from rq import get_current_job
from sqlalchemy import Select, and_, delete, or_, select
from sqlalchemy.exc import DataError

from reputation import clock, jobs, text
from reputation.audit.service import record_audit
from reputation.errors import Invalid
from reputation.evidence import recorder
from reputation.extensions import db
from reputation.ids import new_id
from reputation.imports import batches, models, rows
from reputation.imports.models import COMPLETED, FAILED, QUEUED, RUNNING, Import, ImportRowError
from reputation.outbox.service import enqueue_after_commit
from reputation.tenancy.auth import Principal
from reputation.tenancy.scope import current_agency_id

log = logging.getLogger(__name__)

# Rows applied and committed together: the portal's progress moves a batch at a time, and a batch
# is what the import holds in memory.
BATCH = 2000
CHUNK = 1024 * 1024
# A bulk job times out after 3 hours and RQ tries it at most five times, a quarter of an hour
# of pauses in all: an import still queued or running a day after its upload has no job left
# that will end it (or waits behind a day of others, which is no better).
ABANDONED_AFTER = timedelta(days=1)


def import_directory() -> str:
    return str(
        current_app.config.get("IMPORT_DIR") or os.path.join(current_app.instance_path, "imports")
    )


def agency_folder(agency_id: uuid.UUID) -> str:
    return os.path.join(import_directory(), str(agency_id))


def format_of(filename: str) -> str:
    """The format an uploaded file's name says: JSONL for `.jsonl` and `.ndjson`, else CSV."""
    return "jsonl" if filename.endswith((".jsonl", ".ndjson")) else "csv"


def create_import(filename: str, format: str, upload: IO[bytes]) -> Import:
    """Store an uploaded file and queue its import on the `bulk` queue.

    The file is written under a temporary name and takes its own only once the import is
    recorded: whatever refuses the upload part-way (the size limit, a client that goes away, an
    empty file, the database) leaves nothing on disk. Should the request's transaction then fail
    to commit, the file belongs to no import and `fail_abandoned_imports` deletes it.
    """
    if len(filename) > models.MAX_FILENAME:
        raise Invalid("filename", f"A file name is at most {models.MAX_FILENAME} characters long.")
    if why := text.fault(filename):
        raise Invalid("filename", why)
    import_id = new_id()
    folder = agency_folder(current_agency_id())
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{import_id}.{format}")
    partial = f"{path}.part"
    try:
        size = _store(upload, partial)
        if size == 0:
            raise Invalid("file", "The file is empty.")
        record = Import(
            id=import_id, filename=filename, format=format, path=path, size_bytes=size,
            **recorder(),
        )  # fmt: skip
        db.session.add(record)
        db.session.flush()
        record_audit("import.created", "import", record.id, {"filename": filename, "bytes": size})
        enqueue_after_commit(jobs.RUN_IMPORT, import_id=str(record.id))
        os.replace(partial, path)
    except BaseException:
        # BaseException: a web worker stopped mid-upload (a timeout raises SystemExit) too.
        with contextlib.suppress(OSError):
            os.remove(partial)
        raise
    return record


def _store(upload: IO[bytes], path: str) -> int:
    """Copy the upload to `path` a chunk at a time; its size. The request's stream raises once
    the body passes IMPORT_MAX_BYTES (a 413)."""
    size = 0
    with open(path, "wb") as file:
        while chunk := upload.read(CHUNK):
            file.write(chunk)
            size += len(chunk)
    return size


def run_import(record: Import) -> None:
    """Apply every row of the file: each whole or not at all, progress committed as it goes.

    Running it again (a retried or restarted job) changes nothing already applied: contractors,
    events and steps are matched on their external references. A row that cannot be applied is
    that row's error and the other rows go on; a file that cannot be read at all fails the
    import with the reason. Anything else is recorded and raised, for RQ to try again: meanwhile
    the import shows `queued` with its failure, and `failed` once no try is left. An import that
    has ended is left as it is.
    """
    if record.status in (COMPLETED, FAILED):
        return
    g.principal = Principal(
        kind=record.recorded_by_type,
        id=record.recorded_by_id or record.id,
        agency_id=record.agency_id,
        label=f"{record.recorded_by} (import {record.filename})",
    )
    record.status, record.started_at, record.failure = RUNNING, clock.now(), None
    record.rows_done = record.rows_failed = 0
    db.session.execute(delete(ImportRowError).where(ImportRowError.import_id == record.id))
    try:
        _apply_file(record)
    except rows.Unreadable as error:
        db.session.rollback()
        _finish(record, FAILED, f"The file cannot be read: {error}")
    except FileNotFoundError:
        db.session.rollback()
        _finish(record, FAILED, "The uploaded file is no longer on the server; upload it again.")
    except Exception as error:
        db.session.rollback()
        log.exception("import %s stopped on an error", record.id)
        # The class of error only: its text may hold the server's paths.
        stopped = f"The import stopped on an error ({type(error).__name__})"
        job = get_current_job()
        if job is not None and (job.retries_left or 0) > 0:
            # RQ runs it again: not an end a client should stop polling at.
            record.status, record.failure = QUEUED, f"{stopped}; it will be tried again."
            db.session.commit()
        else:
            _finish(record, FAILED, f"{stopped} on every try; upload the file again.")
        raise
    else:
        _finish(record, COMPLETED)


def _apply_file(record: Import) -> None:
    record.rows_total = rows.count(record.path, record.format)
    db.session.commit()
    for batch in rows.parsed_batches(record.path, record.format, BATCH):
        _apply_batch(record, batch)


def _finish(record: Import, status: str, failure: str | None = None) -> None:
    """End the import for good, and then delete its file: nothing will read it again."""
    record.status, record.failure, record.finished_at = status, failure, clock.now()
    record_audit(
        f"import.{status}",
        "import",
        record.id,
        {"rows_done": record.rows_done, "rows_failed": record.rows_failed},
    )
    db.session.commit()
    with contextlib.suppress(OSError):
        os.remove(record.path)


def fail_abandoned_imports() -> int:
    """Fail the agency's imports still queued ABANDONED_AFTER their upload, or still running as
    long after their job started (their job was lost, or killed for good), and delete every
    file of the agency's that has waited as long for no import: an upload whose web process
    died, or whose transaction never committed. Run in the agency's scope; each import is
    committed as it is failed. Returns how many."""
    now = clock.now()
    long_ago = now - ABANDONED_AFTER
    abandoned = db.session.scalars(
        select(Import).where(
            Import.agency_id == current_agency_id(),
            or_(
                and_(Import.status == QUEUED, Import.created_at < long_ago),
                # Timed by its start: an import that waited long in the queue may run yet.
                and_(Import.status == RUNNING, Import.started_at < long_ago),
            ),
        )
    ).all()
    for record in abandoned:
        _finish(
            record, FAILED, "The import's job stopped without finishing; upload the file again."
        )
    agency_id = current_agency_id()
    folder = agency_folder(agency_id) if agency_id else ""
    if not os.path.isdir(folder):
        return len(abandoned)
    waiting = {
        os.path.basename(path)
        for path in db.session.scalars(
            select(Import.path).where(
                Import.agency_id == agency_id, Import.status.in_((QUEUED, RUNNING))
            )
        )
    }
    before = long_ago.timestamp()
    for entry in os.scandir(folder):
        # An upload may be renamed between the listing and this look at it.
        with contextlib.suppress(OSError):
            if entry.name not in waiting and entry.is_file() and entry.stat().st_mtime < before:
                os.remove(entry.path)
    return len(abandoned)


def _apply_batch(record: Import, batch: list[rows.Parsed]) -> None:
    """Apply a batch of rows, all that can be, and commit it with the import's progress."""
    # A write before the first savepoint opens the batch's transaction (SQLite needs it so).
    record.rows_done = record.rows_done
    db.session.flush()
    try:
        with db.session.begin_nested():
            errors = batches.apply_rows(batch)
    except DataError:
        # The database refused a row of the batch, and so the whole batch: which row, only the
        # rows one at a time can tell.
        errors = [error for item in batch for error in _apply_alone(item)]
    for error in errors:
        _reject(record, error.number, error.field, error.message)
    record.rows_done += len(batch)
    db.session.commit()


def _apply_alone(item: rows.Parsed) -> list[batches.RowError]:
    """Apply one row in a savepoint of its own: the row is refused, the batch goes on."""
    try:
        with db.session.begin_nested():
            return batches.apply_rows([item])
    except DataError as refused:
        reason = str(refused.orig).partition("\n")[0]  # the driver's first line
        return [batches.RowError(item[0], None, f"The database refused this row: {reason}")]


def _reject(record: Import, number: int, field: str | None, message: str) -> None:
    record.rows_failed += 1
    db.session.add(
        ImportRowError(
            import_id=record.id,
            row_number=number,
            field=_storable(field, models.MAX_FIELD) if field else None,
            message=_storable(message, models.MAX_MESSAGE),
        )
    )


def _storable(words: str, length: int) -> str:
    """Words as a row error can hold them, whatever a row put in them: what may not be stored
    shows as U+FFFD, and they are cut to the column."""
    return text.shown(words)[:length]


def search() -> Select[tuple[Import]]:
    """The agency's imports, newest first."""
    return (
        select(Import)
        .where(Import.agency_id == current_agency_id())
        .order_by(Import.created_at.desc(), Import.id.desc())
    )


def row_errors(record: Import) -> Select[tuple[ImportRowError]]:
    """The rows the import could not apply, by row number."""
    return (
        select(ImportRowError)
        .where(
            ImportRowError.agency_id == record.agency_id,
            ImportRowError.import_id == record.id,
        )
        .order_by(ImportRowError.row_number, ImportRowError.id)
    )


def with_errors(record: Import, page: int, per_page: int) -> Import:
    """The import with `errors` set to a page of the rows it could not apply, by row number."""
    record.errors = list(
        db.session.scalars(row_errors(record).limit(per_page).offset((page - 1) * per_page))
    )
    return record

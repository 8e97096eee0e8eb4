"""Imports: store the upload, then apply it row by row in a job (`workers.jobs.run_import`)."""

from __future__ import annotations

import os
import uuid
from typing import IO, Any

from flask import current_app, g
from sqlalchemy import delete, select

from reputation import clock
from reputation.audit.service import record_audit
from reputation.conduct import service as conduct
from reputation.contractors import service as contractors
from reputation.contractors.models import Contractor
from reputation.errors import DomainError, Invalid
from reputation.evidence import recorder
from reputation.extensions import db
from reputation.ids import new_id
from reputation.imports import rows
from reputation.imports.models import COMPLETED, FAILED, RUNNING, Import, ImportRowError
from reputation.outbox.service import enqueue_after_commit, recomputes_coalesced
from reputation.rehabilitation import service as rehabilitation
from reputation.tenancy.auth import Principal
from reputation.tenancy.scope import current_agency_id

BATCH = 500
CHUNK = 1024 * 1024


def import_directory() -> str:
    return str(
        current_app.config.get("IMPORT_DIR") or os.path.join(current_app.instance_path, "imports")
    )


def create_import(filename: str, format: str, upload: IO[bytes]) -> Import:
    """Store an uploaded file and queue its import on the `bulk` queue."""
    import_id = new_id()
    folder = os.path.join(import_directory(), str(current_agency_id()))
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{import_id}.{format}")
    size = 0
    with open(path, "wb") as file:
        while chunk := upload.read(CHUNK):
            file.write(chunk)
            size += len(chunk)
    if size == 0:
        os.remove(path)
        raise Invalid("file", "The file is empty.")
    record = Import(
        id=import_id, filename=filename, format=format, path=path, size_bytes=size, **recorder()
    )
    db.session.add(record)
    db.session.flush()
    record_audit("import.created", "import", record.id, {"filename": filename, "bytes": size})
    enqueue_after_commit("bulk", "workers.jobs.run_import", import_id=str(record.id))
    return record


def run_import(record: Import) -> None:
    """Apply every row of the file: each whole or not at all, progress committed as it goes.

    Running it again (a retried or restarted job) changes nothing already applied: contractors,
    events and steps are matched on their external references.
    """
    if record.status == COMPLETED:
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
        record.rows_total = rows.count(record.path, record.format)
        db.session.commit()
        batch: list[tuple[int, dict[str, Any] | rows.RowRejected]] = []
        for item in rows.read(record.path, record.format):
            batch.append(item)
            if len(batch) == BATCH:
                _apply_batch(record, batch)
                batch = []
        _apply_batch(record, batch)
    except (OSError, UnicodeDecodeError) as error:
        db.session.rollback()
        record.status, record.failure = FAILED, f"The file could not be read: {error}"
    else:
        record.status = COMPLETED
    record.finished_at = clock.now()
    record_audit(
        f"import.{record.status}",
        "import",
        record.id,
        {"rows_done": record.rows_done, "rows_failed": record.rows_failed},
    )
    db.session.commit()


def _apply_batch(
    record: Import, batch: list[tuple[int, dict[str, Any] | rows.RowRejected]]
) -> None:
    # A write before the first savepoint opens the batch's transaction (SQLite needs it so).
    record.rows_done = record.rows_done
    db.session.flush()
    # Contractors this batch has read or written, by external_ref: most rows name one.
    known: dict[str, Contractor] = {}
    with recomputes_coalesced():
        for number, raw in batch:
            try:
                if isinstance(raw, rows.RowRejected):
                    raise raw
                row = rows.parse(raw)
                with db.session.begin_nested():
                    contractor = _apply(row, known)
                if contractor is not None:  # only once its row is applied for good
                    known[contractor.external_ref or ""] = contractor
            except rows.RowRejected as rejected:
                _reject(record, number, rejected.field, rejected.message)
            except DomainError as refused:
                _reject(record, number, refused.field, refused.detail)
            record.rows_done += 1
    db.session.commit()


def _reject(record: Import, number: int, field: str | None, message: str) -> None:
    record.rows_failed += 1
    db.session.add(
        ImportRowError(import_id=record.id, row_number=number, field=field, message=message[:1000])
    )


def _apply(row: rows.Row, known: dict[str, Contractor]) -> Contractor | None:
    """Apply one row; the contractor it created, changed or named."""
    facts = row.facts
    if row.record == "contractor":
        existing = known.get(facts["external_ref"]) or contractors.find_by_external_ref(
            facts["external_ref"]
        )
        if existing is None:
            return contractors.create_contractor(**facts)
        return contractors.update_contractor(existing, facts)
    reference = row.references["contractor_ref"]
    contractor = known.get(reference) or contractors.find_by_external_ref(reference)
    if contractor is None:
        raise rows.RowRejected("contractor_ref", "No contractor with this external_ref.")
    if row.record == "event":
        if conduct.find_by_external_ref(facts["external_ref"]) is None:
            conduct.record_event(contractor, facts)
        return contractor  # an event imported before is never rewritten
    if rehabilitation.find_by_external_ref(facts["external_ref"]) is not None:
        return contractor
    if "addresses_ref" in row.references:
        event = conduct.find_by_external_ref(row.references["addresses_ref"])
        if event is None:
            raise rows.RowRejected("addresses_ref", "No event with this external_ref.")
        facts = {**facts, "addresses_event_id": event.id}
    rehabilitation.record_step(contractor, facts)
    return contractor


def find_import(import_id: uuid.UUID) -> Import | None:
    return db.session.scalar(select(Import).where(Import.id == import_id))

"""Exports: record the request, write the file in a job (`workers.jobs.run_export`), serve it for
seven days, then delete it (`purge_expired_exports`, from the nightly sweep)."""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from datetime import datetime, timedelta
from typing import IO

from flask import current_app
from rq import get_current_job
from sqlalchemy import Select, select

from reputation import clock, jobs
from reputation.audit.service import record_audit
from reputation.errors import Conflict, Gone, Invalid
from reputation.evidence import recorder
from reputation.exports import rows
from reputation.exports.models import DONE, FAILED, QUEUED, RUNNING, Export
from reputation.extensions import db
from reputation.ids import new_id
from reputation.outbox.service import enqueue_after_commit
from reputation.tenancy.scope import current_agency_id

log = logging.getLogger(__name__)

# Long enough to fetch a file over a weekend; short enough that copies of an agency's data do
# not pile up on the service's disk.
KEPT_FOR = timedelta(days=7)


# A partial file this old belongs to no running job (a bulk job times out after 3 hours): its
# worker was killed, and what it wrote is still a copy of the agency's data.
ABANDONED_AFTER = timedelta(days=1)


def export_directory() -> str:
    return str(
        current_app.config.get("EXPORT_DIR") or os.path.join(current_app.instance_path, "exports")
    )


def agency_folder(agency_id: uuid.UUID) -> str:
    return os.path.join(export_directory(), str(agency_id))


def start_export(
    what: str,
    format: str,
    since: datetime | None = None,
    neutralise_formulas: bool | None = None,
) -> Export:
    """Record an export of the agency's `what` and queue its job on the `bulk` queue, in the
    caller's transaction. Exports are reads: the view lets any of the agency's staff or API keys
    ask for one.

    A CSV neutralises formulas unless `neutralise_formulas` is false (rows.writer): the file is
    most often opened in a spreadsheet, and its text comes from imports the agency does not
    control. JSONL is always verbatim; asking it to neutralise formulas is refused rather than
    silently ignored."""
    if neutralise_formulas is None:
        neutralise_formulas = format == "csv"
    elif neutralise_formulas and format != "csv":
        raise Invalid(
            "neutralise_formulas",
            "Only CSV cells are neutralised; a JSONL export is always verbatim.",
        )
    record = Export(
        what=what,
        format=format,
        since=since,
        neutralise_formulas=neutralise_formulas,
        **recorder(),
    )
    db.session.add(record)
    db.session.flush()
    record_audit(
        "export.created",
        "export",
        record.id,
        {
            "what": what,
            "format": format,
            "since": since.isoformat() if since else None,
            "neutralise_formulas": neutralise_formulas,
        },
    )
    enqueue_after_commit(jobs.RUN_EXPORT, export_id=str(record.id))
    return record


def run_export(record: Export) -> None:
    """Write the export's file batch by batch, committing its progress after each batch.

    The file is written under a name of its own and renamed once complete, so a download never
    sees half a file. Running it again (a retried or duplicated job) starts the file afresh; a
    finished export is left as it is. A failure is recorded on the export and raised, for RQ
    to try again.
    """
    if record.status == DONE:
        return
    record.status, record.started_at, record.rows_done, record.error = (
        RUNNING, clock.now(), 0, None,
    )  # fmt: skip
    db.session.commit()
    folder = agency_folder(record.agency_id)
    final = os.path.join(folder, f"{record.id}.{record.format}")
    # Each run its own partial file: two runs of one job at once never write into each other.
    partial = f"{final}.{new_id()}.part"
    try:
        os.makedirs(folder, exist_ok=True)
        with open(partial, "w", encoding="utf-8", newline="") as file:
            write = rows.writer(
                file,
                record.format,
                rows.COLUMNS[record.what],
                neutralise_formulas=record.neutralise_formulas,
            )
            done = 0
            for batch in rows.batches(record.what, record.since):
                write(batch)
                done += len(batch)
                record.rows_done = done
                db.session.commit()
        os.replace(partial, final)
    except Exception as error:
        db.session.rollback()
        with contextlib.suppress(OSError):
            os.remove(partial)
        log.exception("export %s failed", record.id)
        job = get_current_job()
        if job is not None and (job.retries_left or 0) > 0:
            # RQ runs it again: not an end a client should stop polling at.
            record.status = QUEUED
        else:
            record.status, record.finished_at = FAILED, clock.now()
        # The class of error only: its text may hold paths of the server's.
        record.error = f"The export failed ({type(error).__name__}); it is retried a few times."
        record_audit("export.failed", "export", record.id, {"rows_done": record.rows_done})
        db.session.commit()
        raise
    record.status, record.path, record.finished_at = DONE, final, clock.now()
    record.expires_at = record.finished_at + KEPT_FOR
    record_audit("export.done", "export", record.id, {"rows_done": record.rows_done})
    db.session.commit()


def downloadable(record: Export) -> bool:
    return (
        record.status == DONE
        and record.path is not None
        and record.expires_at is not None
        and clock.now() < record.expires_at
    )


def open_download(record: Export) -> IO[bytes]:
    """A finished export's file, open: a 409 before it is done, a 410 once it expired (or was
    purged a moment ago)."""
    if record.status != DONE:
        raise Conflict(
            f"The export is {record.status}; its file can be downloaded once it is done."
        )
    gone = Gone(
        f"The export's file is no longer kept (files are kept {KEPT_FOR.days} days after "
        "they are done); start a new export.",
    )
    if not downloadable(record):
        raise gone
    try:
        return open(str(record.path), "rb")
    except FileNotFoundError:
        raise gone from None


def download_name(record: Export) -> str:
    """`events-20260123T101500Z.csv`: what and when, for the client's file name."""
    finished = record.finished_at or record.created_at
    return f"{record.what}-{finished:%Y%m%dT%H%M%SZ}.{record.format}"


def purge_expired_exports() -> int:
    """Delete the files of the agency's exports that have expired, and the partial files of runs
    that were killed. The rows stay, as the record of what was exported and when. Returns how
    many expired files were deleted."""
    now = clock.now()
    expired = db.session.scalars(
        select(Export).where(Export.path.is_not(None), Export.expires_at <= now)
    ).all()
    for record in expired:
        with contextlib.suppress(FileNotFoundError):
            os.remove(record.path or "")
        record.path = None
    # An export whose job was killed, and not retried, would otherwise say `running` for ever.
    for record in db.session.scalars(
        select(Export).where(
            Export.status.in_((QUEUED, RUNNING)), Export.created_at < now - ABANDONED_AFTER
        )
    ):
        record.status, record.finished_at = FAILED, now
        record.error = "The export's job stopped without finishing; start a new export."
    agency_id = current_agency_id()
    folder = agency_folder(agency_id) if agency_id else ""
    if os.path.isdir(folder):
        abandoned = (now - ABANDONED_AFTER).timestamp()
        for entry in os.scandir(folder):
            # A running export may rename its file between the listing and this look at it.
            with contextlib.suppress(OSError):
                if entry.name.endswith(".part") and entry.stat().st_mtime < abandoned:
                    os.remove(entry.path)
    return len(expired)


def search() -> Select[tuple[Export]]:
    """The agency's exports, newest first."""
    return select(Export).order_by(Export.created_at.desc(), Export.id.desc())

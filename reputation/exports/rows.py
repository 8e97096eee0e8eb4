"""What each kind of export holds, read batch by batch, and how its rows are written.

Each kind reads its table in keyset order (its primary key, BATCH rows per query), so a job holds
one batch in memory however much the agency has recorded. Rows are dumped with the API's own
schemas: the columns are the fields integrators already know (README, "Exports").
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import IO, Any

import marshmallow as ma
from sqlalchemy import Exists, Select, and_, exists, or_, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, selectinload

from reputation.conduct.models import ConductEvent
from reputation.conduct.schemas import EventSchema
from reputation.contractors.models import Contractor
from reputation.contractors.schemas import ContractorSchema
from reputation.disputes.models import Dispute, Statement
from reputation.extensions import db
from reputation.rehabilitation.models import RehabilitationStep
from reputation.rehabilitation.schemas import StepSchema
from reputation.scoring.models import TrajectoryPoint, TrustSnapshot
from reputation.scoring.schemas import AssessmentSchema, ContractorPointSchema, PointSchema
from reputation.scoring.service import with_pending

WHATS = ("contractors", "events", "rehabilitation", "assessments", "trajectories")
FORMATS = ("csv", "jsonl")
MEDIA_TYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson"}
BATCH = 1000

Row = dict[str, Any]

CONTRACTOR, EVENT, STEP = ContractorSchema(), EventSchema(), StepSchema()
ASSESSMENT, POINT = AssessmentSchema(), ContractorPointSchema()


def _fields(schema: ma.Schema) -> tuple[str, ...]:
    return tuple(schema.dump_fields)


COLUMNS: dict[str, tuple[str, ...]] = {
    "contractors": _fields(CONTRACTOR),
    "events": _fields(EVENT),
    "rehabilitation": _fields(STEP),
    "assessments": _fields(ASSESSMENT),
    # The contractor first, as in the assessments' file.
    "trajectories": ("contractor_id", *_fields(PointSchema())),
}


def batches(what: str, since: datetime | None) -> Iterator[list[Row]]:
    """The rows of one kind of export (recorded, or computed, at or after `since`), a batch at
    a time. Each batch is its own query: rows recorded while an export runs may be in it or not.
    """
    return READERS[what](since)


def _keyset(
    statement: Select[Any], key: Sequence[InstrumentedAttribute[Any]]
) -> Iterator[list[Any]]:
    """`statement`'s rows in pages of BATCH, each page a query that starts after the last key,
    so a page costs the same at the end of a table as at its start (unlike OFFSET)."""
    after: tuple[Any, ...] | None = None
    while True:
        page = statement.order_by(*key).limit(BATCH)
        if after is not None:
            page = page.where(key[0] > after[0] if len(key) == 1 else tuple_(*key) > after)
        rows = db.session.scalars(page).all()
        if not rows:
            return
        # Read before the caller commits, which expires the rows.
        after = tuple(getattr(rows[-1], column.key) for column in key)
        yield rows


def _contractors(since: datetime | None) -> Iterator[list[Row]]:
    statement = select(Contractor).options(selectinload(Contractor.tag_rows))
    if since is not None:
        statement = statement.where(Contractor.updated_at >= since)
    for page in _keyset(statement, (Contractor.id,)):
        yield CONTRACTOR.dump(page, many=True)


def _events(since: datetime | None) -> Iterator[list[Row]]:
    # Every version, retracted and superseded ones too: the history is part of the evidence.
    # Each row carries the contractor's current statement and the latest dispute of it.
    statement = select(ConductEvent)
    if since is not None:
        # Recorded, or retracted, superseded or overturned, since then; or answered since then:
        # a statement added, a dispute opened or resolved.
        statement = statement.where(
            or_(
                ConductEvent.recorded_at >= since,
                ConductEvent.status_changed_at >= since,
                _answered_since(Statement, since, Statement.created_at),
                _answered_since(Dispute, since, Dispute.opened_at, Dispute.resolved_at),
            )
        )
    for page in _keyset(statement, (ConductEvent.id,)):
        yield EVENT.dump(page, many=True)


def _answered_since(
    answer: type[Statement] | type[Dispute], since: datetime, *moments: InstrumentedAttribute[Any]
) -> Exists:
    return exists().where(
        answer.agency_id == ConductEvent.agency_id,
        answer.event_id == ConductEvent.id,
        or_(*(moment >= since for moment in moments)),
    )


def _steps(since: datetime | None) -> Iterator[list[Row]]:
    statement = select(RehabilitationStep)
    if since is not None:
        # Recorded, or verified or rejected, since then.
        statement = statement.where(
            or_(RehabilitationStep.recorded_at >= since, RehabilitationStep.verified_at >= since)
        )
    for page in _keyset(statement, (RehabilitationStep.id,)):
        yield STEP.dump(page, many=True)


def _assessments(since: datetime | None) -> Iterator[list[Row]]:
    statement = select(TrustSnapshot)
    if since is not None:
        statement = statement.where(TrustSnapshot.computed_at >= since)
    for page in _keyset(statement, (TrustSnapshot.contractor_id,)):
        yield ASSESSMENT.dump(with_pending(page), many=True)


def _trajectories(since: datetime | None) -> Iterator[list[Row]]:
    statement = select(TrajectoryPoint)
    if since is not None:
        # A trajectory is rewritten whole with its snapshot: `since` is the snapshot's time.
        statement = statement.join(
            TrustSnapshot,
            and_(
                TrustSnapshot.agency_id == TrajectoryPoint.agency_id,
                TrustSnapshot.contractor_id == TrajectoryPoint.contractor_id,
            ),
        ).where(TrustSnapshot.computed_at >= since)
    for page in _keyset(statement, (TrajectoryPoint.contractor_id, TrajectoryPoint.at)):
        yield POINT.dump(page, many=True)


READERS: dict[str, Callable[[datetime | None], Iterator[list[Row]]]] = {
    "contractors": _contractors,
    "events": _events,
    "rehabilitation": _steps,
    "assessments": _assessments,
    "trajectories": _trajectories,
}


# The starts OWASP ("CSV Injection") lists: Excel, LibreOffice and Google Sheets read a cell that
# begins with `=`, `+`, `-` or `@` as a formula, and TAB and CR too, which some of them strip or
# split on, so that what follows starts the cell.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def writer(
    file: IO[str], format: str, columns: tuple[str, ...], *, neutralise_formulas: bool = True
) -> Callable[[list[Row]], None]:
    """Start a file (a CSV's header row) and return what writes each batch of rows to it.

    JSONL: one JSON object per line, every value verbatim. CSV: strings as they are, null as an
    empty cell, and every other value (numbers, booleans, lists, objects) as its JSON text, so a
    reader gets back exactly what the API says; but with `neutralise_formulas`, a string that
    starts like a formula is written after a single quote, which spreadsheets read as "this cell
    is text", so that opening the file runs nothing an import planted in the agency's data.
    """
    if format == "jsonl":

        def write_jsonl(rows: list[Row]) -> None:
            file.writelines(
                json.dumps({name: row[name] for name in columns}, ensure_ascii=False) + "\n"
                for row in rows
            )

        return write_jsonl

    table = csv.writer(file)
    table.writerow(columns)

    def write_csv(rows: list[Row]) -> None:
        table.writerows([_cell(row[name], neutralise_formulas) for name in columns] for row in rows)

    return write_csv


def _cell(value: Any, neutralise_formulas: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        if neutralise_formulas and value.startswith(FORMULA_STARTS):
            return "'" + value
        return value
    # A number, boolean, list or object: its JSON text is not a formula (a negative number is
    # read as that number), and quoting it would change what it says.
    return json.dumps(value, ensure_ascii=False)

"""Reading an import file a row at a time, and turning a row into the facts a service takes.

The columns are in COLUMNS below and in the README ("ATS imports"). Rows are numbered from 1,
the CSV header not counted. `contractor_ref` names a contractor by its `external_ref`,
`addresses_ref` an event by its; other columns are ignored.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import queue
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import marshmallow as ma

from reputation import text
from reputation.api.problems import flatten_messages
from reputation.conduct.schemas import EventCreateSchema
from reputation.contractors.schemas import ContractorCreateSchema
from reputation.rehabilitation.schemas import StepCreateSchema

FORMATS = ("csv", "jsonl")
RECORDS = ("contractor", "event", "step")
# CSV has only text: these columns are read as the lists and booleans the API's schemas take.
LIST_SEPARATORS = {"tags": ";", "evidence_urls": " "}
BOOLEAN_COLUMNS = ("unsolicited",)
BOOLEANS = {"true": True, "false": False}
INTEGER_COLUMNS = ("severity",)
COLUMNS = {
    "contractor": ("external_ref", "name", "email", "tags", "status"),
    "event": (
        "external_ref", "contractor_ref", "kind", "severity", "occurred_at", "summary",
        "details", "evidence_urls", "source",
    ),
    "step": (
        "external_ref", "contractor_ref", "kind", "occurred_at", "addresses_ref",
        "unsolicited", "description", "evidence_urls", "source",
    ),
}  # fmt: skip
SCHEMAS: dict[str, ma.Schema] = {
    "contractor": ContractorCreateSchema(),
    "event": EventCreateSchema(),
    "step": StepCreateSchema(),
}
# Columns that are references to other rows rather than fields of the record itself.
REFERENCES = ("contractor_ref", "addresses_ref")
# A cell longer than this is its row's error. The CSV reader itself is let read cells as long as
# a whole upload, because its own limit fails part-way through a quoted cell that spans lines:
# the rest of that cell would be read as rows of their own, and the row after it swallowed.
MAX_CELL = 128 * 1024
READER_FIELD_LIMIT = 256 * 1024 * 1024


class RowRejected(Exception):
    """A row that cannot be applied, and the field at fault."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def __reduce__(self) -> tuple[type[RowRejected], tuple[str | None, str]]:
        # From the reading process (parsed_batches) to the one that applies the rows.
        return RowRejected, (self.field, self.message)


class Unreadable(Exception):
    """The file as a whole cannot be read, so no row of it can be: the import fails."""


@dataclass(frozen=True)
class Row:
    record: str
    facts: dict[str, Any]  # loaded through the record's API schema
    references: dict[str, str]


def read(path: str, format: str) -> Iterator[tuple[int, dict[str, Any] | RowRejected]]:
    """Each row of the file as a dict, or why it cannot be applied; one row in memory at a time.

    Whatever is wrong with one row (a byte that is not UTF-8, a cell the CSV reader refuses,
    JSON nested too deep, text no database can store) is that row's RowRejected, so the other
    rows are still applied. Unreadable when nothing can be read (a CSV header that is not text);
    OSError when the file cannot be opened.
    """
    # surrogateescape: a byte that is not UTF-8 becomes a lone surrogate, which the text rule
    # then reports for its own row, rather than an error that would end the whole file.
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as file:
        yield from (_csv_rows(file) if format == "csv" else _jsonl_rows(file))


Parsed = tuple[int, Row | RowRejected]
# The process that reads ahead is a fork of this one: it starts at once, with every module this
# one has imported, and takes no arguments through pickles.
READER = multiprocessing.get_context("fork")
# How long either side waits on the other before it looks whether the other is still there.
HANDOVER_WAIT = 0.1


def parsed_batches(path: str, format: str, size: int) -> Iterator[list[Parsed]]:
    """The file's rows in batches of `size`, each row validated (`parse`) or refused.

    A process of its own reads and validates the next batch while the caller applies this one:
    reading and validating (the text rule, the API's schemas) take about a third of an import's
    CPU, which then runs on another core. One batch waits ready at most, so memory does not
    grow with the file. What stops the reading (Unreadable, OSError) is raised here, where the
    caller takes the batch it would have been.
    """
    handed = READER.Queue(maxsize=1)
    stopped = READER.Event()
    reader = READER.Process(
        target=_read_ahead, args=(path, format, size, handed, stopped, os.getpid()), daemon=True
    )
    reader.start()
    try:
        while (item := _next(handed, reader)) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stopped.set()
        reader.join(timeout=5)
        if reader.is_alive():
            reader.kill()
            reader.join()
        handed.close()


def _next(handed: Any, reader: Any) -> list[Parsed] | BaseException | None:
    """The next item the reading process hands over, unless it died without one."""
    while True:
        try:
            return handed.get(timeout=HANDOVER_WAIT)  # type: ignore[no-any-return]
        except queue.Empty:
            if not reader.is_alive() and handed.empty():
                raise RuntimeError(
                    f"the import's reading process ended ({reader.exitcode})"
                ) from None


def _read_ahead(path: str, format: str, size: int, handed: Any, stopped: Any, parent: int) -> None:
    """The reading process: hand over batches of parsed rows, then None, or what stopped it.

    It stops as soon as its batches are not wanted: the caller has stopped taking them, or has
    died (killed with its job) and left it to another parent."""

    def wanted() -> bool:
        return not stopped.is_set() and os.getppid() == parent

    def hand_over(item: list[Parsed] | BaseException | None) -> bool:
        while wanted():
            try:
                handed.put(item, timeout=HANDOVER_WAIT)
                return True
            except queue.Full:
                continue
        # The process then ends without waiting for what it put to be taken.
        handed.cancel_join_thread()
        return False

    try:
        batch: list[Parsed] = []
        for number, raw in read(path, format):
            batch.append((number, raw if isinstance(raw, RowRejected) else validated(raw)))
            if len(batch) == size:
                if not hand_over(batch):
                    return
                batch = []
        if hand_over(batch):
            hand_over(None)
    except Exception as error:  # for the caller to raise
        hand_over(error)


def validated(raw: dict[str, Any]) -> Row | RowRejected:
    try:
        return parse(raw)
    except RowRejected as rejected:
        return rejected


def count(path: str, format: str) -> int:
    """How many rows `read` yields, counted without reading what they hold (a quarter of the
    time of reading them)."""
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as file:
        if format == "csv":
            return sum(1 for _ in _csv_records(file))
        return sum(1 for line in file if line.strip())


def _csv_rows(file: IO[str]) -> Iterator[tuple[int, dict[str, Any] | RowRejected]]:
    for number, cells in _csv_records(file):
        yield number, cells if isinstance(cells, RowRejected) else _from_csv(cells)


def _csv_records(file: IO[str]) -> Iterator[tuple[int, dict[str, str] | RowRejected]]:
    """Each record's cells by column name, or why the CSV reader refused it."""
    csv.field_size_limit(READER_FIELD_LIMIT)
    reader = csv.reader(file)
    try:
        header = next(reader, [])
    except csv.Error as error:
        raise Unreadable(f"the header row cannot be read as CSV ({error}).") from None
    for column, name in enumerate(header, start=1):
        if why := text.fault(name):
            raise Unreadable(f"the header row's column {column} breaks the text rule. {why}")
    number = 0
    while True:
        try:
            cells = next(reader, None)
        except csv.Error as error:
            # The reader gives up on this record and starts the next at the next line.
            number += 1
            yield number, RowRejected(None, f"The row cannot be read as CSV ({error}).")
            continue
        if cells is None:
            return
        if cells:  # a blank line is no row
            number += 1
            yield number, dict(zip(header, cells, strict=False))


def _from_csv(cells: dict[str, str]) -> dict[str, Any] | RowRejected:
    # Cells beyond the header, and empty cells, say nothing.
    row: dict[str, Any] = {name: value for name, value in cells.items() if value != ""}
    for name, value in row.items():
        if len(value) > MAX_CELL:
            return RowRejected(name, f"A cell holds at most {MAX_CELL // 1024} KiB of text.")
    if rejected := _breaks_text_rule(row):
        return rejected
    for name, separator in LIST_SEPARATORS.items():
        if name in row:
            row[name] = [part for part in row[name].split(separator) if part]
    # Anything else stays text, for the schema to refuse by name.
    for name in BOOLEAN_COLUMNS:
        if name in row:
            row[name] = BOOLEANS.get(row[name].strip().lower(), row[name])
    for name in INTEGER_COLUMNS:
        if name in row and row[name].strip().isascii() and row[name].strip().isdigit():
            row[name] = int(row[name])
    return row


def _jsonl_rows(file: IO[str]) -> Iterator[tuple[int, dict[str, Any] | RowRejected]]:
    number = 0
    for line in file:
        if not line.strip():
            continue
        number += 1
        try:
            value = text.load_json(line)
        except json.JSONDecodeError as error:
            yield number, RowRejected(None, f"Not valid JSON: {error.msg}.")
            continue
        except ValueError as error:  # nested too deep for the parser
            yield number, RowRejected(None, str(error))
            continue
        if not isinstance(value, dict):
            yield number, RowRejected(None, "A JSONL row is a JSON object.")
            continue
        yield number, _breaks_text_rule(value) or value


def _breaks_text_rule(row: dict[str, Any]) -> RowRejected | None:
    """The text rule (reputation/text.py) for every key and value of a row, before any schema
    or the database sees it: the first fault, naming its field."""
    found = text.faults(row)
    if not found:
        return None
    path, why = found[0]
    return RowRejected(path or None, why)


def parse(raw: dict[str, Any]) -> Row:
    """Validate a row with the same schemas as the API; RowRejected names the field at fault."""
    record = raw.get("record")
    if record not in RECORDS:
        raise RowRejected("record", f"record is one of {', '.join(RECORDS)}.")
    values = {name: raw[name] for name in COLUMNS[record] if name in raw}
    for required in (
        ("external_ref", "contractor_ref") if record != "contractor" else ("external_ref",)
    ):
        if not isinstance(values.get(required), str) or not values[required].strip():
            raise RowRejected(required, f"{required} is required in an import.")
    references = {name: str(values.pop(name)) for name in REFERENCES if name in values}
    try:
        facts = SCHEMAS[record].load(values)
    except ma.ValidationError as error:
        first = flatten_messages(error.messages, "row")[0]
        raise RowRejected(first["field"], first["detail"]) from error
    return Row(record=record, facts=facts, references=references)

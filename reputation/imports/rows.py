"""Reading an import file row by row, and turning a row into the facts a service takes.

The columns are in COLUMNS below and in the README ("ATS imports"). Rows are numbered from 1,
the CSV header not counted. `contractor_ref` names a contractor by its `external_ref`,
`addresses_ref` an event by its; other columns are ignored.
"""

from __future__ import annotations

import csv
import json
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


def count(path: str, format: str) -> int:
    return sum(1 for _ in read(path, format))


def _csv_rows(file: IO[str]) -> Iterator[tuple[int, dict[str, Any] | RowRejected]]:
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
            yield number, _from_csv(dict(zip(header, cells, strict=False)))


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

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
from typing import Any

import marshmallow as ma

from reputation.api.problems import flatten_messages
from reputation.conduct.schemas import EventCreateSchema
from reputation.contractors.schemas import ContractorCreateSchema
from reputation.rehabilitation.schemas import StepCreateSchema

FORMATS = ("csv", "jsonl")
RECORDS = ("contractor", "event", "step")
LIST_SEPARATORS = {"tags": ";", "evidence_urls": " "}
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


class RowRejected(Exception):
    """A row that cannot be applied, and the field at fault."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Row:
    record: str
    facts: dict[str, Any]  # loaded through the record's API schema
    references: dict[str, str]


def read(path: str, format: str) -> Iterator[tuple[int, dict[str, Any] | RowRejected]]:
    """Each row of the file as a dict, or why it could not be read; one row in memory at a time."""
    with open(path, encoding="utf-8-sig", newline="") as file:
        if format == "csv":
            for number, values in enumerate(csv.DictReader(file), start=1):
                yield number, _from_csv(values)
            return
        number = 0
        for line in file:
            if not line.strip():
                continue
            number += 1
            try:
                value = json.loads(line)
            except json.JSONDecodeError as error:
                yield number, RowRejected(None, f"Not valid JSON: {error.msg}.")
                continue
            if not isinstance(value, dict):
                yield number, RowRejected(None, "A JSONL row is a JSON object.")
                continue
            yield number, value


def count(path: str, format: str) -> int:
    return sum(1 for _ in read(path, format))


def _from_csv(values: dict[str | None, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name, value in values.items():
        if name is None or value is None or value == "":
            continue  # extra cells without a header, and empty cells, say nothing
        if name in LIST_SEPARATORS:
            value = [part for part in value.split(LIST_SEPARATORS[name]) if part]
        row[name] = value
    return row


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

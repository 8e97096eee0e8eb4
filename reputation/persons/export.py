"""Everything held about a person, in every agency whose record is linked to them, as one JSON
document: their right of access and to portability (GDPR Art 15 and 20).

The rows are found by the shape of the schema rather than by a list: every tenant table with a
`contractor_id` column holds rows about a contractor, and every table with a `person_id` column
rows about a person. A table that a new feature adds is in the export, and in an erasure
(reputation.erasure.service), from the day it exists. They are exported as stored, column by
column, since the point is what is held, not what a page shows of it; only secrets stay out.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Table, select

from reputation import clock
from reputation.audit.service import record_audit
from reputation.contractors.models import Contractor
from reputation.extensions import db
from reputation.persons import service as persons
from reputation.persons.models import Person, PersonLink
from reputation.tenancy.models import Agency
from reputation.tenancy.scope import TenantScoped

# Column names that hold a credential or what verifies one: a password's or a one-time link's
# hash, a session token, a signing secret. Useless to the person, and a risk in a file.
SECRET_ENDINGS = ("_hash", "_token", "secret")


def tenant_tables() -> list[Table]:
    """Every table owned by an agency, parents before children."""
    owned = {
        mapper.local_table.name
        for mapper in db.Model.registry.mappers
        if issubclass(mapper.class_, TenantScoped)
    }
    return [table for table in db.metadata.sorted_tables if table.name in owned]


def contractor_tables() -> list[Table]:
    """The tenant tables whose rows are about one contractor (a `contractor_id` column), parents
    before children: the contractor's own row is in `contractors`, not among these."""
    return [table for table in tenant_tables() if "contractor_id" in table.c]


def export_person(person: Person) -> dict[str, Any]:
    """The person's account and every row about them, for PersonExportSchema: for each linked
    record, the agency and the rows of every tenant table about its contractor; and the rows of
    the other tables that name the person. Each agency's audit log records that the person
    exported its record."""
    return {
        "exported_at": clock.now(),
        "person": _rows(_table_of(Person), _table_of(Person).c.id == person.id)[0],
        "person_rows": {
            table.name: _rows(table, table.c.person_id == person.id) for table in _personal_tables()
        },
        "records": [_record(found, person) for found in persons.links_of(person)],
    }


def download_headers(at: datetime) -> dict[str, str]:
    """What the API's answer and the page's alike tell a browser of the export: a download,
    named with its date, that no cache keeps."""
    return {
        "Content-Disposition": f'attachment; filename="personal-data-{at:%Y-%m-%d}.json"',
        "Cache-Control": "private, no-store",
    }


def _record(found: PersonLink, person: Person) -> dict[str, Any]:
    with persons.within(found) as contractor:
        agency = db.session.get(Agency, found.agency_id)
        assert agency is not None
        contractors = _table_of(Contractor)
        rows = {
            contractors.name: _rows(
                contractors,
                contractors.c.agency_id == contractor.agency_id,
                contractors.c.id == contractor.id,
            )
        }
        for table in tenant_tables():
            about = _about(table, contractor, person)
            if about is not None:
                rows[table.name] = _rows(table, table.c.agency_id == contractor.agency_id, about)
        record_audit("person.exported", "contractor", contractor.id)
        return {
            "record_id": contractor.id,
            "agency": agency,
            "rows": rows,
        }


def _about(table: Table, contractor: Contractor, person: Person) -> Any:
    """Which rows of a tenant table are about this record: its contractor's, or, in a table
    that names no contractor, the person's. None: the table holds nothing about either."""
    if "contractor_id" in table.c:
        return table.c.contractor_id == contractor.id
    if "person_id" in table.c:
        return table.c.person_id == person.id
    return None


def _personal_tables() -> list[Table]:
    """The tables that belong to no agency and name a person: what the account itself holds."""
    owned = set(tenant_tables())
    return [
        table
        for table in db.metadata.sorted_tables
        if table not in owned and "person_id" in table.c
    ]


def _table_of(model: type) -> Table:
    table = db.metadata.tables[model.__tablename__]  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


def _rows(table: Table, *where: Any) -> list[dict[str, Any]]:
    """The rows of `table` that match, in the order of their key, each column as a JSON value;
    without secrets, and without the columns the database computes from the others."""
    shown = [
        column
        for column in table.columns
        if column.computed is None and not column.name.endswith(SECRET_ENDINGS)
    ]
    statement = select(*shown).where(*where).order_by(*table.primary_key.columns)
    return [
        {name: _value(value) for name, value in row.items()}
        for row in db.session.execute(statement).mappings()
    ]


def _value(value: Any) -> Any:
    """A stored value as JSON says it: times ISO 8601 in UTC, ids as strings."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value

from __future__ import annotations

import marshmallow as ma

from reputation.api.fields import one_of, required_text, text
from reputation.api.pagination import PageArgs
from reputation.erasure.models import MAX_TEXT, STATUSES
from reputation.persons.schemas import AgencyNameSchema

# A row as stored: column names and their JSON values (times ISO 8601 UTC, ids as strings).
ROWS = ma.fields.Dict(
    keys=ma.fields.String(),
    values=ma.fields.List(ma.fields.Dict()),
    metadata={"description": "Each table's rows, by table name: every column, as stored"},
)


class ErasureRequestSchema(ma.Schema):
    """A contractor's request that the agency erase its record of them, and the decision."""

    id = ma.fields.String()
    contractor_id = ma.fields.String()
    reason = ma.fields.String(allow_none=True, metadata={"description": "The contractor's"})
    requested_at = ma.fields.DateTime()
    status = ma.fields.String(metadata={"description": "requested, carried_out or refused"})
    decided_by = ma.fields.String(allow_none=True, metadata={"description": "The owner"})
    decided_at = ma.fields.DateTime(allow_none=True)
    decision_reason = ma.fields.String(
        allow_none=True, metadata={"description": "Why it was refused, sent to the contractor"}
    )


class ErasureRequestCreateSchema(ma.Schema):
    reason = text(
        MAX_TEXT,
        load_default=None,
        metadata={"description": "Why you ask, if you wish to say (optional)"},
    )


class RefuseSchema(ma.Schema):
    reason = required_text(MAX_TEXT, metadata={"description": "Sent to the contractor"})


class ErasureQuerySchema(PageArgs):
    status = one_of(STATUSES, "status")


class ExportedRecordSchema(ma.Schema):
    """One agency's record of the person: who holds it, and every row about them there."""

    record_id = ma.fields.String(metadata={"description": "The agency's contractor id"})
    agency = ma.fields.Nested(AgencyNameSchema)
    rows = ROWS


class PersonExportSchema(ma.Schema):
    """Everything held about the person (GDPR Art 15 and 20): the account, the rows that name
    it, and each linked agency's record. Secrets (password and token hashes) are left out."""

    exported_at = ma.fields.DateTime()
    person = ma.fields.Dict(metadata={"description": "The account's row, as stored"})
    person_rows = ROWS
    records = ma.fields.List(ma.fields.Nested(ExportedRecordSchema))

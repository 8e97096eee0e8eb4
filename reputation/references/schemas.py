from __future__ import annotations

import marshmallow as ma

from reputation.api.fields import (
    StrictBoolean,
    email_address,
    evidence_urls,
    occurred_at,
    one_of,
    required_text,
)
from reputation.references.models import SIGNALS
from reputation.rehabilitation.schemas import KINDS

# What a contractor may record about themselves: a reference comes from a referee.
OWN_KINDS = [kind for kind in KINDS if kind != "reference"]


class FraudSignalSchema(ma.Schema):
    """A sign that the contractor may have written their own reference."""

    code = ma.fields.String(metadata={"description": f"One of: {', '.join(SIGNALS)}"})
    details = ma.fields.Dict(
        keys=ma.fields.String(),
        metadata={"description": "email, domain, address or seconds, as the sign has them"},
    )


class AnswersSchema(ma.Schema):
    """What the referee answered."""

    relationship = ma.fields.String()
    known_from = ma.fields.String(metadata={"description": "An ISO 8601 date"})
    known_until = ma.fields.String(
        allow_none=True, metadata={"description": "An ISO 8601 date; null while it lasts"}
    )
    would_work_again = ma.fields.String(metadata={"description": "yes, no or unsure"})
    repair = ma.fields.String(allow_none=True)
    comments = ma.fields.String()


class ReferenceRequestSchema(ma.Schema):
    id = ma.fields.String()
    contractor_id = ma.fields.String()
    addresses_event_id = ma.fields.String(allow_none=True)
    referee_name = ma.fields.String()
    referee_email = ma.fields.String()
    relationship = ma.fields.String()
    recorded_by = ma.fields.String(metadata={"description": "Who asked"})
    sent_at = ma.fields.DateTime()
    expires_at = ma.fields.DateTime()
    answered_at = ma.fields.DateTime(allow_none=True)
    answers = ma.fields.Nested(AnswersSchema, allow_none=True)
    step_id = ma.fields.String(
        allow_none=True, metadata={"description": "The pending `reference` step the answer made"}
    )
    fraud_signals = ma.fields.List(
        ma.fields.Nested(FraudSignalSchema),
        metadata={"description": "Read again when the referee answers"},
    )


class ReferenceRequestCreateSchema(ma.Schema):
    referee_name = required_text(200)
    referee_email = email_address(required=True)
    relationship = required_text(
        200,
        metadata={"description": "How the referee knows the contractor: a client, a colleague…"},
    )
    addresses_event_id = ma.fields.UUID(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "An incident the reference should speak to: an event of this "
            "contractor that exists, is negative and is the current version"
        },
    )


class EvidenceSchema(ma.Schema):
    """A step the contractor records about themselves, pending until the agency verifies it."""

    kind = one_of(OWN_KINDS, "rehabilitation kind", required=True)
    occurred_at = occurred_at(required=True)
    addresses_event_id = ma.fields.UUID(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "An event of this record that exists, is negative, is not "
            "retracted and occurred before the step"
        },
    )
    unsolicited = StrictBoolean(
        load_default=False, metadata={"description": "No job was on the table"}
    )
    description = required_text(10_000, metadata={"description": "What you did"})
    evidence_urls = evidence_urls(load_default=list)

from __future__ import annotations

import marshmallow as ma

from reputation.api.fields import StrictBoolean, evidence_urls, occurred_at, one_of, text
from reputation.api.pagination import PageArgs
from reputation.rehabilitation.models import SOURCES, STATUSES
from reputation.trust.taxonomy import REHABILITATION_KINDS

KINDS = sorted(REHABILITATION_KINDS)


class StepSchema(ma.Schema):
    id = ma.fields.String()
    contractor_id = ma.fields.String()
    kind = ma.fields.String()
    occurred_at = ma.fields.DateTime()
    recorded_at = ma.fields.DateTime()
    addresses_event_id = ma.fields.String(allow_none=True)
    unsolicited = ma.fields.Boolean()
    description = ma.fields.String()
    evidence_urls = ma.fields.List(ma.fields.String())
    source = ma.fields.String()
    status = ma.fields.String()
    external_ref = ma.fields.String(allow_none=True)
    recorded_by = ma.fields.String()
    verified_by = ma.fields.String(allow_none=True)
    verified_at = ma.fields.DateTime(allow_none=True)
    verification_note = ma.fields.String(allow_none=True)


class StepCreateSchema(ma.Schema):
    kind = one_of(KINDS, "rehabilitation kind", required=True)
    occurred_at = occurred_at(required=True)
    addresses_event_id = ma.fields.UUID(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "An event of this contractor that exists, is negative, is not "
            "retracted and occurred before the step"
        },
    )
    unsolicited = StrictBoolean(
        load_default=False, metadata={"description": "No job was on the table"}
    )
    description = text(10_000, load_default="")
    evidence_urls = evidence_urls(load_default=list)
    source = one_of(SOURCES, "source", load_default="agency")
    external_ref = text(100, load_default=None, allow_none=True)


class VerifySchema(ma.Schema):
    decision = one_of(["verified", "rejected"], "decision", required=True)
    note = text(2000, load_default=None, allow_none=True)


class StepQuerySchema(PageArgs):
    kind = one_of(KINDS, "rehabilitation kind")
    status = one_of(STATUSES, "status")

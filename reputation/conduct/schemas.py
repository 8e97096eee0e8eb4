from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from reputation.api.fields import (
    StrictInteger,
    Timestamp,
    check_period,
    evidence_urls,
    occurred_at,
    one_of,
    period_start,
    required_text,
    text,
)
from reputation.api.pagination import PageArgs
from reputation.conduct.models import STATUSES
from reputation.evidence import SOURCES
from reputation.trust.taxonomy import CONDUCT_KINDS, MAX_SEVERITY, MIN_SEVERITY, Valence

KINDS = sorted(CONDUCT_KINDS)


class EventStatementSchema(ma.Schema):
    """A contractor's own account of an event, as the event shows it."""

    id = ma.fields.String()
    text = ma.fields.String()
    created_at = ma.fields.DateTime()


class StatementSchema(EventStatementSchema):
    """A contractor's own account of an event (POST /me/events/{id}/statements)."""

    event_id = ma.fields.String()
    contractor_id = ma.fields.String()


class EventDisputeSchema(ma.Schema):
    """Where the latest dispute of an event stands (the dispute itself: GET /disputes/{id})."""

    id = ma.fields.String()
    status = ma.fields.String(metadata={"description": "open or resolved"})
    opened_at = ma.fields.DateTime()
    deadline = ma.fields.DateTime(
        metadata={"description": "Unresolved by then, the event is overturned"}
    )
    outcome = ma.fields.String(
        allow_none=True, metadata={"description": "upheld, amended or overturned"}
    )
    resolution_reason = ma.fields.String(allow_none=True)
    resolved_at = ma.fields.DateTime(allow_none=True)


class EventSchema(ma.Schema):
    id = ma.fields.String()
    contractor_id = ma.fields.String()
    kind = ma.fields.String()
    valence = ma.fields.String()
    severity = ma.fields.Integer()
    occurred_at = ma.fields.DateTime()
    recorded_at = ma.fields.DateTime()
    summary = ma.fields.String()
    details = ma.fields.String()
    evidence_urls = ma.fields.List(ma.fields.String())
    source = ma.fields.String()
    status = ma.fields.String()
    supersedes_id = ma.fields.String(allow_none=True)
    disputed = ma.fields.Boolean(metadata={"description": "While a dispute of it is open"})
    external_ref = ma.fields.String(allow_none=True)
    recorded_by = ma.fields.String()
    status_changed_at = ma.fields.DateTime(allow_none=True)
    status_reason = ma.fields.String(allow_none=True)
    status_changed_by = ma.fields.String(allow_none=True)
    # Last, so that the columns of existing export files keep their places.
    statement = ma.fields.Nested(
        EventStatementSchema,
        allow_none=True,
        metadata={"description": "The contractor's current account of the event (their latest)"},
    )
    dispute = ma.fields.Nested(
        EventDisputeSchema,
        allow_none=True,
        metadata={"description": "The latest dispute of this version, open or resolved"},
    )


class EventWithHistorySchema(EventSchema):
    history = ma.fields.List(
        ma.fields.Nested(EventSchema),
        metadata={"description": "Every version of the event, the first recorded first"},
    )


class EventCreateSchema(ma.Schema):
    kind = one_of(KINDS, "conduct kind", required=True)
    severity = StrictInteger(
        validate=validate.Range(min=MIN_SEVERITY, max=MAX_SEVERITY),
        metadata={"description": "1 (minor) to 5 (critical); defaults from the kind"},
    )
    occurred_at = occurred_at(required=True)
    summary = required_text(500)
    details = text(10_000, load_default="")
    evidence_urls = evidence_urls(load_default=list)
    source = one_of(SOURCES, "source", load_default="agency")
    external_ref = text(100, load_default=None, allow_none=True)


class EventAmendSchema(ma.Schema):
    """The fields that change; the rest carry over from the version amended. At least one must
    differ from it (the service's rule: it depends on the version stored)."""

    kind = one_of(
        KINDS,
        "conduct kind",
        metadata={
            "description": "Of the event's valence (see the taxonomy): a negative event stays "
            "negative, a positive one positive"
        },
    )
    severity = StrictInteger(validate=validate.Range(min=MIN_SEVERITY, max=MAX_SEVERITY))
    occurred_at = occurred_at()
    summary = ma.fields.String(validate=validate.Length(min=1, max=500))
    details = text(10_000)
    evidence_urls = evidence_urls()
    source = one_of(SOURCES, "source")
    reason = text(2000, load_default=None, metadata={"description": "Why it was amended"})


class RetractSchema(ma.Schema):
    reason = required_text(2000)


class EventQuerySchema(PageArgs):
    kind = one_of(KINDS, "conduct kind")
    valence = one_of([v.value for v in Valence], "valence")
    status = one_of(STATUSES, "status")
    occurred_from = period_start("to", data_key="from")
    occurred_to = Timestamp(data_key="to")

    @ma.validates_schema
    def _period_in_order(self, data: dict[str, Any], **kwargs: Any) -> None:
        check_period(data, "occurred_from", "occurred_to", ("from", "to"))

from __future__ import annotations

import marshmallow as ma

from reputation.api.fields import evidence_urls, one_of, required_text
from reputation.api.pagination import PageArgs
from reputation.conduct.schemas import EventAmendSchema, EventSchema
from reputation.disputes.models import MAX_TEXT, OUTCOMES, STATUSES


class DisputeSchema(ma.Schema):
    """A contractor's dispute of an event, and how the agency resolved it."""

    id = ma.fields.String()
    event_id = ma.fields.String()
    contractor_id = ma.fields.String()
    status = ma.fields.String(metadata={"description": "open or resolved"})
    reason = ma.fields.String(metadata={"description": "Why the contractor disputes the event"})
    evidence_urls = ma.fields.List(ma.fields.String())
    opened_at = ma.fields.DateTime()
    deadline = ma.fields.DateTime(
        metadata={
            "description": "30 days after it was opened: unresolved by then, it is resolved as "
            "`overturned`, not verified in time"
        }
    )
    outcome = ma.fields.String(
        allow_none=True, metadata={"description": "upheld, amended or overturned"}
    )
    resolution_reason = ma.fields.String(allow_none=True)
    resolved_at = ma.fields.DateTime(allow_none=True)
    resolved_by = ma.fields.String(allow_none=True)
    amendment_id = ma.fields.String(
        allow_none=True, metadata={"description": "The version an `amended` outcome recorded"}
    )
    event = ma.fields.Nested(EventSchema, metadata={"description": "The version disputed"})


class DisputeQuerySchema(PageArgs):
    status = one_of(STATUSES, "status")
    contractor_id = ma.fields.UUID()


class StatementCreateSchema(ma.Schema):
    text = required_text(MAX_TEXT, metadata={"description": "Your account of the event"})


class DisputeCreateSchema(ma.Schema):
    reason = required_text(MAX_TEXT, metadata={"description": "Why the event is wrong"})
    evidence_urls = evidence_urls(load_default=list)


class AmendmentSchema(EventAmendSchema):
    """The fields of the event that change (as `POST /events/{id}/amend` takes them); the
    resolution's reason is the amendment's."""

    class Meta:
        exclude = ("reason",)


class ResolveSchema(ma.Schema):
    outcome = one_of(
        OUTCOMES,
        "outcome",
        required=True,
        metadata={
            "description": "upheld: the event stands; amended: a new version of it counts in its "
            "place; overturned: it stops counting from now on"
        },
    )
    reason = required_text(MAX_TEXT, metadata={"description": "Sent to the contractor"})
    amendment = ma.fields.Nested(
        AmendmentSchema, metadata={"description": "With `amended` only, and then required"}
    )

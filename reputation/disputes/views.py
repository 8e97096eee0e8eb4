"""The agency's queue of disputes (`/api/v1/disputes`), and the contractor's statements and
disputes of the events of their own records (`/api/v1/me/...`).

A contractor's objects are read within their record's agency scope (service.persons_event) and
come out of it loaded, ready to serialise: the scope ends with the block."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView

from reputation.api.blueprint import Blueprint
from reputation.api.pagination import page_schema, paginate
from reputation.conduct.schemas import StatementSchema
from reputation.disputes import service
from reputation.disputes.models import Dispute
from reputation.disputes.schemas import (
    DisputeCreateSchema,
    DisputeQuerySchema,
    DisputeSchema,
    ResolveSchema,
    StatementCreateSchema,
)
from reputation.tenancy.auth import current_person, evidence_writer, person_only, signed_in
from reputation.tenancy.lookup import get_or_404

disputes = Blueprint("disputes", __name__, url_prefix="/api/v1", description="Disputes")
answers = Blueprint(
    "answers",
    __name__,
    url_prefix="/api/v1/me",
    description="A contractor's statements and disputes of the events of their records",
)


@disputes.route("/disputes", methods=["GET"])
@signed_in
@disputes.arguments(DisputeQuerySchema, location="query")
@disputes.response(200, page_schema(DisputeSchema))
def queue(query: dict[str, Any]) -> Any:
    """The agency's disputes: the open ones first, the nearest deadline first, then the
    resolved ones, the latest first; filter by status and contractor."""
    page = paginate(
        service.queue(query.get("status"), query.get("contractor_id")),
        query["page"],
        query["per_page"],
    )
    page["items"] = service.with_events(page["items"])
    return page


@disputes.route("/disputes/<uuid:dispute_id>", methods=["GET"])
@signed_in
@disputes.response(200, DisputeSchema)
def get_dispute(dispute_id: uuid.UUID) -> Any:
    """One dispute, with the event disputed and the contractor's statement of it."""
    return service.with_events([get_or_404(Dispute, dispute_id, "dispute")])[0]


@disputes.route("/disputes/<uuid:dispute_id>/resolve", methods=["POST"])
@evidence_writer
@disputes.arguments(ResolveSchema)
@disputes.response(200, DisputeSchema)
def resolve(body: dict[str, Any], dispute_id: uuid.UUID) -> Any:
    """Resolve an open dispute: `upheld` (the event stands), `amended` (with `amendment`, the
    fields that change: a new version is recorded) or `overturned` (the event stops counting
    from now on). The contractor is recomputed and emailed the outcome and the reason; an
    unresolved dispute is overturned 30 days after it was opened."""
    dispute = get_or_404(Dispute, dispute_id, "dispute")
    return service.resolve(dispute, body["outcome"], body["reason"], body.get("amendment"))


@answers.route("/events/<uuid:event_id>/statements")
class Statements(MethodView):
    @person_only
    @answers.response(200, StatementSchema(many=True))
    def get(self, event_id: uuid.UUID) -> Any:
        """Your statements of an event of your records, the current (latest) one first."""
        with service.persons_event(current_person(), event_id) as event:
            return event.statements

    @person_only
    @answers.arguments(StatementCreateSchema)
    @answers.response(201, StatementSchema)
    def post(self, body: dict[str, str], event_id: uuid.UUID) -> Any:
        """Give your account of an event (up to 2,000 characters): the agency sees it beside
        the event, and so does everything that shows the event. A new one supersedes the one
        before, which stays."""
        person = current_person()
        with service.persons_event(person, event_id) as event:
            return service.add_statement(person, event, body["text"])


@answers.route("/events/<uuid:event_id>/disputes")
class Disputes(MethodView):
    @person_only
    @answers.response(200, DisputeSchema(many=True))
    def get(self, event_id: uuid.UUID) -> Any:
        """Your disputes of an event of your records, the latest first, with their outcomes."""
        with service.persons_event(current_person(), event_id) as event:
            return service.with_events(event.disputes)

    @person_only
    @answers.arguments(DisputeCreateSchema)
    @answers.response(201, DisputeSchema)
    def post(self, body: dict[str, Any], event_id: uuid.UUID) -> Any:
        """Dispute an event: it shows as disputed, and keeps counting, until the agency resolves
        the dispute; unresolved 30 days later, it is overturned. One open dispute per event; a
        retracted, amended or overturned version cannot be disputed (409)."""
        person = current_person()
        with service.persons_event(person, event_id) as event:
            return service.open_dispute(person, event, body["reason"], body["evidence_urls"])


@answers.route("/disputes/<uuid:dispute_id>", methods=["GET"])
@person_only
@answers.response(200, DisputeSchema)
def persons_dispute(dispute_id: uuid.UUID) -> Any:
    """One of your disputes, where it stands, and the event it disputes."""
    with service.persons_dispute(current_person(), dispute_id) as dispute:
        return dispute

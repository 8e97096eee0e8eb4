from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

from flask.views import MethodView

from reputation.api.blueprint import Blueprint
from reputation.api.pagination import page_schema, paginate
from reputation.conduct import service
from reputation.conduct.models import ConductEvent
from reputation.conduct.schemas import (
    EventAmendSchema,
    EventCreateSchema,
    EventQuerySchema,
    EventSchema,
    EventWithHistorySchema,
    RetractSchema,
)
from reputation.contractors.models import Contractor
from reputation.tenancy.auth import evidence_writer, signed_in
from reputation.tenancy.lookup import get_or_404
from reputation.trust.taxonomy import (
    CONDUCT_KINDS,
    COOLING_OFF_DAYS,
    REHABILITATION_KINDS,
    SEVERITY_FACTOR,
    SEVERITY_NAMES,
)

conduct = Blueprint("conduct", __name__, url_prefix="/api/v1", description="Conduct events")
taxonomy = Blueprint(
    "taxonomy", __name__, url_prefix="/api/v1/taxonomy", description="Kinds of evidence"
)


@conduct.route("/contractors/<uuid:contractor_id>/events")
class ContractorEvents(MethodView):
    @signed_in
    @conduct.arguments(EventQuerySchema, location="query")
    @conduct.response(200, page_schema(EventSchema))
    def get(self, query: dict[str, Any], contractor_id: uuid.UUID) -> Any:
        """A contractor's conduct events, the most recent first; filter by kind, valence,
        status and period (`from` inclusive, `to` exclusive)."""
        contractor = get_or_404(Contractor, contractor_id, "contractor")
        page, per_page = query.pop("page"), query.pop("per_page")
        return paginate(service.search(contractor, **query), page, per_page)

    @evidence_writer
    @conduct.arguments(EventCreateSchema)
    @conduct.response(201, EventSchema)
    def post(self, body: dict[str, Any], contractor_id: uuid.UUID) -> Any:
        """Record a conduct event. Severity defaults from the kind (see the taxonomy)."""
        contractor = get_or_404(Contractor, contractor_id, "contractor")
        return service.record_event(contractor, body)


@conduct.route("/events/<uuid:event_id>", methods=["GET"])
@signed_in
@conduct.response(200, EventWithHistorySchema)
def get_event(event_id: uuid.UUID) -> Any:
    """One version of an event, with the whole history of its versions."""
    event = get_or_404(ConductEvent, event_id, "conduct event")
    return service.with_history(event)


@conduct.route("/events/<uuid:event_id>/retract", methods=["POST"])
@evidence_writer
@conduct.arguments(RetractSchema)
@conduct.response(200, EventSchema)
def retract(body: dict[str, str], event_id: uuid.UUID) -> Any:
    """Retract an event (a reason is required). It stops counting and stays readable."""
    event = get_or_404(ConductEvent, event_id, "conduct event")
    return service.retract_event(event, body["reason"])


@conduct.route("/events/<uuid:event_id>/amend", methods=["POST"])
@evidence_writer
@conduct.arguments(EventAmendSchema)
@conduct.response(201, EventSchema)
def amend(body: dict[str, Any], event_id: uuid.UUID) -> Any:
    """Record a new version of an event; the old one is kept, marked superseded.

    The amendment changes at least one field of the version amended (an identical version
    would be a 422), and keeps the event's valence: a negative event that proves positive is
    retracted and recorded anew."""
    event = get_or_404(ConductEvent, event_id, "conduct event")
    return service.amend_event(event, body)


@taxonomy.route("", methods=["GET"])
@taxonomy.doc(security=[])  # public: the kinds and the model's defaults are no secret
@taxonomy.response(200)
def describe() -> Any:
    """Every conduct and rehabilitation kind with the model's defaults (TRUST_MODEL.md §2)."""
    return {
        "conduct_kinds": [
            {**asdict(kind), "valence": kind.valence.value} for kind in CONDUCT_KINDS.values()
        ],
        "rehabilitation_kinds": [asdict(kind) for kind in REHABILITATION_KINDS.values()],
        "severities": [
            {
                "severity": level,
                "name": SEVERITY_NAMES[level],
                "factor": SEVERITY_FACTOR[level],
                "cooling_off_days": COOLING_OFF_DAYS[level],
            }
            for level in sorted(SEVERITY_NAMES)
        ],
    }

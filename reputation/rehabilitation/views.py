from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView

from reputation.api.blueprint import Blueprint
from reputation.api.pagination import page_schema, paginate
from reputation.contractors.models import Contractor
from reputation.rehabilitation import service
from reputation.rehabilitation.models import RehabilitationStep
from reputation.rehabilitation.schemas import (
    StepCreateSchema,
    StepQuerySchema,
    StepSchema,
    VerifySchema,
)
from reputation.tenancy.auth import current_principal, evidence_writer, signed_in, staff_recruiter
from reputation.tenancy.lookup import get_or_404

rehabilitation = Blueprint(
    "rehabilitation", __name__, url_prefix="/api/v1", description="Rehabilitation steps"
)


@rehabilitation.route("/contractors/<uuid:contractor_id>/rehabilitation")
class ContractorSteps(MethodView):
    @signed_in
    @rehabilitation.arguments(StepQuerySchema, location="query")
    @rehabilitation.response(200, page_schema(StepSchema))
    def get(self, query: dict[str, Any], contractor_id: uuid.UUID) -> Any:
        """A contractor's rehabilitation steps, the most recent first."""
        contractor = get_or_404(Contractor, contractor_id, "contractor")
        page, per_page = query.pop("page"), query.pop("per_page")
        return paginate(service.search(contractor, **query), page, per_page)

    @evidence_writer
    @rehabilitation.arguments(StepCreateSchema)
    @rehabilitation.response(201, StepSchema)
    def post(self, body: dict[str, Any], contractor_id: uuid.UUID) -> Any:
        """Record a step; it is `pending` until staff verify or reject it."""
        contractor = get_or_404(Contractor, contractor_id, "contractor")
        return service.record_step(contractor, body)


@rehabilitation.route("/rehabilitation/<uuid:step_id>/verify", methods=["POST"])
@staff_recruiter
@rehabilitation.arguments(VerifySchema)
@rehabilitation.response(200, StepSchema)
def verify(body: dict[str, Any], step_id: uuid.UUID) -> Any:
    """Verify or reject a pending step (staff, recruiter or above); the verdict is final."""
    step = get_or_404(RehabilitationStep, step_id, "rehabilitation step")
    return service.verify_step(step, body["decision"], body["note"], current_principal())

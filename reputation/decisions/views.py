from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView

from reputation.api.blueprint import Blueprint
from reputation.api.pagination import PageArgs, page_schema, paginate
from reputation.contractors.models import Contractor
from reputation.decisions import service
from reputation.decisions.schemas import DecisionCreateSchema, DecisionSchema
from reputation.tenancy.auth import signed_in, staff_recruiter
from reputation.tenancy.lookup import get_or_404

decisions = Blueprint("decisions", __name__, url_prefix="/api/v1", description="Decisions")


@decisions.route("/contractors/<uuid:contractor_id>/decisions")
class ContractorDecisions(MethodView):
    @signed_in
    @decisions.arguments(PageArgs, location="query")
    @decisions.response(200, page_schema(DecisionSchema))
    def get(self, page: dict[str, int], contractor_id: uuid.UUID) -> Any:
        """The decisions made on a contractor, the latest first."""
        contractor = get_or_404(Contractor, contractor_id, "contractor")
        return paginate(service.decisions_of(contractor), **page)

    @staff_recruiter
    @decisions.arguments(DecisionCreateSchema)
    @decisions.response(201, DecisionSchema)
    def post(self, body: dict[str, str], contractor_id: uuid.UUID) -> Any:
        """Record a staff member's decision (engage, decline, probation) and why."""
        contractor = get_or_404(Contractor, contractor_id, "contractor")
        return service.record_decision(contractor, body["decision"], body["reason"])

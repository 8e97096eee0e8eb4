from __future__ import annotations

import uuid
from typing import Any

from flask import request
from flask.views import MethodView

from reputation.api.blueprint import Blueprint
from reputation.api.pagination import page_schema, paginate
from reputation.contractors import service
from reputation.contractors.models import Contractor
from reputation.contractors.schemas import (
    ContractorCreateSchema,
    ContractorQuerySchema,
    ContractorSchema,
    ContractorUpdateSchema,
)
from reputation.tenancy.auth import evidence_writer, signed_in
from reputation.tenancy.lookup import get_or_404

contractors = Blueprint(
    "contractors", __name__, url_prefix="/api/v1/contractors", description="Contractors"
)


@contractors.route("")
class Contractors(MethodView):
    @signed_in
    @contractors.arguments(ContractorQuerySchema, location="query")
    @contractors.response(200, page_schema(ContractorSchema))
    def get(self, query: dict[str, Any]) -> Any:
        """Search the agency's contractors by name, email, external reference, tag or status."""
        page, per_page = query.pop("page"), query.pop("per_page")
        found, total = service.search_with_total(**query)
        return paginate(found, page, per_page, total)

    @evidence_writer
    @contractors.arguments(ContractorCreateSchema)
    @contractors.response(201, ContractorSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Add a contractor."""
        contractor = service.create_contractor(**body)
        return contractor, {"ETag": contractor.etag}


@contractors.route("/<uuid:contractor_id>")
class ContractorById(MethodView):
    @signed_in
    @contractors.response(200, ContractorSchema)
    def get(self, contractor_id: uuid.UUID) -> Any:
        """One contractor, with its ETag."""
        contractor = get_or_404(Contractor, contractor_id, "contractor")
        return contractor, {"ETag": contractor.etag}

    @evidence_writer
    # No body, like `{}`, changes nothing.
    @contractors.arguments(ContractorUpdateSchema, required=False)
    @contractors.response(200, ContractorSchema)
    def patch(self, changes: dict[str, Any], contractor_id: uuid.UUID) -> Any:
        """Change a contractor. Send `If-Match` with the ETag you read: a stale write is a 412."""
        contractor = get_or_404(Contractor, contractor_id, "contractor")
        contractor = service.update_contractor(contractor, changes, request.headers.get("If-Match"))
        return contractor, {"ETag": contractor.etag}

"""References and a contractor's own evidence: the agency's requests (`/api/v1/contractors/{id}/
reference-requests`) and the contractor's (`/api/v1/me/records/{id}/...`). The referee answers on
a page of the portal (`/r/{token}`, portal/referees.py)."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView

from reputation.api.blueprint import Blueprint
from reputation.api.pagination import PageArgs, page_schema, paginate
from reputation.contractors.models import Contractor
from reputation.persons import service as persons
from reputation.references import service
from reputation.references.schemas import (
    EvidenceSchema,
    ReferenceRequestCreateSchema,
    ReferenceRequestSchema,
)
from reputation.rehabilitation.schemas import StepSchema
from reputation.tenancy.auth import current_person, evidence_writer, person_only, signed_in
from reputation.tenancy.lookup import get_or_404

references = Blueprint(
    "references", __name__, url_prefix="/api/v1", description="References from referees"
)
my_evidence = Blueprint(
    "my_evidence",
    __name__,
    url_prefix="/api/v1/me",
    description="A contractor's own evidence and references",
)
# One page schema for both sides: the document names each schema once.
REQUEST_PAGE = page_schema(ReferenceRequestSchema)


@references.route("/contractors/<uuid:contractor_id>/reference-requests")
class ContractorReferenceRequests(MethodView):
    @signed_in
    @references.arguments(PageArgs, location="query")
    @references.response(200, REQUEST_PAGE)
    def get(self, query: dict[str, Any], contractor_id: uuid.UUID) -> Any:
        """The contractor's reference requests, the latest first, each with its answers and the
        warning signs found (`fraud_signals`): read them before verifying the step it made."""
        contractor = get_or_404(Contractor, contractor_id, "contractor")
        return paginate(service.requests_of(contractor), query["page"], query["per_page"])

    @evidence_writer
    @references.arguments(ReferenceRequestCreateSchema)
    @references.response(201, ReferenceRequestSchema)
    def post(self, body: dict[str, Any], contractor_id: uuid.UUID) -> Any:
        """Email a referee a one-time link (valid 14 days, no account) to vouch for the
        contractor; the answer is a pending `reference` step (source `referee`). A 409 while a
        request to the same referee waits for its answer."""
        contractor = get_or_404(Contractor, contractor_id, "contractor")
        return service.request_reference(contractor, body)


@my_evidence.route("/records/<uuid:record_id>/evidence", methods=["POST"])
@person_only
@my_evidence.arguments(EvidenceSchema)
@my_evidence.response(201, StepSchema)
def bring_evidence(body: dict[str, Any], record_id: uuid.UUID) -> Any:
    """Record what you did to make amends (source `contractor`), with links to the evidence; it
    is `pending` until the agency's staff verify it."""
    with persons.within(persons.link_of(current_person(), record_id)) as contractor:
        return service.bring_evidence(contractor, body)


@my_evidence.route("/records/<uuid:record_id>/reference-requests")
class MyReferenceRequests(MethodView):
    @person_only
    @my_evidence.arguments(PageArgs, location="query")
    @my_evidence.response(200, REQUEST_PAGE)
    def get(self, query: dict[str, Any], record_id: uuid.UUID) -> Any:
        """The references asked for about you in this record, by you or by the agency, the
        latest first, with what the agency sees of each."""
        with persons.within(persons.link_of(current_person(), record_id)) as contractor:
            return paginate(service.requests_of(contractor), query["page"], query["per_page"])

    @person_only
    @my_evidence.arguments(ReferenceRequestCreateSchema)
    @my_evidence.response(201, ReferenceRequestSchema)
    def post(self, body: dict[str, Any], record_id: uuid.UUID) -> Any:
        """Ask a referee (a client, a colleague) to vouch for you to this agency: they get an
        email with a one-time link (valid 14 days, no account needed)."""
        with persons.within(persons.link_of(current_person(), record_id)) as contractor:
            return service.request_reference(contractor, body)

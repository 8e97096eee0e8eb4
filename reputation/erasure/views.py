"""A contractor's data through their own account (`/api/v1/me/export`, erasure requests of their
records), and the agency's erasure requests (`/api/v1/erasure-requests`), which its owners and
admins read and only its owners decide."""

from __future__ import annotations

import functools
import uuid
from typing import Any

from flask.views import MethodView

from reputation import clock
from reputation.api.blueprint import Blueprint
from reputation.api.pagination import page_schema, paginate
from reputation.erasure import service
from reputation.erasure.models import ErasureRequest
from reputation.erasure.schemas import (
    ErasureQuerySchema,
    ErasureRequestCreateSchema,
    ErasureRequestSchema,
    PersonExportSchema,
    RefuseSchema,
)
from reputation.errors import Forbidden
from reputation.persons import export
from reputation.persons import service as persons
from reputation.roles import Role
from reputation.tenancy.auth import (
    F,
    agency_manager,
    current_person,
    current_principal,
    person_only,
)
from reputation.tenancy.lookup import get_or_404

my_data = Blueprint(
    "my_data",
    __name__,
    url_prefix="/api/v1/me",
    description="A contractor's data: its export, and the erasure of a record",
)
erasure_requests = Blueprint(
    "erasure_requests", __name__, url_prefix="/api/v1", description="Erasure requests"
)


def agency_owner(view: F) -> F:
    """Only an owner decides an erasure: carrying one out is the one write that removes
    evidence."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_principal().has_role(frozenset({Role.OWNER})):
            raise Forbidden("Only the agency's owners carry out or refuse an erasure request.")
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@my_data.route("/export", methods=["GET"])
@person_only
@my_data.response(200, PersonExportSchema)
def export_my_data() -> Any:
    """Everything held about you, as one JSON file: your account, and every row about you in
    each agency's record linked to it. Each agency's audit log notes that you exported it."""
    return export.export_person(current_person()), export.download_headers(clock.now())


@my_data.route("/records/<uuid:record_id>/erasure-requests")
class RecordErasureRequests(MethodView):
    @person_only
    @my_data.response(200, ErasureRequestSchema(many=True))
    def get(self, record_id: uuid.UUID) -> Any:
        """Your requests that this record be erased, the latest first, with their outcomes."""
        with persons.within(persons.link_of(current_person(), record_id)) as contractor:
            return service.requests_of(contractor)

    @person_only
    @my_data.arguments(ErasureRequestCreateSchema, required=False)
    @my_data.response(201, ErasureRequestSchema)
    def post(self, body: dict[str, Any], record_id: uuid.UUID) -> Any:
        """Ask the agency to erase this record (GDPR Art 17), with a reason if you wish: its
        owners are told, and one of them carries it out or refuses it with a reason, which
        you are sent. One open request per record (409)."""
        person = current_person()
        with persons.within(persons.link_of(person, record_id)) as contractor:
            return service.request_erasure(person, contractor, body.get("reason"))


@erasure_requests.route("/erasure-requests", methods=["GET"])
@agency_manager
@erasure_requests.arguments(ErasureQuerySchema, location="query")
@erasure_requests.response(200, page_schema(ErasureRequestSchema))
def queue(query: dict[str, Any]) -> Any:
    """The agency's erasure requests: the open ones first, the oldest first, then the decided
    ones, the latest first; filter by status. Owners and admins read them."""
    return paginate(service.queue(query.get("status")), query["page"], query["per_page"])


@erasure_requests.route("/erasure-requests/<uuid:erasure_request_id>", methods=["GET"])
@agency_manager
@erasure_requests.response(200, ErasureRequestSchema)
def get_erasure_request(erasure_request_id: uuid.UUID) -> Any:
    """One erasure request and, once decided, the decision."""
    return get_or_404(ErasureRequest, erasure_request_id, "erasure request")


@erasure_requests.route("/erasure-requests/<uuid:erasure_request_id>/carry-out", methods=["POST"])
@agency_owner
@erasure_requests.response(200, ErasureRequestSchema)
def carry_out(erasure_request_id: uuid.UUID) -> Any:
    """Erase the record (owners only): every row about the contractor in this agency is
    deleted, evidence included, the contractor's own row is anonymised (name `Erased`, no
    email, no external_ref, no tags, archived), and the contractor's account no longer reaches
    it. The audit log keeps that it happened. The contractor is told by email; 409 once
    decided."""
    erasure = get_or_404(ErasureRequest, erasure_request_id, "erasure request")
    return service.carry_out(erasure)


@erasure_requests.route("/erasure-requests/<uuid:erasure_request_id>/refuse", methods=["POST"])
@agency_owner
@erasure_requests.arguments(RefuseSchema)
@erasure_requests.response(200, ErasureRequestSchema)
def refuse(body: dict[str, str], erasure_request_id: uuid.UUID) -> Any:
    """Refuse the request (owners only), with the reason the contractor is sent; 409 once
    decided."""
    erasure = get_or_404(ErasureRequest, erasure_request_id, "erasure request")
    return service.refuse(erasure, body["reason"])

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView

from reputation.api.blueprint import Blueprint
from reputation.api.pagination import PageArgs, page_schema, paginate
from reputation.tenancy.auth import agency_manager
from reputation.tenancy.lookup import get_or_404
from reputation.webhooks import service
from reputation.webhooks.models import WebhookMessage
from reputation.webhooks.schemas import (
    DeliveryQuerySchema,
    DeliverySchema,
    EndpointCreateSchema,
    EndpointSchema,
    EndpointUpdateSchema,
    EndpointWithSecretSchema,
    RecoveredSchema,
    RecoverSchema,
)

webhooks = Blueprint(
    "webhooks", __name__, url_prefix="/api/v1/webhooks", description="Webhook endpoints"
)

# Endpoints carry secrets and send the agency's data out: owners and admins manage them.


@webhooks.route("/endpoints")
class Endpoints(MethodView):
    @agency_manager
    @webhooks.arguments(PageArgs, location="query")
    @webhooks.response(200, page_schema(EndpointSchema))
    def get(self, query: dict[str, int]) -> Any:
        """The agency's webhook endpoints, the newest first."""
        return paginate(service.endpoints(), query["page"], query["per_page"])

    @agency_manager
    @webhooks.arguments(EndpointCreateSchema)
    @webhooks.response(201, EndpointWithSecretSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Register an endpoint: an HTTPS URL whose host resolves to public addresses only.
        The signing secret is in this answer and never again."""
        return service.create_endpoint(body)


@webhooks.route("/endpoints/<uuid:endpoint_id>")
class Endpoint(MethodView):
    @agency_manager
    @webhooks.response(200, EndpointSchema)
    def get(self, endpoint_id: uuid.UUID) -> Any:
        """One endpoint (without its secret)."""
        return service.find_endpoint(endpoint_id)

    @agency_manager
    # No body, like `{}`, changes nothing.
    @webhooks.arguments(EndpointUpdateSchema, required=False)
    @webhooks.response(200, EndpointSchema)
    def patch(self, changes: dict[str, Any], endpoint_id: uuid.UUID) -> Any:
        """Change an endpoint; `enabled: true` turns a disabled one back on."""
        return service.update_endpoint(service.find_endpoint(endpoint_id), changes)

    @agency_manager
    @webhooks.response(204)
    def delete(self, endpoint_id: uuid.UUID) -> None:
        """Stop sending to an endpoint, for good."""
        service.delete_endpoint(service.find_endpoint(endpoint_id))


@webhooks.route("/endpoints/<uuid:endpoint_id>/rotate-secret", methods=["POST"])
@agency_manager
@webhooks.response(200, EndpointWithSecretSchema)
def rotate_secret(endpoint_id: uuid.UUID) -> Any:
    """A new signing secret, shown once; for 24 hours messages are signed with both."""
    return service.rotate_secret(service.find_endpoint(endpoint_id))


@webhooks.route("/endpoints/<uuid:endpoint_id>/test", methods=["POST"])
@agency_manager
@webhooks.response(202)
def send_test(endpoint_id: uuid.UUID) -> Any:
    """Send a `ping` event to the endpoint, through the same path as every event."""
    service.send_test(service.find_endpoint(endpoint_id))
    return {"status": "queued"}


@webhooks.route("/endpoints/<uuid:endpoint_id>/deliveries", methods=["GET"])
@agency_manager
@webhooks.arguments(DeliveryQuerySchema, location="query")
@webhooks.response(200, page_schema(DeliverySchema))
def deliveries(query: dict[str, Any], endpoint_id: uuid.UUID) -> Any:
    """The endpoint's messages, the newest first, each with every attempt; filter by status and
    event type."""
    endpoint = service.find_endpoint(endpoint_id)
    return paginate(
        service.deliveries(endpoint, query.get("status"), query.get("event_type")),
        query["page"],
        query["per_page"],
    )


@webhooks.route("/endpoints/<uuid:endpoint_id>/recover", methods=["POST"])
@agency_manager
@webhooks.arguments(RecoverSchema)
@webhooks.response(202, RecoveredSchema)
def recover(body: dict[str, Any], endpoint_id: uuid.UUID) -> Any:
    """Send again every message to this endpoint that failed, since `since`."""
    return {"messages": service.recover(service.find_endpoint(endpoint_id), body["since"])}


@webhooks.route("/deliveries/<uuid:message_id>/retry", methods=["POST"])
@agency_manager
@webhooks.response(202, DeliverySchema)
def retry(message_id: uuid.UUID) -> Any:
    """Send one message again now."""
    message = get_or_404(WebhookMessage, message_id, "webhook delivery")
    return service.retry_message(message)

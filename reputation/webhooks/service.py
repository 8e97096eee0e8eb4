"""The rules of webhooks as requests use them: endpoints, the fan-out of events to messages, and
the delivery log with its retries. The attempts themselves are `reputation.webhooks.dispatch`."""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, select
from sqlalchemy.orm import load_only, selectinload
from sqlalchemy.orm.interfaces import ORMOption

from reputation import clock
from reputation.audit.service import record_audit
from reputation.errors import Conflict, Invalid, NotFound
from reputation.extensions import db
from reputation.outbox.models import OutboxMessage
from reputation.webhooks.addresses import ForbiddenAddress, check_url
from reputation.webhooks.models import (
    FAILED,
    PENDING,
    PING,
    WebhookEndpoint,
    WebhookMessage,
)

ROTATION_OVERLAP = timedelta(hours=24)
# What the fan-out reads of an endpoint: not its secrets, which would be decrypted for nothing.
FAN_OUT_COLUMNS = (WebhookEndpoint.id, WebhookEndpoint.enabled, WebhookEndpoint.event_types)
# Headers the service sets itself; a custom header may not replace them.
RESERVED_HEADERS = frozenset(
    {"content-type", "content-length", "host", "user-agent", "transfer-encoding", "connection"}
)


def allow_private_networks() -> bool:
    return bool(current_app.config.get("WEBHOOK_ALLOW_PRIVATE_NETWORKS"))


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _checked_url(url: str) -> str:
    try:
        check_url(url, allow_private_networks())
    except ForbiddenAddress as error:
        raise Invalid("url", str(error)) from None
    return url


def _checked_headers(headers: dict[str, str]) -> dict[str, str]:
    for name in headers:
        lowered = name.lower()
        if lowered in RESERVED_HEADERS or lowered.startswith("webhook-"):
            raise Invalid("headers", f"{name} is set by the service and cannot be replaced.")
    return headers


def create_endpoint(facts: dict[str, Any]) -> WebhookEndpoint:
    """Register an endpoint; its URL must be HTTPS to a public address. Its secret is shown
    only in the answer to this request (and to a rotation)."""
    endpoint = WebhookEndpoint(
        url=_checked_url(facts["url"]),
        description=facts.get("description", ""),
        event_types=sorted(set(facts.get("event_types", []))),
        enabled=facts.get("enabled", True),
        headers=_checked_headers(facts.get("headers", {})),
        secret=new_secret(),
    )
    db.session.add(endpoint)
    db.session.flush()
    record_audit("webhook_endpoint.created", "webhook_endpoint", endpoint.id, {"url": endpoint.url})
    return endpoint


def update_endpoint(endpoint: WebhookEndpoint, changes: dict[str, Any]) -> WebhookEndpoint:
    """Change an endpoint. Enabling a disabled one clears why it was disabled."""
    if "url" in changes:
        endpoint.url = _checked_url(changes["url"])
    if "headers" in changes:
        endpoint.headers = _checked_headers(changes["headers"])
    if "event_types" in changes:
        endpoint.event_types = sorted(set(changes["event_types"]))
    if "description" in changes:
        endpoint.description = changes["description"]
    if changes.get("enabled") is True and not endpoint.enabled:
        endpoint.disabled_reason, endpoint.failing_since = None, None
    if "enabled" in changes:
        endpoint.enabled = changes["enabled"]
    record_audit(
        "webhook_endpoint.changed", "webhook_endpoint", endpoint.id, {"fields": sorted(changes)}
    )
    return endpoint


def delete_endpoint(endpoint: WebhookEndpoint) -> None:
    """An endpoint stops receiving at once; its delivery log is kept (and no longer served)."""
    endpoint.deleted_at = clock.now()
    endpoint.enabled = False
    record_audit("webhook_endpoint.deleted", "webhook_endpoint", endpoint.id)


def rotate_secret(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new secret; for 24 hours messages carry signatures by the new and the old one."""
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = clock.now() + ROTATION_OVERLAP
    endpoint.secret = new_secret()
    record_audit("webhook_endpoint.secret_rotated", "webhook_endpoint", endpoint.id)
    return endpoint


def endpoints() -> Select[tuple[WebhookEndpoint]]:
    return (
        select(WebhookEndpoint)
        .where(WebhookEndpoint.deleted_at.is_(None))
        .order_by(WebhookEndpoint.created_at.desc(), WebhookEndpoint.id)
    )


def enabled_endpoints(*options: ORMOption) -> Sequence[WebhookEndpoint]:
    statement = endpoints().where(WebhookEndpoint.enabled.is_(True)).options(*options)
    return db.session.scalars(statement).all()


def find_endpoint(endpoint_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = db.session.scalar(endpoints().where(WebhookEndpoint.id == endpoint_id))
    if endpoint is None:
        raise NotFound(f"No webhook endpoint with id {endpoint_id}.")
    return endpoint


def _message(endpoint: WebhookEndpoint, event_type: str, data: Any, outbox_id: Any) -> None:
    now = clock.now()
    body = json.dumps(
        {"type": event_type, "timestamp": now.isoformat(), "data": data}, separators=(",", ":")
    )
    db.session.add(
        WebhookMessage(
            endpoint_id=endpoint.id,
            outbox_id=outbox_id,
            event_type=event_type,
            body=body,
            next_attempt_at=now,  # due at once: the relay hands it to a worker after commit
        )
    )


def fan_out(event: OutboxMessage, enabled: Sequence[WebhookEndpoint] | None = None) -> int:
    """One message per endpoint of the agency that wants this event, in the event's transaction.

    Returns how many. The relay picks up due messages once they commit. `enabled`: the agency's
    enabled endpoints (`enabled_endpoints`), when the caller read them once for many events.
    """
    if enabled is None:
        # Without a flush: the event's own rows go in with the rest of its transaction at commit,
        # and none of them is an endpoint.
        with db.session.no_autoflush:
            enabled = enabled_endpoints(load_only(*FAN_OUT_COLUMNS))
    wanted = [endpoint for endpoint in enabled if endpoint.wants(event.name)]
    for endpoint in wanted:
        _message(endpoint, event.name, event.payload, event.id)
    return len(wanted)


def send_test(endpoint: WebhookEndpoint) -> None:
    """A `ping` message to this endpoint, delivered like any other."""
    if not endpoint.enabled:
        raise Conflict("This endpoint is disabled; enable it to send it a test.")
    _message(endpoint, PING, {"endpoint_id": str(endpoint.id)}, None)


def retry_message(message: WebhookMessage) -> WebhookMessage:
    """Send a message again now, whatever became of it before."""
    endpoint = find_endpoint(message.endpoint_id)
    if not endpoint.enabled:
        raise Conflict("The message's endpoint is disabled; enable it first.")
    now = clock.now()
    if message.leased_until is not None and message.leased_until > now:
        raise Conflict("This message is being attempted right now; look again shortly.")
    message.status, message.next_attempt_at = PENDING, now
    record_audit("webhook_message.retried", "webhook_message", message.id)
    return message


def recover(endpoint: WebhookEndpoint, since: datetime) -> int:
    """Send again every failed message of the endpoint since `since`; returns how many."""
    if not endpoint.enabled:
        raise Conflict("This endpoint is disabled; enable it first.")
    now, count = clock.now(), 0
    for message in db.session.scalars(
        select(WebhookMessage).where(
            WebhookMessage.endpoint_id == endpoint.id,
            WebhookMessage.status == FAILED,
            WebhookMessage.created_at >= since,
        )
    ):
        message.status, message.next_attempt_at, message.leased_until = PENDING, now, None
        count += 1
    record_audit(
        "webhook_endpoint.recovered", "webhook_endpoint", endpoint.id,
        {"since": since.isoformat(), "messages": count},
    )  # fmt: skip
    return count


def deliveries(
    endpoint: WebhookEndpoint, status: str | None, event_type: str | None
) -> Select[tuple[WebhookMessage]]:
    """The endpoint's messages, the newest first; a page of them loads its attempts in one
    query."""
    statement = (
        select(WebhookMessage)
        .where(WebhookMessage.endpoint_id == endpoint.id)
        .options(selectinload(WebhookMessage.attempt_log))
    )
    if status:
        statement = statement.where(WebhookMessage.status == status)
    if event_type:
        statement = statement.where(WebhookMessage.event_type == event_type)
    return statement.order_by(WebhookMessage.created_at.desc(), WebhookMessage.id.desc())

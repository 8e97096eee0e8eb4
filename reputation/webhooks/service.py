"""The rules of webhooks: endpoints, fan-out of events to messages, attempts and their outcomes."""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, select
from sqlalchemy.orm.exc import StaleDataError

from reputation import clock
from reputation.audit.service import record_audit
from reputation.errors import Conflict, Invalid, NotFound
from reputation.extensions import db
from reputation.outbox.models import OutboxMessage
from reputation.webhooks import delivery
from reputation.webhooks.addresses import ForbiddenAddress, check_url
from reputation.webhooks.models import (
    FAILED,
    PENDING,
    PING,
    SUCCEEDED,
    WebhookAttempt,
    WebhookEndpoint,
    WebhookMessage,
)

ROTATION_OVERLAP = timedelta(hours=24)
# A delivery job stops starting attempts after this long (well within the relay's lease).
BATCH_SECONDS = 60.0
# Attempts are committed together, at most this long after they are made: a commit per attempt
# cost more than the attempt.
GROUP_SECONDS = 0.25
DISABLE_AFTER_FAILING = timedelta(days=5)
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


def fan_out(event: OutboxMessage) -> int:
    """One message per endpoint of the agency that wants this event, in the event's transaction.

    Returns how many. The relay picks up due messages once they commit.
    """
    wanted = [
        endpoint
        for endpoint in db.session.scalars(endpoints().where(WebhookEndpoint.enabled.is_(True)))
        if endpoint.wants(event.name)
    ]
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
    statement = select(WebhookMessage).where(WebhookMessage.endpoint_id == endpoint.id)
    if status:
        statement = statement.where(WebhookMessage.status == status)
    if event_type:
        statement = statement.where(WebhookMessage.event_type == event_type)
    return statement.order_by(WebhookMessage.created_at.desc(), WebhookMessage.id.desc())


def attempts_of(message: WebhookMessage) -> Sequence[WebhookAttempt]:
    return db.session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.message_id == message.id)
        .order_by(WebhookAttempt.attempted_at)
    ).all()


def _signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    rotated = endpoint.previous_secret_until is not None and now < endpoint.previous_secret_until
    if rotated and endpoint.previous_secret:
        return [endpoint.secret, endpoint.previous_secret]
    return [endpoint.secret]


def _disable(endpoint: WebhookEndpoint, reason: str) -> None:
    endpoint.enabled, endpoint.disabled_reason = False, reason
    # The notice an agency's owners see in the audit log.
    record_audit("endpoint.disabled", "webhook_endpoint", endpoint.id, {"reason": reason})


def deliver(message_ids: Sequence[uuid.UUID]) -> dict[str, int]:
    """One attempt at each of these due messages, in order (the `webhooks` job); returns how
    many ended in each status.

    No transaction stays open while a receiver answers (up to 15 s each). Attempts are kept in
    memory and committed together once the group's first is GROUP_SECONDS old (or a slow
    receiver's attempt has ended): a worker killed in between loses the log of those few
    attempts, and their messages, still leased, are sent again once the lease runs out
    (receivers deduplicate on `webhook-id`). A batch stops taking new messages after
    BATCH_SECONDS, and those it did not reach fall due again at once.
    """
    session = db.session()
    # The messages loaded here stay valid across this job's own commits (their version column
    # catches anyone else's change), so they are not read again after each one.
    session.expire_on_commit = False
    messages = session.scalars(
        select(WebhookMessage)
        .where(WebhookMessage.id.in_(message_ids), WebhookMessage.status == PENDING)
        .order_by(WebhookMessage.created_at, WebhookMessage.id)
    ).all()
    session.commit()
    started = time.monotonic()
    group: list[_Done] = []
    endpoints: dict[uuid.UUID, WebhookEndpoint] = {}
    for message in messages:
        if message.endpoint_id not in endpoints:
            if group:
                _commit(group)
                group = []
            # Read afresh for each group: a change of URL, secret or state applies within it.
            endpoint = session.get(
                WebhookEndpoint, (message.agency_id, message.endpoint_id), populate_existing=True
            )
            assert endpoint is not None
            endpoints[message.endpoint_id] = endpoint
            session.commit()  # no transaction stays open while receivers answer
        group.append(_handle(message, endpoints[message.endpoint_id], started))
        if time.monotonic() - group[0].at_monotonic > GROUP_SECONDS:
            _commit(group)
            group, endpoints = [], {}
    if group:
        _commit(group)
    counts: dict[str, int] = {}
    for message in messages:
        counts[message.status] = counts.get(message.status, 0) + 1
    return counts


@dataclass
class _Done:
    """What this job did to one message: the attempt to log, and how to apply its outcome."""

    message: WebhookMessage
    seen_version: int
    attempt: WebhookAttempt | None
    apply: Callable[[], None]
    at_monotonic: float


def _handle(message: WebhookMessage, endpoint: WebhookEndpoint, batch_started: float) -> _Done:
    seen_version, attempt = message.version, None
    if time.monotonic() - batch_started > BATCH_SECONDS:

        def apply() -> None:
            message.next_attempt_at, message.leased_until = clock.now(), None

    elif not endpoint.enabled or endpoint.deleted_at is not None:

        def apply() -> None:
            message.status, message.next_attempt_at, message.leased_until = FAILED, None, None

    else:
        at, outcome = _attempt(message, endpoint)
        attempt = _log(message, at, outcome)

        def apply() -> None:
            _apply_outcome(message, endpoint, at, outcome)

    apply()
    return _Done(message, seen_version, attempt, apply, time.monotonic())


def _commit(group: list[_Done]) -> None:
    session = db.session()
    try:
        session.commit()
        return
    except StaleDataError:
        session.rollback()
    # A message changed under this job (a new lease after this one ran out, say): one message
    # at a time, a newer state stands, and every attempt made here is logged all the same.
    for done in group:
        session.refresh(done.message)
        if done.attempt is not None:
            session.add(done.attempt)
        if done.message.version == done.seen_version:
            done.apply()
        session.commit()


def _attempt(
    message: WebhookMessage, endpoint: WebhookEndpoint
) -> tuple[datetime, delivery.Outcome]:
    now = clock.now()
    headers = {
        **endpoint.headers,
        "webhook-id": message.webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": delivery.signatures(
            message.webhook_id, now, message.body, _signing_secrets(endpoint, now)
        ),
    }
    return now, delivery.post(endpoint.url, message.body, headers, allow_private_networks())


def _log(message: WebhookMessage, at: datetime, outcome: delivery.Outcome) -> WebhookAttempt:
    attempt = WebhookAttempt(
        message_id=message.id,
        attempted_at=at,
        status_code=outcome.status_code,
        latency_ms=outcome.latency_ms,
        response_body=outcome.response_body,
        error=outcome.error,
    )
    db.session.add(attempt)
    return attempt


def _apply_outcome(
    message: WebhookMessage, endpoint: WebhookEndpoint, at: datetime, outcome: delivery.Outcome
) -> None:
    message.attempts += 1
    message.last_attempt_at = at
    message.leased_until = None
    if outcome.succeeded:
        message.status, message.next_attempt_at = SUCCEEDED, None
        if endpoint.failing_since is not None:
            endpoint.failing_since = None
        return
    if outcome.status_code == 410:
        message.status, message.next_attempt_at = FAILED, None
        _disable(endpoint, "The receiver answered 410 Gone.")
        return
    endpoint.failing_since = endpoint.failing_since or at
    if at - endpoint.failing_since >= DISABLE_AFTER_FAILING:
        message.status, message.next_attempt_at = FAILED, None
        _disable(endpoint, "Every delivery failed for five days.")
        return
    wait = delivery.next_attempt_after(message.attempts, outcome)
    if wait is None:
        message.status, message.next_attempt_at = FAILED, None
    else:
        message.next_attempt_at = at + wait


@dataclass
class Delivery:
    """A message with its body as JSON and every attempt at it, as the delivery log shows it."""

    message: WebhookMessage
    payload: Any
    attempt_log: Sequence[WebhookAttempt]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.message, name)


def described(message: WebhookMessage) -> Delivery:
    return Delivery(message, json.loads(message.body), attempts_of(message))

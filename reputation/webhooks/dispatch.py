"""The delivery engine: one attempt at each due message, outside any request.

It owns its transactions: none stays open while a receiver answers, and attempts are committed in
groups. The relay (workers/relay.py) leases due messages and hands them to `deliver` in a
`webhooks` job; endpoint management and the delivery log are `reputation.webhooks.service`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from reputation import clock
from reputation.audit.service import record_audit
from reputation.extensions import db
from reputation.webhooks import delivery
from reputation.webhooks.models import (
    FAILED,
    PENDING,
    SUCCEEDED,
    WebhookAttempt,
    WebhookEndpoint,
    WebhookMessage,
)
from reputation.webhooks.service import allow_private_networks

# A delivery job stops starting attempts after this long (well within the relay's lease).
BATCH_SECONDS = 60.0
# Attempts are committed together, at most this long after they are made: a commit per attempt
# cost more than the attempt.
GROUP_SECONDS = 0.25
DISABLE_AFTER_FAILING = timedelta(days=5)


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


def _signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    rotated = endpoint.previous_secret_until is not None and now < endpoint.previous_secret_until
    if rotated and endpoint.previous_secret:
        return [endpoint.secret, endpoint.previous_secret]
    return [endpoint.secret]


def _disable(endpoint: WebhookEndpoint, reason: str) -> None:
    endpoint.enabled, endpoint.disabled_reason = False, reason
    # The notice an agency's owners see in the audit log.
    record_audit("endpoint.disabled", "webhook_endpoint", endpoint.id, {"reason": reason})

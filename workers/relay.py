"""The outbox relay: committed outbox jobs to their RQ queues, at least once.

A row is marked relayed in the same transaction that read it, after RQ has accepted its job. If
Redis is down the transaction rolls back and the rows wait; if the relay dies between the two,
the job is enqueued again on the next pass (jobs are idempotent). On PostgreSQL several relays
can run side by side: each claims its rows with SKIP LOCKED.

When idle, the relay waits for work. On PostgreSQL a commit that leaves work for it wakes it at
once (a NOTIFY sent by the triggers of migration 0018, delivered on commit only). It still polls,
for the notifications lost while its listening connection is down and for the webhook attempts
that fall due with time; SQLite has no NOTIFY, so there it polls only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TypeVar

import psycopg
from flask import Flask
from rq import Retry
from sqlalchemy import Select, or_, select

from reputation import clock
from reputation.api import idempotency
from reputation.extensions import db
from reputation.jobs import DELIVER_WEBHOOKS, Queue
from reputation.outbox.models import JOB, NOTIFY_CHANNEL, OutboxMessage
from reputation.queues import queue, redis_connection
from reputation.tenancy.scope import system_scope
from reputation.webhooks.models import PENDING, WebhookMessage

log = logging.getLogger(__name__)
T = TypeVar("T")

# A job that raises is tried again after these pauses (seconds), then left in RQ's failed registry.
RETRY = Retry(max=4, interval=[5, 30, 120, 600])
# A mail server may be down, or answer "try later", for hours: a message is tried for about a
# day, as mail servers themselves keep trying, before it is left in the failed registry.
MAIL_RETRY = Retry(max=8, interval=[30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600])
HOUSEKEEPING_EVERY = 600.0
MAX_ATTEMPTS = 5
# How long a queued webhook attempt may take to report before the message falls due again.
LEASE = timedelta(minutes=10)
# RQ's default of 180 s suits one contractor's recompute, not a 100,000-row import.
JOB_TIMEOUTS = {Queue.TRUST: 300, Queue.WEBHOOKS: 120, Queue.MAIL: 120, Queue.BULK: 3 * 3600}
# Webhook messages per job, at most.
WEBHOOK_BATCH = 50


def relay_once(app: Flask, batch: int = 500) -> int:
    """Move up to `batch` pending outbox jobs to RQ. Returns how many were moved.

    A message RQ will not take is set aside with its error after MAX_ATTEMPTS passes, so one bad
    row never holds up the others.
    """
    with app.app_context(), system_scope():
        statement = (
            select(OutboxMessage)
            .where(
                OutboxMessage.relayed_at.is_(None),
                OutboxMessage.kind == JOB,
                OutboxMessage.attempts < MAX_ATTEMPTS,
            )
            .order_by(OutboxMessage.created_at)
            .limit(batch)
        )
        try:
            messages = _claim(statement)
            if not messages:
                return 0
            accepted, refused = [], []
            job_ids: set[str] = set()
            with redis_connection().pipeline() as pipeline:
                for message in messages:
                    # A job's agency comes from its row, whatever its payload says.
                    job_id = _job_id(message)
                    if job_id in job_ids:
                        accepted.append(message)  # the same job, already in this batch
                        continue
                    try:
                        name = Queue(message.queue or Queue.BULK)
                        queue(name).enqueue_call(
                            func=message.name,
                            kwargs={**message.payload, "agency_id": str(message.agency_id)},
                            job_id=job_id,
                            retry=MAIL_RETRY if name is Queue.MAIL else RETRY,
                            timeout=JOB_TIMEOUTS[name],
                            pipeline=pipeline,
                        )
                    except Exception as error:
                        refused.append((message, error))
                        continue
                    job_ids.add(job_id)
                    accepted.append(message)
                pipeline.execute()
            relayed_at = clock.now()
            for message in accepted:
                message.relayed_at = relayed_at
                message.attempts += 1
            for message, error in refused:
                message.attempts += 1
                message.last_error = f"{type(error).__name__}: {error}"[:1000]
                log.error("outbox message %s refused by RQ: %s", message.id, error)
            db.session.commit()
            return len(accepted)
        finally:
            db.session.rollback()


def relay_due_webhooks(app: Flask, batch: int = 500) -> int:
    """Hand webhook messages whose attempt is due to the `webhooks` queue. Returns how many.

    The schedule lives in the database (`next_attempt_at`), not in Redis: a message is leased
    for LEASE while its job is queued and running, and if the job is lost it falls due again.
    """
    with app.app_context(), system_scope():
        now = clock.now()
        statement = (
            select(WebhookMessage)
            .where(
                WebhookMessage.status == PENDING,
                WebhookMessage.next_attempt_at <= now,
                or_(WebhookMessage.leased_until.is_(None), WebhookMessage.leased_until <= now),
            )
            .order_by(WebhookMessage.next_attempt_at)
            .limit(batch)
        )
        try:
            messages = _claim(statement)
            if not messages:
                return 0
            # The lease is committed before the jobs exist: a job never sees its message
            # unleased, and if Redis refuses the jobs the lease runs out and they are tried again.
            batches: dict[tuple[object, object], list[str]] = {}
            for message in messages:
                key = (message.agency_id, message.endpoint_id)
                batches.setdefault(key, []).append(str(message.id))
                message.leased_until = now + LEASE
            db.session.commit()
            # One job per endpoint and handful of messages: RQ's own cost per job is more than
            # an attempt's, so attempts are batched; several batches of one endpoint can run
            # side by side.
            with redis_connection().pipeline() as pipeline:
                for (agency_id, _), ids in batches.items():
                    for start in range(0, len(ids), WEBHOOK_BATCH):
                        chunk = ids[start : start + WEBHOOK_BATCH]
                        queue(DELIVER_WEBHOOKS.queue).enqueue_call(
                            func=DELIVER_WEBHOOKS.function,
                            kwargs={"message_ids": chunk, "agency_id": str(agency_id)},
                            job_id=f"{agency_id}-deliver-{chunk[0]}",
                            timeout=JOB_TIMEOUTS[DELIVER_WEBHOOKS.queue],
                            pipeline=pipeline,
                        )
                pipeline.execute()
            return len(messages)
        finally:
            db.session.rollback()


def _claim(statement: Select[tuple[T]]) -> Sequence[T]:
    """The rows of `statement`, locked; on PostgreSQL several relays skip each other's rows."""
    if db.engine.dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    return db.session.scalars(statement).all()


def _job_id(message: OutboxMessage) -> str:
    # Job ids live in one Redis for every agency: an agency's own ids are prefixed with it.
    if message.job_id:
        return f"{message.agency_id}-{message.job_id}"
    return f"outbox-{message.id}"


def housekeeping(app: Flask) -> None:
    """Drop expired idempotency records."""
    with app.app_context(), system_scope():
        purged = idempotency.purge_expired()
        db.session.commit()
        if purged:
            log.info("purged %d expired idempotency records", purged)


class CommitWakeup:
    """Waits until work for the relay commits: a connection of its own LISTENs on the outbox's
    channel (PostgreSQL only).

    A notification is lost while that connection is down (PostgreSQL restarted, the backend
    terminated), never a row: the rows are the truth and notifications only say when to look.
    Until the connection is back the relay polls, and once it is listening again a pass runs at
    once, which finds whatever committed in the gap.
    """

    def __init__(self, app: Flask) -> None:
        with app.app_context():
            self._arguments = db.engine.dialect.create_connect_args(db.engine.url)
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None
        self._down = False

    def wait(self, seconds: float) -> None:
        """Return when work has committed since the last wait, or after `seconds` at the latest
        (at once after the connection was opened, so that a pass follows it)."""
        if self._connection is None:
            self._listen(seconds)
            return
        try:
            for _ in self._connection.notifies(timeout=seconds, stop_after=1):
                pass
            # The rest of a burst of commits: one pass serves them all.
            for _ in self._connection.notifies(timeout=0):
                pass
        except psycopg.Error as error:
            log.warning("the relay stopped listening (%s); polling until it can again", error)
            self._connection.close()
            self._connection, self._down = None, True

    def _listen(self, seconds: float) -> None:
        args, options = self._arguments
        try:
            # Keepalives notice a connection that died without a word (a host gone, a network
            # cut): its notifications would never come, and nothing else reads from it.
            connection = psycopg.connect(
                *args, **options, autocommit=True, application_name="reputation-relay",
                connect_timeout=5, keepalives=1, keepalives_idle=30, keepalives_interval=10,
                keepalives_count=3,
            )  # fmt: skip
            connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
        except psycopg.Error as error:
            if not self._down:
                log.warning("the relay cannot listen (%s); polling until it can", error)
            self._down = True
            time.sleep(seconds)
            return
        if self._down:
            log.info("the relay listens for commits again")
        self._connection, self._down = connection, False


def _interrupted(error: BaseException) -> bool:
    """Whether `error` came of a stop asked for (SIGTERM, Ctrl-C) in the middle of a query: the
    driver, cleaning up, may raise an error of its own over the interruption, and a relay that
    took it for a failed pass would go on running after it was told to stop."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, (SystemExit, KeyboardInterrupt)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def run_relay(app: Flask, poll_seconds: float = 0.2, batch: int = 500, listen: bool = True) -> None:
    """Relay for ever: at once while there is work; when idle, as soon as work commits (on
    PostgreSQL, unless `listen` is off) or after `poll_seconds` at the latest."""
    with app.app_context():
        listening = listen and db.engine.dialect.name == "postgresql"
    wait: Callable[[float], None] = CommitWakeup(app).wait if listening else time.sleep
    log.info("outbox relay started (%s)", "listening for commits" if listening else "polling")
    failures = 0
    next_housekeeping = 0.0
    while True:
        try:
            moved = max(relay_once(app, batch), relay_due_webhooks(app, batch))
            failures = 0
            if time.monotonic() >= next_housekeeping:
                housekeeping(app)
                next_housekeeping = time.monotonic() + HOUSEKEEPING_EVERY
        except Exception as error:
            if _interrupted(error):
                raise
            failures += 1
            log.exception("outbox relay pass failed (%d in a row); the rows wait", failures)
            time.sleep(min(30.0, poll_seconds * 2**failures))
            continue
        if moved < batch:
            wait(poll_seconds)

"""The outbox relay: committed outbox jobs to their RQ queues, at least once.

A row is marked relayed in the same transaction that read it, after RQ has accepted its job. If
Redis is down the transaction rolls back and the rows wait; if the relay dies between the two,
the job is enqueued again on the next pass (jobs are idempotent). On PostgreSQL several relays
can run side by side: each claims its rows with SKIP LOCKED.
"""

from __future__ import annotations

import logging
import time

from flask import Flask
from rq import Retry
from sqlalchemy import select

from reputation import clock
from reputation.api import idempotency
from reputation.extensions import db
from reputation.outbox.models import JOB, OutboxMessage
from reputation.queues import queue, redis_connection
from reputation.tenancy.scope import system_scope

log = logging.getLogger(__name__)

# A job that raises is tried again after these pauses (seconds), then left in RQ's failed registry.
RETRY = Retry(max=4, interval=[5, 30, 120, 600])
HOUSEKEEPING_EVERY = 600.0


def relay_once(app: Flask, batch: int = 500) -> int:
    """Move up to `batch` pending outbox jobs to RQ. Returns how many were moved."""
    with app.app_context(), system_scope():
        statement = (
            select(OutboxMessage)
            .where(OutboxMessage.relayed_at.is_(None), OutboxMessage.kind == JOB)
            .order_by(OutboxMessage.created_at)
            .limit(batch)
        )
        if db.engine.dialect.name == "postgresql":
            statement = statement.with_for_update(skip_locked=True)
        try:
            messages = db.session.scalars(statement).all()
            if not messages:
                return 0
            with redis_connection().pipeline() as pipeline:
                for message in messages:
                    queue(message.queue or "bulk").enqueue_call(
                        func=message.name,
                        kwargs={"agency_id": str(message.agency_id), **message.payload},
                        job_id=message.job_id or f"outbox-{message.id}",
                        retry=RETRY,
                        pipeline=pipeline,
                    )
                pipeline.execute()
            relayed_at = clock.now()
            for message in messages:
                message.relayed_at = relayed_at
                message.attempts += 1
            db.session.commit()
            return len(messages)
        finally:
            db.session.rollback()


def housekeeping(app: Flask) -> None:
    """Drop expired idempotency records."""
    with app.app_context(), system_scope():
        purged = idempotency.purge_expired()
        db.session.commit()
        if purged:
            log.info("purged %d expired idempotency records", purged)


def run_relay(app: Flask, poll_seconds: float = 0.2, batch: int = 500) -> None:
    """Relay for ever: at once while there is work, every `poll_seconds` when idle."""
    log.info("outbox relay started")
    failures = 0
    next_housekeeping = 0.0
    while True:
        try:
            moved = relay_once(app, batch)
            failures = 0
            if time.monotonic() >= next_housekeeping:
                housekeeping(app)
                next_housekeeping = time.monotonic() + HOUSEKEEPING_EVERY
        except Exception:
            failures += 1
            log.exception("outbox relay pass failed (%d in a row); the rows wait", failures)
            time.sleep(min(30.0, poll_seconds * 2**failures))
            continue
        if moved < batch:
            time.sleep(poll_seconds)

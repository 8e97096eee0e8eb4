"""The schedule: the nightly sweep, enqueued once a day however many schedulers run.

Each scheduler wakes every minute; after SWEEP_AT (UTC) the first to take the day's key in Redis
(SET NX) enqueues the sweep on the `bulk` queue, and the others find the key taken. Every
minute too, the disputes past their deadline are overturned and the agencies reminded of those
near it (`settle_disputes`).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from datetime import time as time_of_day

from flask import Flask

from reputation import clock, jobs
from reputation.disputes import service as disputes
from reputation.extensions import db
from reputation.queues import queue, redis_connection
from reputation.tenancy.scope import agency_scope

log = logging.getLogger(__name__)

SWEEP_AT = time_of_day(3, 0)
SWEEP_TIMEOUT = 6 * 3600


def sweep_due(app: Flask, now: datetime) -> bool:
    """Enqueue today's sweep if it is time and nobody has; True when this call enqueued it."""
    if now.time() < SWEEP_AT:
        return False
    day = now.date().isoformat()
    with app.app_context():
        redis = redis_connection()
        if not redis.set(f"reputation:sweep:{day}", "1", nx=True, ex=3 * 86400):
            return False
        try:
            queue(jobs.NIGHTLY_SWEEP.queue).enqueue_call(
                func=jobs.NIGHTLY_SWEEP.function,
                job_id=f"nightly-sweep-{day}",
                timeout=SWEEP_TIMEOUT,
            )
        except Exception:
            redis.delete(f"reputation:sweep:{day}")  # let the next tick try again
            raise
    log.info("enqueued the nightly sweep of %s", day)
    return True


def settle_disputes(app: Flask, now: datetime) -> int:
    """Overturn the open disputes past their deadline, "not verified in time" (TRUST_MODEL.md
    §1), and remind the agencies of those near it: each dispute in its agency's scope and a
    transaction of its own, so that one failure holds up no other (the next tick tries it
    again). Two schedulers settle each dispute once (disputes.service.settle). Returns how many
    were settled."""
    settled = 0
    with app.app_context():
        for agency_id, dispute_id in disputes.falling_due(now):
            try:
                with agency_scope(agency_id):
                    settled += disputes.settle(dispute_id, now) is not None
                db.session.commit()
            except Exception:
                db.session.rollback()
                log.exception("settling dispute %s of agency %s failed", dispute_id, agency_id)
        db.session.rollback()  # the read of what fell due, when nothing did
    if settled:
        log.info("settled %d disputes", settled)
    return settled


def run_schedule(app: Flask, tick_seconds: float = 60.0) -> None:
    log.info("scheduler started; the sweep runs daily after %s UTC", SWEEP_AT)
    while True:
        try:
            sweep_due(app, clock.now())
        except Exception:
            log.exception("scheduler tick failed")
        try:
            settle_disputes(app, clock.now())
        except Exception:
            log.exception("the disputes' deadlines could not be read")
        time.sleep(tick_seconds)

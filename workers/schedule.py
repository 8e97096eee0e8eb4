"""The schedule: the nightly sweep, enqueued once a day however many schedulers run.

Each scheduler wakes every minute; after SWEEP_AT (UTC) the first to take the day's key in Redis
(SET NX) enqueues the sweep on the `bulk` queue, and the others find the key taken.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from datetime import time as time_of_day

from flask import Flask

from reputation import clock, jobs
from reputation.queues import queue, redis_connection

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


def run_schedule(app: Flask, tick_seconds: float = 60.0) -> None:
    log.info("scheduler started; the sweep runs daily after %s UTC", SWEEP_AT)
    while True:
        try:
            sweep_due(app, clock.now())
        except Exception:
            log.exception("scheduler tick failed")
        time.sleep(tick_seconds)

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import g

from reputation import clock, jobs
from reputation.extensions import db
from reputation.ids import new_id
from reputation.outbox.models import EVENT, JOB, OutboxMessage
from reputation.webhooks.models import EVENT_TYPES
from reputation.webhooks.service import fan_out

JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")


def enqueue_after_commit(job: jobs.Job, job_id: str | None = None, **kwargs: Any) -> OutboxMessage:
    """Record, in the current transaction, a job to run once the transaction commits.

    `job` names a function of `workers.jobs` (reputation.jobs); `kwargs` are plain JSON values
    (ids, never objects). The job also receives the agency's id. Jobs run at least once, so they
    must be idempotent.
    """
    if "agency_id" in kwargs:
        raise ValueError("a job's agency is the agency in scope; it is not an argument")
    if job_id is not None and not JOB_ID.fullmatch(job_id):
        raise ValueError(f"job ids are 1 to 100 of [A-Za-z0-9_-] (RQ's rule), not {job_id!r}")
    message = OutboxMessage(
        kind=JOB, queue=job.queue, name=job.function, payload=kwargs, job_id=job_id
    )
    db.session.add(message)
    return message


def publish_event(event_type: str, data: dict[str, Any]) -> OutboxMessage:
    """Record, in the current transaction, an event of this agency (DESIGN.md "Webhooks"), and a
    webhook message for each of its endpoints that wants it; the relay sends those after commit.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}; see webhooks.models.EVENT_TYPES")
    message = OutboxMessage(id=new_id(), kind=EVENT, name=event_type, payload=data)
    db.session.add(message)
    fan_out(message)
    message.relayed_at = clock.now()  # handed to the webhooks: nothing left for the relay
    return message


def recompute_after_commit(contractor_id: object) -> OutboxMessage | None:
    """Recompute a contractor's trust once the current transaction commits.

    One job id per contractor: a burst of writes for one contractor asks for one recompute.
    """
    coalesced = g.get("pending_recomputes")
    if coalesced is not None:
        coalesced.add(str(contractor_id))
        return None
    return enqueue_after_commit(
        jobs.RECOMPUTE_CONTRACTOR,
        job_id=f"recompute-{contractor_id}",
        contractor_id=str(contractor_id),
    )


@contextmanager
def recomputes_coalesced() -> Iterator[None]:
    """Within the block, each contractor's recompute is recorded once, as the block ends."""
    g.pending_recomputes = set()
    try:
        yield
        pending = g.pop("pending_recomputes")
        for contractor_id in sorted(pending):
            recompute_after_commit(contractor_id)
    finally:
        g.pop("pending_recomputes", None)

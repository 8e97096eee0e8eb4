from __future__ import annotations

from typing import Any

from reputation.extensions import db
from reputation.outbox.models import EVENT, JOB, OutboxMessage

QUEUES = ("trust", "webhooks", "bulk")


def enqueue_after_commit(
    queue: str, function: str, job_id: str | None = None, **kwargs: Any
) -> OutboxMessage:
    """Record, in the current transaction, a job to run once the transaction commits.

    `function` is the dotted path of a job in `workers.jobs`; `kwargs` are plain JSON values (ids,
    never objects). The job also receives the agency's id. Jobs run at least once, so they must be
    idempotent.
    """
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}; queues are {', '.join(QUEUES)}")
    message = OutboxMessage(kind=JOB, queue=queue, name=function, payload=kwargs, job_id=job_id)
    db.session.add(message)
    return message


def publish_event(event_type: str, data: dict[str, Any]) -> OutboxMessage:
    """Record, in the current transaction, a webhook event (DESIGN.md "Webhooks") of this agency."""
    message = OutboxMessage(kind=EVENT, name=event_type, payload=data)
    db.session.add(message)
    return message


def recompute_after_commit(contractor_id: object) -> OutboxMessage:
    """Recompute a contractor's trust once the current transaction commits.

    One job id per contractor: a burst of writes for one contractor asks for one recompute.
    """
    return enqueue_after_commit(
        "trust",
        "workers.jobs.recompute_contractor",
        job_id=f"recompute-{contractor_id}",
        contractor_id=str(contractor_id),
    )

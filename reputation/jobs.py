"""The names that cross from the web app to the workers: the RQ queues and the jobs.

The web app records a job in the outbox by name and never imports the workers; the relay hands
the name to RQ, and a worker imports the function it names. A name that no longer resolves would
fail only there, after the write was acknowledged, so every name is here and a test resolves each
one (tests/test_jobs_registry.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Queue(StrEnum):
    """The RQ queues, in the order workers take from them (DESIGN.md "Queues")."""

    TRUST = "trust"  # one contractor's recompute: short, and what users wait for
    WEBHOOKS = "webhooks"  # delivery attempts, run by webhook workers of their own
    MAIL = "mail"  # one message over SMTP: short, and often what a person waits for
    BULK = "bulk"  # imports, exports, simulations, whole-agency recomputes, the nightly sweep


QUEUES = tuple(Queue)


@dataclass(frozen=True)
class Job:
    """A job function of `workers.jobs` and the queue it runs on."""

    function: str
    queue: Queue


RECOMPUTE_CONTRACTOR = Job("workers.jobs.recompute_contractor", Queue.TRUST)
RECOMPUTE_CONTRACTORS = Job("workers.jobs.recompute_contractors", Queue.BULK)
RECOMPUTE_AGENCY = Job("workers.jobs.recompute_agency", Queue.BULK)
SIMULATE_POLICY = Job("workers.jobs.simulate_policy", Queue.BULK)
RUN_IMPORT = Job("workers.jobs.run_import", Queue.BULK)
RUN_EXPORT = Job("workers.jobs.run_export", Queue.BULK)
DELIVER_WEBHOOKS = Job("workers.jobs.deliver_webhooks", Queue.WEBHOOKS)
SEND_MAIL = Job("workers.jobs.send_mail", Queue.MAIL)
NIGHTLY_SWEEP = Job("workers.jobs.nightly_sweep", Queue.BULK)

JOBS = (
    RECOMPUTE_CONTRACTOR,
    RECOMPUTE_CONTRACTORS,
    RECOMPUTE_AGENCY,
    SIMULATE_POLICY,
    RUN_IMPORT,
    RUN_EXPORT,
    DELIVER_WEBHOOKS,
    SEND_MAIL,
    NIGHTLY_SWEEP,
)

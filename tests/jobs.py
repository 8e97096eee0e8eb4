"""Jobs that only the tests enqueue, to watch the outbox, the relay and the workers work."""

from __future__ import annotations

from sqlalchemy import func, select

from reputation.audit.service import record_audit
from reputation.extensions import db
from reputation.jobs import Job, Queue
from reputation.tenancy.models import User
from workers.jobs import tenant_job


@tenant_job
def note_job_ran(note: str) -> int:
    """Leave an audit row saying the job ran, with how many staff its agency scope can see."""
    staff = db.session.scalar(select(func.count()).select_from(User)) or 0
    record_audit("test.job_ran", "note", note, {"staff_visible": staff})
    return staff


@tenant_job
def fail_always() -> None:
    raise RuntimeError("this job always fails")


NOTE_JOB_RAN = Job("tests.jobs.note_job_ran", Queue.TRUST)

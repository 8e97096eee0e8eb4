"""The outbox: jobs committed with the change that causes them reach RQ once that commit is done,
even when Redis was down at the time, and a real worker runs them in the agency's scope."""

from __future__ import annotations

import subprocess
import sys
import time

import psycopg
import pytest
from redis import Redis
from rq import Queue
from rq.job import Job
from sqlalchemy import func, select

from reputation.app import create_app
from reputation.audit.models import AuditEntry
from reputation.config import TestConfig
from reputation.extensions import db
from reputation.outbox.models import NOTIFY_CHANNEL, OutboxMessage
from reputation.outbox.service import enqueue_after_commit, publish_event
from reputation.tenancy.scope import agency_scope, system_scope
from tests.conftest import repo_root, stop_process
from tests.jobs import NOTE_JOB_RAN
from workers.relay import MAX_ATTEMPTS, relay_once


def record_job(app, tenant, note: str, commit: bool = True) -> None:
    with app.app_context(), agency_scope(tenant.agency_id):
        enqueue_after_commit(NOTE_JOB_RAN, note=note)
        if commit:
            db.session.commit()
        else:
            db.session.rollback()


def pending(app) -> int:
    with app.app_context(), system_scope():
        return db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.relayed_at.is_(None), OutboxMessage.kind == "job")
        )


def test_a_rolled_back_write_leaves_no_job(app, tenants):
    record_job(app, tenants[0], "never", commit=False)
    assert pending(app) == 0


def test_relay_moves_committed_jobs_to_their_queue_once(app, tenants, redis_url):
    acme, _ = tenants
    record_job(app, acme, "first")
    record_job(app, acme, "second")
    assert relay_once(app) == 2
    assert relay_once(app) == 0
    assert pending(app) == 0

    trust = Queue("trust", connection=Redis.from_url(redis_url))
    jobs = [Job.fetch(job_id, connection=trust.connection) for job_id in trust.job_ids]
    assert [job.kwargs for job in jobs] == [
        {"agency_id": str(acme.agency_id), "note": "first"},
        {"agency_id": str(acme.agency_id), "note": "second"},
    ]
    assert all(job.func_name == "tests.jobs.note_job_ran" for job in jobs)
    assert all(job.retries_left == 4 for job in jobs)


def test_events_are_recorded_and_handed_to_the_webhooks_not_queued_as_jobs(app, tenants):
    with app.app_context(), agency_scope(tenants[0].agency_id):
        event = publish_event("contractor.created", {"contractor_id": "c1"})
        db.session.commit()
        assert event.relayed_at is not None  # fanned out to the agency's endpoints (none here)
    assert relay_once(app) == 0


def test_jobs_committed_while_redis_is_down_are_relayed_when_it_is_back(
    app, tenants, database_url, redis_url
):
    cut_off = create_app(
        TestConfig,
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": "redis://127.0.0.1:1/0",  # nothing listens there
            "RATELIMIT_STORAGE_URI": redis_url,  # the limiter is one per process
        },
    )
    record_job(app, tenants[0], "during the outage")
    with pytest.raises(Exception, match=r"(?i)connect"):
        relay_once(cut_off)
    assert pending(app) == 1
    assert relay_once(app) == 1
    assert Queue("trust", connection=Redis.from_url(redis_url)).count == 1
    with cut_off.app_context():
        db.engine.dispose()


def test_worker_process_runs_a_committed_job_in_its_agencys_scope(app, tenants, service_env):
    acme, _ = tenants
    workers = subprocess.Popen(
        [sys.executable, "-m", "workers", "--workers", "1", "--poll", "0.05"],
        cwd=repo_root(),
        env=service_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        record_job(app, acme, "from the outbox")
        deadline = time.monotonic() + 30
        entry = None
        while entry is None and time.monotonic() < deadline:
            time.sleep(0.2)
            with app.app_context(), agency_scope(acme.agency_id):
                entry = db.session.execute(
                    select(AuditEntry.object_id, AuditEntry.actor_type, AuditEntry.details).where(
                        AuditEntry.action == "test.job_ran"
                    )
                ).one_or_none()
                db.session.rollback()
        assert entry is not None, "the job did not run within 30 s"
        # acme's staff are visible to the job, none of globex's.
        assert tuple(entry) == ("from the outbox", "system", {"staff_visible": 4})
    finally:
        stop_process(workers)
    assert workers.returncode == 0, workers.stderr.read().decode()[-2000:]


def test_a_job_cannot_name_another_agency(app, tenants):
    with app.app_context(), agency_scope(tenants[0].agency_id):
        with pytest.raises(ValueError, match="agency"):
            enqueue_after_commit(NOTE_JOB_RAN, agency_id="elsewhere")
        with pytest.raises(ValueError, match="job ids"):
            enqueue_after_commit(NOTE_JOB_RAN, job_id="bad:id", note="x")


def test_a_message_rq_refuses_is_set_aside_and_does_not_block_the_others(app, tenants, redis_url):
    acme, _ = tenants
    with app.app_context(), agency_scope(acme.agency_id):
        # Written past the helper's checks, as a bug or an old row might be.
        db.session.add(
            OutboxMessage(kind="job", queue="trust", name="tests.jobs.note_job_ran",
                          payload={"note": "poison"}, job_id="not:allowed")
        )  # fmt: skip
        db.session.commit()
    record_job(app, acme, "healthy")
    assert relay_once(app) == 1
    assert Queue("trust", connection=Redis.from_url(redis_url)).count == 1
    with app.app_context(), system_scope():
        poison = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.job_id == "not:allowed")
        )
        assert (poison.relayed_at, poison.attempts) == (None, 1)
        assert poison.last_error
        db.session.rollback()
    for _ in range(7):
        relay_once(app)
    with app.app_context(), system_scope():
        attempts = db.session.scalar(
            select(OutboxMessage.attempts).where(OutboxMessage.job_id == "not:allowed")
        )
        db.session.rollback()
    assert attempts == MAX_ATTEMPTS  # set aside after five refusals, not retried for ever


def eventually(condition, seconds: float = 10):
    """`condition()` once it is true, polled every 50 ms; None if it never was within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.05)
    return None


@pytest.mark.postgresql_only
def test_a_job_notifies_the_relay_when_its_transaction_commits_and_only_then(
    app, tenants, database_url
):
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as listener:
        listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        record_job(app, tenants[0], "rolled back", commit=False)
        assert list(listener.notifies(timeout=0.5)) == []
        with app.app_context(), agency_scope(tenants[0].agency_id):
            enqueue_after_commit(NOTE_JOB_RAN, note="first")
            enqueue_after_commit(NOTE_JOB_RAN, note="second")
            db.session.flush()  # the rows are written, the transaction is open
            assert list(listener.notifies(timeout=0.5)) == []
            db.session.commit()
        woken = list(listener.notifies(timeout=5))
    assert [n.channel for n in woken] == [NOTIFY_CHANNEL]  # one for the transaction, not per row


@pytest.fixture
def listening_relay(app, service_env):
    """A relay process that polls once a minute, and the pid of its listening connection: only a
    notification can make it relay a job within seconds."""
    relay = subprocess.Popen(
        [sys.executable, "-m", "workers", "--role", "relay", "--poll", "60"],
        cwd=repo_root(), env=service_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        pid = eventually(lambda: listener_pid(app), seconds=30)
        assert pid, "the relay did not listen within 30 s"
        yield relay
    finally:
        stop_process(relay)


def listener_pid(app) -> int | None:
    with psycopg.connect(app.config["ADMIN_DATABASE_URL"], autocommit=True) as admin:
        row = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'reputation-relay'"
            " AND query = %s AND state = 'idle'",
            [f"LISTEN {NOTIFY_CHANNEL}"],
        ).fetchone()
    return row[0] if row else None


@pytest.mark.postgresql_only
def test_a_listening_relay_moves_a_committed_job_long_before_its_next_poll(
    app, tenants, listening_relay
):
    time.sleep(0.5)  # past the pass that follows the relay's LISTEN: now it waits on its poll
    record_job(app, tenants[0], "wakes the relay")
    assert eventually(lambda: pending(app) == 0), "the job waited for the poll"


@pytest.mark.postgresql_only
def test_the_relay_listens_again_after_its_connection_is_terminated_and_loses_no_job(
    app, tenants, listening_relay
):
    killed = listener_pid(app)
    with psycopg.connect(app.config["ADMIN_DATABASE_URL"], autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [killed])
    # Committed while the relay has no listening connection: the pass after it listens again
    # finds it.
    record_job(app, tenants[0], "during the gap")
    assert eventually(lambda: pending(app) == 0), "the job committed in the gap was not relayed"
    again = eventually(lambda: (pid := listener_pid(app)) != killed and pid)
    assert again, "the relay did not listen again"
    time.sleep(0.5)
    record_job(app, tenants[0], "after the gap")
    assert eventually(lambda: pending(app) == 0), "the new connection did not wake the relay"
    assert Queue("trust", connection=Redis.from_url(app.config["REDIS_URL"])).count == 2

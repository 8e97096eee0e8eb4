"""Faults: Redis gone while evidence is written, a work horse killed mid-job. Nothing is lost:
the writes succeed, and every recompute happens once the parts are back."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from redis import Redis
from rq.job import Job

from reputation import clock
from tests.conftest import login, repo_root, stop_process
from tests.factories import PASSWORD


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_redis(port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(100):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return server
        time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def wait_until_assessed(api, contractor_ids, seconds=90) -> dict[str, dict]:
    deadline = time.monotonic() + seconds
    while True:
        found = {c: api.get(f"contractors/{c}/assessment").json for c in contractor_ids}
        if not any(a["pending"] for a in found.values()) or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


@pytest.fixture
def private_redis():
    """A Redis of this test's own, to stop and start without disturbing the others."""
    port = free_port()
    server = start_redis(port)
    state = {"server": server, "port": port}
    yield state
    state["server"].terminate()
    state["server"].wait()


def start_workers(service_env, redis_port: int) -> subprocess.Popen[bytes]:
    env = {**service_env, "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0"}
    return subprocess.Popen(
        [sys.executable, "-m", "workers", "--workers", "1", "--poll", "0.05"],
        cwd=repo_root(), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def test_writes_during_a_redis_outage_are_all_recomputed_once_it_is_back(
    app, tenants, service_env, private_redis
):
    recruiter = login(app, "acme", "recruiter@acme.test", PASSWORD)
    workers = start_workers(service_env, private_redis["port"])
    try:
        private_redis["server"].terminate()
        private_redis["server"].wait()
        contractors = []
        for name in ("Ana", "Ben", "Cy"):
            contractor = recruiter.post("contractors", {"name": name}).json
            written = recruiter.post(
                f"contractors/{contractor['id']}/events",
                {"kind": "ghosting", "occurred_at": (clock.now() - timedelta(days=2)).isoformat(),
                 "summary": "Gone during the outage"},
            )  # fmt: skip
            assert written.status_code == 201
            contractors.append(contractor["id"])
        time.sleep(1)
        private_redis["server"] = start_redis(private_redis["port"])
        assessed = wait_until_assessed(recruiter, contractors)
        assert not any(a["pending"] for a in assessed.values()), assessed
        assert {a["band"] for a in assessed.values()} == {"caution"}
    finally:
        stop_process(workers)


def children_of(pid: int) -> list[int]:
    path = f"/proc/{pid}/task/{pid}/children"
    with open(path) as listing:
        return [int(child) for child in listing.read().split()]


def test_a_work_horse_killed_mid_recompute_is_retried(app, tenants, service_env, private_redis):
    from reputation import jobs
    from reputation.conduct.service import record_event
    from reputation.contractors.service import create_contractor
    from reputation.extensions import db
    from reputation.outbox.service import enqueue_after_commit
    from reputation.tenancy.scope import agency_scope

    # Enough evidence that one recompute takes a while: a window to kill it in.
    with app.app_context(), agency_scope(tenants[0].agency_id):
        contractor = create_contractor("Many Incidents")
        for i in range(400):
            record_event(contractor, {
                "kind": "costly_mistake", "severity": 4, "summary": f"Incident {i}",
                "occurred_at": clock.now() - timedelta(days=400 - i),
            })  # fmt: skip
        contractor_id = str(contractor.id)
        # A recompute in a batch, as the nightly sweep queues it: batches run in a forked work
        # horse (a contractor's own recompute runs in a trust worker, which forks none).
        enqueue_after_commit(
            jobs.RECOMPUTE_CONTRACTORS, job_id="batch", contractor_ids=[contractor_id]
        )
        db.session.commit()
    env = {**service_env, "REDIS_URL": f"redis://127.0.0.1:{private_redis['port']}/0"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "workers", "--role", "worker"],
        cwd=repo_root(), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    relay = None
    try:
        # RQ's scheduler, a child of the worker, starts once the worker holds its queues' locks:
        # only a child that comes after it is the work horse.
        redis = Redis(port=private_redis["port"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
            redis.keys("rq:scheduler-lock:*") and children_of(worker.pid)
        ):
            time.sleep(0.05)
        before = set(children_of(worker.pid))
        relay = subprocess.Popen(
            [sys.executable, "-m", "workers", "--role", "relay", "--poll", "0.05"],
            cwd=repo_root(), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        job_id = f"{tenants[0].agency_id}-batch"
        # Kill the work horse once it has the job, however long the relay and the fork took.
        deadline = time.monotonic() + 60
        horses: list[int] = []
        while not horses and time.monotonic() < deadline:
            time.sleep(0.02)
            if redis.exists(f"rq:job:{job_id}") and Job.fetch(job_id, redis).get_status() == (
                "started"
            ):
                horses = [pid for pid in children_of(worker.pid) if pid not in before]
        assert horses, "the job did not start within 60 s"
        os.kill(horses[0], signal.SIGKILL)
        recruiter = login(app, "acme", "recruiter@acme.test", PASSWORD)
        assessed = wait_until_assessed(recruiter, [contractor_id], seconds=120)
        assert assessed[contractor_id]["pending"] is False
        assert Job.fetch(job_id, redis).retries_left == 3  # the killed run was one of four
    finally:
        stop_process(worker)
        if relay is not None:
            stop_process(relay)

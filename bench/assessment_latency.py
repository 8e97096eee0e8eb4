"""From an event's HTTP 201 to the new assessment being readable, under load, and where it goes.

    .venv/bin/python bench/assessment_latency.py [--clients 4] [--seconds 10] [--rounds 2]

gunicorn (deploy config) and `python -m workers --workers 2` on a fresh PostgreSQL database and
the Redis database of BENCH_REDIS_URL. Each client posts an event for a random contractor, then
reads its assessment once RQ says the recompute ended (then every 20 ms) until it is no longer
pending and was computed after the 201.
Each figure is measured both ways in the same run, with the relay listening for commits
(PostgreSQL NOTIFY) and with the relay polling every `--poll` seconds only, in `--rounds` turns
added up, each after 5 s of the same load to warm every process up (not counted).

The breakdown of each assessment comes from the outbox row (written, in the request, before its
commit), RQ's job (enqueued, started, ended) and the client (201, seen). Beside it, in the same
run: the ceilings, a bare NOTIFY -> wake round trip between two connections, and the same
pipeline with a no-op job (the recompute of a contractor that does not exist) at the same
concurrency; and the recompute of one contractor alone, in this process.
Target (issue #12, part 4): p99 under 300 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import subprocess
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
import redis
from common import (
    PG_ADMIN,
    REDIS_URL,
    ROOT,
    fresh_database,
    percentile,
    run_clients,
    service_env,
    start_web,
    stop,
)

BODY = {
    "kind": "broken_commitment",
    "occurred_at": "2025-02-03T10:00:00Z",
    "summary": "Promised the report for Friday; it came the next Wednesday",
}
# The stages of one assessment, each the time between two of its moments.
STAGES = (
    # The rest of the request up to its commit (nothing for a no-op job, committed at once), the
    # relay's wake, its claim and its enqueue.
    ("written -> in RQ", "written", "enqueued"),
    ("in RQ -> job started", "enqueued", "started"),  # waiting for a free trust worker
    ("job run", "started", "ended"),  # the job, its commit and RQ's bookkeeping
    ("job ended -> seen", "ended", "seen"),  # the client's poll and GET
)
Moments = dict[str, float]


def seed(app: Any, contractors: int) -> tuple[str, list[str], str]:
    """An agency (no webhook endpoint), a key with the write scope, its contractors' ids."""
    from reputation.contractors.service import create_contractor
    from reputation.extensions import db
    from reputation.tenancy import service
    from reputation.tenancy.scope import agency_scope

    with app.app_context():
        agency = service.create_agency("Bench", "bench", "owner@bench.test", "a long password!")
        with agency_scope(agency.id):
            key = service.create_api_key("bench", ["write"]).secret
            ids = [str(create_contractor(f"Contractor {i}").id) for i in range(contractors)]
        agency_id = str(agency.id)
        db.session.commit()
    return key, ids, agency_id


def job_moments(connection: redis.Redis, job_id: str) -> Moments | None:
    """When RQ enqueued, started and ended the job (epoch seconds), if it has ended."""
    fields = connection.hmget(f"rq:job:{job_id}", "enqueued_at", "started_at", "ended_at")
    if not all(fields):
        return None
    return dict(zip(("enqueued", "started", "ended"), map(epoch, fields), strict=True))


def epoch(moment: bytes | str | datetime) -> float:
    if isinstance(moment, bytes):
        moment = moment.decode()
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def wait_for_job(connection: redis.Redis, job_id: str, after: float) -> None:
    """Until the job enqueued after `after` (less a margin: the relay may beat the 201 back to
    the client) has ended, or 30 s. Watching RQ costs the service nothing, where polling its API
    every few ms would load the very processes being measured; the assessment is then read
    over HTTP all the same."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        moments = job_moments(connection, job_id)
        if (
            moments
            and moments["enqueued"] >= after - 0.5
            and moments["ended"] >= moments["started"]
        ):
            return
        time.sleep(0.002)


def outbox_written(admin: psycopg.Connection, job_id: str) -> float:
    """When the newest outbox row of this job id was written."""
    row = admin.execute(
        "SELECT max(created_at) FROM outbox_messages WHERE job_id = %s", [job_id]
    ).fetchone()
    return epoch(row[0])


def client(
    port: int, key: str, agency_id: str, admin_url: str, contractors: list[str], seconds: float,
    out: list[Moments],
) -> None:  # fmt: skip
    """Post an event, wait for its assessment, record the moments of it; until `seconds`."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    jobs = redis.Redis.from_url(REDIS_URL)
    admin = psycopg.connect(admin_url, autocommit=True)

    def call(method: str, path: str, body: str | None = None) -> tuple[int, dict]:
        nonlocal connection
        for _ in range(3):
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                return response.status, json.loads(response.read() or b"{}")
            except (OSError, http.client.HTTPException):  # a reset, a timeout while it boots
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        raise SystemExit("the server stopped answering")

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        contractor = random.choice(contractors)
        status, _ = call("POST", f"/api/v1/contractors/{contractor}/events", json.dumps(BODY))
        if status != 201:
            raise SystemExit(f"unexpected {status}")
        accepted = time.time()
        job_id = f"recompute-{contractor}"
        wait_for_job(jobs, f"{agency_id}-{job_id}", accepted)
        while True:
            _, assessment = call("GET", f"/api/v1/contractors/{contractor}/assessment")
            computed = assessment.get("computed_at")
            if not assessment["pending"] and computed and epoch(computed) >= accepted:
                seen = time.time()
                break
            if time.time() - accepted > 30:
                raise SystemExit("no assessment within 30 s")
            time.sleep(0.02)
        moments = job_moments(jobs, f"{agency_id}-{job_id}")
        if moments is not None:
            written = outbox_written(admin, job_id)
            out.append({**moments, "written": written, "accepted": accepted, "seen": seen})
    admin.close()


def noop_client(app: Any, agency_id: str, seconds: float, out: list[Moments]) -> None:
    """The same pipeline with a job that finds nothing to do: commit it, wait until it ended."""
    from reputation import jobs
    from reputation.extensions import db
    from reputation.outbox.service import enqueue_after_commit
    from reputation.tenancy.scope import agency_scope

    connection = redis.Redis.from_url(REDIS_URL)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        missing = uuid.uuid4()
        with app.app_context(), agency_scope(uuid.UUID(agency_id)):
            message = enqueue_after_commit(
                jobs.RECOMPUTE_CONTRACTOR, job_id=f"noop-{missing}", contractor_id=str(missing)
            )
            db.session.commit()
            written = epoch(message.created_at)
        started = time.monotonic()
        while (moments := job_moments(connection, f"{agency_id}-noop-{missing}")) is None:
            if time.monotonic() - started > 30:
                raise SystemExit("no-op job not done within 30 s")
            time.sleep(0.005)
        out.append({**moments, "written": written})


def notify_round_trips(database_url: str, count: int) -> list[float]:
    """A commit that NOTIFYs, to the listening connection's wake: the floor of any relay."""
    url = database_url.replace("+psycopg", "")
    delays = []
    with psycopg.connect(url, autocommit=True) as listener, psycopg.connect(url) as writer:
        listener.execute("LISTEN bench")
        for _ in range(count):
            writer.execute("SELECT pg_notify('bench', '')")
            started = time.perf_counter()
            writer.commit()
            next(listener.notifies(timeout=5, stop_after=1))
            delays.append(time.perf_counter() - started)
            time.sleep(0.01)
    return delays


def recompute_costs(app: Any, agency_id: str, contractors: list[str]) -> list[float]:
    """One contractor's recompute and commit, in this process, for contractors with evidence."""
    from reputation.contractors.models import Contractor
    from reputation.extensions import db
    from reputation.scoring import service as scoring
    from reputation.tenancy.scope import agency_scope

    costs = []
    with app.app_context(), agency_scope(uuid.UUID(agency_id)):
        for contractor_id in contractors:
            contractor = db.session.get(
                Contractor, (uuid.UUID(agency_id), uuid.UUID(contractor_id))
            )
            started = time.perf_counter()
            scoring.recompute(contractor)
            db.session.commit()
            costs.append(time.perf_counter() - started)
        db.engine.dispose()
    return costs


def start_workers(env: dict[str, str], poll: float, listen: bool) -> subprocess.Popen[bytes]:
    command = [str(ROOT / ".venv/bin/python"), "-m", "workers", "--workers", "2"]
    command += ["--poll", str(poll), *([] if listen else ["--no-listen"])]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def measure(
    env: dict[str, str], listen: bool, args: argparse.Namespace, full: Callable[[float], list],
    noop: Callable[[float], list],
) -> tuple[list[Moments], list[Moments]]:  # fmt: skip
    """Both pipelines with the relay listening or polling; workers started for this alone."""
    workers = start_workers(env, args.poll, listen)
    try:
        time.sleep(4)  # the workers are up
        full(5)  # warm up: every process's first job and request pays for its imports and caches
        return full(args.seconds), noop(args.seconds / 2)
    finally:
        stop(workers)


def ms(values: list[float], fraction: float) -> str:
    return f"{percentile(values, fraction) * 1000:6.0f}" if values else "     -"


def stages(samples: list[Moments]) -> dict[str, list[float]]:
    """Each stage's durations, of the stages these samples have both ends of."""
    return {
        name: [s[end] - s[start] for s in samples]
        for name, start, end in STAGES
        if samples and start in samples[0] and end in samples[0]
    }


def report(label: str, full: list[Moments], noop: list[Moments]) -> None:
    total = [s["seen"] - s["accepted"] for s in full]
    print(f"\nrelay {label}: {len(full):,} assessments, {len(noop):,} no-op jobs")
    print(f"  {'ms':26} {'p50':>6} {'p99':>6}   no-op job: {'p50':>6} {'p99':>6}")
    noop_stages = stages(noop)
    for name, values in stages(full).items():
        theirs = noop_stages.get(name, [])
        print(f"  {name:26} {ms(values, 0.5)} {ms(values, 0.99)}              "
              f"{ms(theirs, 0.5)} {ms(theirs, 0.99)}")  # fmt: skip
    written_to_ended = [s["ended"] - s["written"] for s in full]
    noop_total = [s["ended"] - s["written"] for s in noop]
    print(f"  {'written -> job ended':26} {ms(written_to_ended, 0.5)} "
          f"{ms(written_to_ended, 0.99)}              {ms(noop_total, 0.5)} "
          f"{ms(noop_total, 0.99)}")  # fmt: skip
    print(f"  {'201 -> assessment seen':26} {ms(total, 0.5)} {ms(total, 0.99)}")
    if noop_total:
        ratio = percentile(written_to_ended, 0.99) / percentile(noop_total, 0.99)
        print(f"  written -> job ended, p99 / no-op p99: {ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10, help="of each round and way")
    parser.add_argument("--poll", type=float, default=0.2, help="the relay's poll, seconds")
    parser.add_argument("--rounds", type=int, default=2, help="of each way, in turn")
    parser.add_argument("--port", type=int, default=8798)
    args = parser.parse_args()
    redis.Redis.from_url(REDIS_URL).flushdb()
    from reputation.app import create_app
    from reputation.config import TestConfig

    with fresh_database() as database_url:
        admin_url = PG_ADMIN.rsplit("/", 1)[0] + "/" + database_url.rsplit("/", 1)[1]
        app = create_app(
            TestConfig, {"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": REDIS_URL}
        )
        key, contractors, agency_id = seed(app, 200)
        env = service_env(database_url)
        web = start_web(env, args.port)
        common = (args.port, key, agency_id, admin_url, contractors)

        def full(seconds: float) -> list:
            return run_clients(args.clients, client, *common, seconds)

        def noop(seconds: float) -> list:
            return run_clients(args.clients, noop_client, app, agency_id, seconds)

        try:
            # Rounds in turn, added up, so that other work on the machine weighs on both alike.
            listening: tuple[list[Moments], list[Moments]] = ([], [])
            polling: tuple[list[Moments], list[Moments]] = ([], [])
            for _ in range(args.rounds):
                for listen, samples in ((True, listening), (False, polling)):
                    full_samples, noop_samples = measure(env, listen, args, full, noop)
                    samples[0].extend(full_samples)
                    samples[1].extend(noop_samples)
            round_trips = notify_round_trips(database_url, 200)
            costs = recompute_costs(app, agency_id, random.sample(contractors, 50))
        finally:
            stop(web)
    print(f"clients: {args.clients} (each: post an event, wait for its assessment), "
          f"{args.rounds} x {args.seconds:.0f} s each way; relay poll {args.poll} s")  # fmt: skip
    report("listening (NOTIFY, poll as fallback)", *listening)
    report(f"polling every {args.poll} s", *polling)
    print(f"\nceiling: bare NOTIFY -> wake, p50 {ms(round_trips, 0.5).strip()} ms, "
          f"p99 {ms(round_trips, 0.99).strip()} ms")  # fmt: skip
    print(f"one recompute and commit, in process: p50 {ms(costs, 0.5).strip()} ms, "
          f"p99 {ms(costs, 0.99).strip()} ms")  # fmt: skip
    seen = [[s["seen"] - s["accepted"] for s in run[0]] for run in (listening, polling)]
    print(f"201 -> assessment seen, listening / polling: "
          f"p50 {percentile(seen[0], 0.5) / percentile(seen[1], 0.5):.2f}, "
          f"p99 {percentile(seen[0], 0.99) / percentile(seen[1], 0.99):.2f}")  # fmt: skip


if __name__ == "__main__":
    main()

"""Conduct events posted over HTTP under wrk, beside the floor of such a write, in one run.

    .venv/bin/python bench/events_http.py [--connections 8] [--seconds 15] [--rounds 2]

On a fresh PostgreSQL database (one agency, an API key with the write scope, 200 contractors and
a webhook endpoint that wants every event, so each event fans out one webhook message; no relay
or worker runs), starts two gunicorns with deploy/gunicorn.conf.py: the service, and the floor
(bench/floor_app.py: bare Flask and psycopg, which hashes the key, looks it up under the same
row-level security as the same role and INSERTs the event, nothing else). wrk POSTs the same
events to both, with a Lua script that sends the key and rotates over the contractors, at
`--connections`; then GET /healthz of each (no database, no credentials: what the service's
request handling costs before any work, and what bare Flask's does). Each round runs the four in
turn for `--seconds` each, and the rounds are added up (the worst p99 of them is shown), so that
other work on the machine weighs on both sides alike. The ratio is each rate over the floor's
events/s. CPU per request (gunicorn's workers and the database's PostgreSQL backends, from
/proc) moves less than the rates when the machine is busy. Before the load, one event is posted
in-process on a pooled connection with libpq's trace on, to count the round trips an event costs
the service (BEGIN and COMMIT included), and the rows it wrote.
Target (issue 12): events at least 0.5x the floor, p99 under 50 ms, at 8 connections.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import redis
from common import (
    PG_ADMIN,
    REDIS_URL,
    ROOT,
    fresh_database,
    service_app,
    service_env,
    start_web,
    stop,
)
from portal import Service, cpu_seconds, database_name

BODY = {
    "kind": "broken_commitment",
    "occurred_at": "2025-02-03T10:00:00Z",
    "summary": "Promised the report for Friday; it came the next Wednesday",
}
# Every row an event adds, beside the event's own: the audit row, the outbox's event and
# recompute job, and the webhook message.
WRITTEN = ("conduct_events", "audit_entries", "outbox_messages", "webhook_messages")

WRK_SCRIPT = """
local ids = {%(ids)s}
local body = [[%(body)s]]
local threads = {}

function setup(thread)
  thread:set("offset", #threads * 7919)
  table.insert(threads, thread)
end

local headers = {["Authorization"] = "Bearer %(key)s", ["Content-Type"] = "application/json"}

function init(args)
  bad, n = 0, offset
end

function request()
  n = n + 1
  if %(post)s then
    local path = "/api/v1/contractors/" .. ids[(n %% #ids) + 1] .. "/events"
    return wrk.format("POST", path, headers, body)
  end
  return wrk.format("GET", "/healthz")
end

function response(status, headers, body)
  if status ~= %(expected)d then bad = bad + 1 end
end

function done(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do failed = failed + thread:get("bad") end
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d\\n", summary.requests,
    summary.duration, latency:percentile(50), latency:percentile(99), latency.max, failed))
end
"""


def seed(database_url: str, contractors: int) -> tuple[str, list[str]]:
    """The agency, its key (the secret), its contractors' ids and a webhook endpoint."""
    from reputation.contractors.service import create_contractor
    from reputation.extensions import db
    from reputation.tenancy import service
    from reputation.tenancy.scope import agency_scope
    from reputation.webhooks.service import create_endpoint

    app = service_app(database_url)
    with app.app_context():
        agency = service.create_agency("Bench", "bench", "owner@bench.test", "a long password!")
        with agency_scope(agency.id):
            key = service.create_api_key("bench", ["write"]).secret
            ids = [str(create_contractor(f"Contractor {i}").id) for i in range(contractors)]
            # Never called: no relay runs, as in the measurement (workers idle).
            create_endpoint({"url": "http://127.0.0.1:9/hook", "event_types": []})
        db.session.commit()
        db.engine.dispose()
    return key, ids


def round_trips(database_url: str, key: str, contractor: str) -> tuple[int, dict[str, int]]:
    """One event posted in-process through the service's app, on a pooled connection (as under
    gunicorn) with libpq's trace on: the round trips it took (each simple query or Sync the
    client sent, the pool's pre-ping included) and the rows it added to each table of WRITTEN."""
    from sqlalchemy import event

    from reputation.extensions import db

    app = service_app(database_url)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    path = f"/api/v1/contractors/{contractor}/events"
    with tempfile.NamedTemporaryFile("w+b", suffix=".trace") as trace, app.app_context():

        def traced(dbapi_connection: Any, record: Any) -> None:
            dbapi_connection.pgconn.trace(trace.fileno())

        db.engine.dispose()
        event.listen(db.engine, "connect", traced)
        client.post(path, json=BODY, headers=headers)  # opens the connection; warms caches
        before = _counts(database_url)
        started = datetime.now()  # libpq stamps its trace in local time
        response = client.post(path, json=BODY, headers=headers)
        db.engine.dispose()  # closes the traced connection, which flushes its trace
        event.remove(db.engine, "connect", traced)
        sent = Path(trace.name).read_text(errors="replace")
    if response.status_code != 201:
        raise SystemExit(f"the event answered {response.status_code}: {response.get_data()!r}")
    after = _counts(database_url)
    trips = [
        stamp
        for stamp in re.findall(r"^(\S+ \S+)\tF\t\d+\t(?:Query|Sync)\b", sent, re.M)
        if datetime.fromisoformat(stamp) >= started
    ]
    return len(trips), {table: after[table] - before[table] for table in WRITTEN}


def _counts(database_url: str) -> dict[str, int]:
    """The rows of each table of WRITTEN, as the administrator (above row-level security)."""
    with psycopg.connect(PG_ADMIN, dbname=database_name(database_url)) as connection:
        return {
            table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in WRITTEN
        }


def start_floor(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """bench/floor_app.py under gunicorn with the service's configuration."""
    floor = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-c", "deploy/gunicorn.conf.py", "--bind",
         f"127.0.0.1:{port}", "--access-logfile", "/dev/null", "--pythonpath", "bench",
         "floor_app:app"],
        cwd=ROOT, env=env, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(100):
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/healthz")
            return floor
        except OSError:
            time.sleep(0.1)
    return floor


def wrk(service: Service, script: str, seconds: float, connections: int) -> dict[str, float]:
    """wrk with `script` against `service`: requests/s, p50/p99 and max in ms, answers not as
    expected, and the CPU milliseconds a request cost gunicorn and PostgreSQL."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    command = ["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d",
               f"{seconds:g}s", "--timeout", "10s", "-s", file.name,
               f"http://127.0.0.1:{service.port}"]  # fmt: skip
    before = cpu_seconds(service)
    finished = subprocess.run(command, capture_output=True, text=True)
    output = finished.stdout
    after = cpu_seconds(service)
    Path(file.name).unlink()
    found = re.search(r"^RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$", output, re.M)
    if found is None:
        raise SystemExit(f"wrk printed no result:\n{output}{finished.stderr}")
    requests, duration, p50, p99, longest, failed = map(int, found.groups())
    cpu = sum(used - before.get(pid, 0.0) for pid, used in after.items())
    return {"requests": requests, "seconds": duration / 1e6, "failed": failed,
            "p50": p50 / 1000, "p99": p99 / 1000, "max": longest / 1000,
            "cpu": cpu * 1000 / max(requests, 1)}  # fmt: skip


def script(key: str, ids: list[str], post: bool) -> str:
    return WRK_SCRIPT % {
        "ids": ", ".join(f'"{i}"' for i in ids), "body": json.dumps(BODY), "key": key,
        "post": "true" if post else "false", "expected": 201 if post else 200,
    }  # fmt: skip


def combined(runs: list[dict[str, float]]) -> dict[str, float]:
    """The rounds of one target added up: its rate over all of them, its worst p99."""
    requests = sum(run["requests"] for run in runs)
    return {
        "rate": requests / sum(run["seconds"] for run in runs),
        "p50": max(run["p50"] for run in runs),
        "p99": max(run["p99"] for run in runs),
        "failed": sum(run["failed"] for run in runs),
        "cpu": sum(run["cpu"] * run["requests"] for run in runs) / max(requests, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15, help="of wrk, a target a round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--port", type=int, default=8813, help="the service's; the floor's +1")
    args = parser.parse_args()
    redis.Redis.from_url(REDIS_URL).flushdb()
    with fresh_database() as database_url:
        key, ids = seed(database_url, 200)
        trips, rows = round_trips(database_url, key, ids[0])
        env = service_env(database_url)
        server = start_web(env, args.port)
        floor = start_floor(env, args.port + 1)
        database = database_name(database_url)
        floor_service = Service(args.port + 1, floor.pid, database)
        service = Service(args.port, server.pid, database)
        targets = {
            "floor: POST events": (floor_service, True),
            "service: POST events": (service, True),
            "service: GET /healthz": (service, False),
            "floor: GET /healthz": (floor_service, False),
        }
        try:
            for target, post in targets.values():  # warm every worker and connection
                wrk(target, script(key, ids, post), 2, args.connections)
            load = os.getloadavg()[0]
            runs: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
            for _ in range(args.rounds):
                for name, (target, post) in targets.items():
                    runs[name].append(
                        wrk(target, script(key, ids, post), args.seconds, args.connections)
                    )
            load = max(load, os.getloadavg()[0])
        finally:
            stop(server, floor)
    results = {name: combined(done) for name, done in runs.items()}
    floor_rate = results["floor: POST events"]["rate"]
    print(f"wrk:       {args.connections} connections, {args.rounds} rounds of {args.seconds:g} s"
          f" a target; load average {load:.1f} on {os.cpu_count()} cores")  # fmt: skip
    print(f"an event:  {trips} round trips to PostgreSQL; rows added: "
          + ", ".join(f"{table} {count}" for table, count in rows.items()))  # fmt: skip
    print(f"{'target':<24}{'req/s':>9}{'p50':>8}{'p99':>8} ms{'/floor':>9}{'cpu/request':>14}")
    for name, result in results.items():
        failed = f"  ({result['failed']:,} unexpected answers!)" if result["failed"] else ""
        print(f"{name:<24}{result['rate']:>9,.1f}{result['p50']:>8.1f}{result['p99']:>8.1f}   "
              f"{result['rate'] / floor_rate:>9.2f}{result['cpu']:>11.1f} ms{failed}")  # fmt: skip
    events = results["service: POST events"]
    print(
        f"events / floor: {events['rate'] / floor_rate:.2f}x, p99 {events['p99']:.1f} ms "
        "(target: at least 0.5x, p99 under 50 ms)"
    )


if __name__ == "__main__":
    main()

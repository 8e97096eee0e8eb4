"""Events posted over HTTP through gunicorn against PostgreSQL, beside the INSERT ceiling.

    .venv/bin/python bench/events_http.py [--clients 8] [--seconds 20]

Starts gunicorn with deploy/gunicorn.conf.py on a fresh database, then `--clients` threads each
POST conduct events (API key, keep-alive) for `--seconds`, and prints events/second and the
p50/p99 latency. Beside it, the same clients GET /healthz (no database, no auth): what the
HTTP stack alone serves here, the ceiling of any endpoint. The INSERT ceiling: the same number of
psycopg connections each INSERTing one row of conduct_events per transaction, as fast as they can
(PostgreSQL's single-row INSERT rate here).
Target (issue 3): at least 25% of the ceiling, p99 under 50 ms, at 8 clients.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sys
import threading
import time
import uuid

import psycopg
from common import (
    REDIS_URL,
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


def seed(database_url: str, contractors: int) -> tuple[str, list[str], str]:
    from reputation.app import create_app
    from reputation.config import TestConfig
    from reputation.contractors.service import create_contractor
    from reputation.extensions import db
    from reputation.tenancy import service
    from reputation.tenancy.scope import agency_scope

    app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": REDIS_URL})
    with app.app_context():
        agency = service.create_agency("Bench", "bench", "owner@bench.test", "a long password!")
        with agency_scope(agency.id):
            key = service.create_api_key("bench", ["write"]).secret
            ids = [str(create_contractor(f"Contractor {i}").id) for i in range(contractors)]
        agency_id = str(agency.id)
        db.session.commit()
        db.engine.dispose()
    return key, ids, agency_id


def post_events(
    port: int, key: str, contractors: list[str], seconds: float, out: list[float]
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    body = json.dumps(BODY)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        path = f"/api/v1/contractors/{random.choice(contractors)}/events"
        started = time.perf_counter()
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
        except (ConnectionError, http.client.HTTPException):
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            continue
        if response.status != 201:
            raise SystemExit(f"unexpected {response.status}")
        out.append(time.perf_counter() - started)


def get_healthz(port: int, seconds: float, out: list[float]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        connection.request("GET", "/healthz")
        connection.getresponse().read()
        out.append(time.perf_counter() - started)


def insert_ceiling(
    database_url: str, agency_id: str, contractors: list[str], clients: int, seconds: float
) -> float:
    url = database_url.replace("+psycopg", "")
    counts = [0] * clients

    def insert(index: int) -> None:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("SELECT set_config('app.agency_id', %s, false)", [agency_id])
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                connection.execute(
                    "INSERT INTO conduct_events (agency_id, id, contractor_id, kind, valence, "
                    "severity, occurred_at, recorded_at, summary, details, evidence_urls, source, "
                    "status, recorded_by_type, recorded_by) VALUES (%s, %s, %s, 'rudeness', "
                    "'negative', 2, now(), now(), 'x', '', '[]', 'agency', 'active', 'system', "
                    "'bench')",
                    [agency_id, uuid.uuid4(), random.choice(contractors)],
                )
                counts[index] += 1

    threads = [threading.Thread(target=insert, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--port", type=int, default=8799)
    args = parser.parse_args()
    with fresh_database() as database_url:
        key, contractors, agency_id = seed(database_url, 200)
        server = start_web(service_env(database_url), args.port)
        try:
            post_events(args.port, key, contractors, 2, [])  # warm up every worker
            every = run_clients(
                args.clients, post_events, args.port, key, contractors, args.seconds
            )
            bare = run_clients(args.clients, get_healthz, args.port, args.seconds / 2)
        finally:
            stop(server)
        rate = len(every) / args.seconds
        ceiling = insert_ceiling(
            database_url, agency_id, contractors, args.clients, args.seconds / 2
        )
        single = insert_ceiling(database_url, agency_id, contractors, 1, args.seconds / 2)
        print(f"clients:             {args.clients}")
        print(
            f"events over HTTP:    {rate:,.0f}/s  (p50 {percentile(every, 0.5) * 1000:.1f} ms, "
            f"p99 {percentile(every, 0.99) * 1000:.1f} ms, {len(every):,} requests)"
        )
        print(
            f"GET /healthz:        {len(bare) / (args.seconds / 2):,.0f}/s  "
            f"(p50 {percentile(bare, 0.5) * 1000:.1f} ms; the HTTP stack alone)"
        )
        print(
            f"INSERT ceiling:      {ceiling:,.0f}/s  "
            f"({args.clients} psycopg connections, one row per transaction)"
        )
        print(f"  one connection:    {single:,.0f}/s")
        print(
            f"share of ceiling:    {rate / ceiling:.0%} ({rate / single:.0%} of one connection's)"
        )


if __name__ == "__main__":
    sys.exit(main())

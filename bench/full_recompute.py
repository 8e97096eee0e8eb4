"""The nightly sweep over a large agency, beside the time to just read its rows.

    .venv/bin/python bench/full_recompute.py [--contractors 2000] [--events-each 10]

Seeds a fresh PostgreSQL database with one agency of `--contractors` contractors and
`--events-each` conduct events each (kinds, valences and dates spread over three years), times
`COPY … TO STDOUT` of those rows (the ceiling: reading them and nothing more), then enqueues the
nightly sweep and times `python -m workers --workers 2` until every contractor has a fresh
snapshot and trajectory. Target (issue 4): 100,000 contractors and 1,000,000 events within 3x of
the ceiling; smaller runs print the rate so the full size can be estimated.
"""

from __future__ import annotations

import argparse
import subprocess
import time

import psycopg
import redis
from common import REDIS_URL, ROOT, fresh_database, service_env

from reputation.trust.taxonomy import CONDUCT_KINDS

KINDS = list(CONDUCT_KINDS.values())


def seed(database_url: str, contractors: int, events_each: int) -> str:
    from reputation.app import create_app
    from reputation.config import TestConfig
    from reputation.extensions import db
    from reputation.tenancy import service

    app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": REDIS_URL})
    with app.app_context():
        agency = service.create_agency("Bench", "bench", "o@bench.test", "long password!")
        agency_id = str(agency.id)
        db.session.commit()
        db.engine.dispose()
    kinds = "ARRAY[" + ",".join(f"'{k.name}'" for k in KINDS) + "]"
    valences = "ARRAY[" + ",".join(f"'{k.valence.value}'" for k in KINDS) + "]"
    severities = "ARRAY[" + ",".join(str(k.default_severity) for k in KINDS) + "]"
    with psycopg.connect(database_url.replace("+psycopg", "")) as connection:
        # As the service's role: row-level security checks every row against the agency.
        connection.execute("SELECT set_config('app.agency_id', %s, false)", [agency_id])
        connection.execute(
            "INSERT INTO contractors (agency_id, id, name, status, created_at, updated_at, version)"
            " SELECT %s, gen_random_uuid(), 'Contractor ' || i, 'active', now(), now(), 1"
            " FROM generate_series(1, %s) AS i",
            [agency_id, contractors],
        )
        connection.execute(
            "INSERT INTO conduct_events (agency_id, id, contractor_id, kind, valence, severity,"
            " occurred_at, recorded_at, summary, details, evidence_urls, source, status,"
            " recorded_by_type, recorded_by)"
            f" SELECT %s, gen_random_uuid(), c.id, ({kinds})[k], ({valences})[k],"
            f" ({severities})[k], now() - (random() * 1095) * interval '1 day', now(),"
            " 'Seeded', '', '[]'::jsonb, 'agency', 'active', 'system', 'bench'"
            " FROM contractors c, generate_series(1, %s) AS e,"
            f" LATERAL (SELECT 1 + (abs(hashtext(c.id::text || e)) %% {len(KINDS)}) AS k) AS kind",
            [agency_id, events_each],
        )
        connection.commit()
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE contractors")
        connection.execute("VACUUM ANALYZE conduct_events")
    return agency_id


def copy_ceiling(database_url: str, agency_id: str) -> float:
    started = time.perf_counter()
    with psycopg.connect(database_url.replace("+psycopg", "")) as connection:
        connection.execute("SELECT set_config('app.agency_id', %s, false)", [agency_id])
        cursor = connection.cursor()
        for table in ("contractors", "conduct_events", "rehabilitation_steps"):
            with cursor.copy(f"COPY (SELECT * FROM {table}) TO STDOUT") as copy:
                for _ in copy:
                    pass
    return time.perf_counter() - started


def snapshots_since(database_url: str, agency_id: str, moment: float) -> int:
    with psycopg.connect(database_url.replace("+psycopg", "")) as connection:
        connection.execute("SELECT set_config('app.agency_id', %s, false)", [agency_id])
        row = connection.execute(
            "SELECT count(*) FROM trust_snapshots WHERE computed_at >= to_timestamp(%s)", [moment]
        ).fetchone()
        return int(row[0]) if row else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contractors", type=int, default=2000)
    parser.add_argument("--events-each", type=int, default=10)
    args = parser.parse_args()
    events = args.contractors * args.events_each
    connection = redis.Redis.from_url(REDIS_URL)
    connection.flushdb()
    with fresh_database() as database_url:
        agency_id = seed(database_url, args.contractors, args.events_each)
        ceiling = copy_ceiling(database_url, agency_id)
        workers = subprocess.Popen(
            [str(ROOT / ".venv/bin/python"), "-m", "workers", "--workers", "2",
             "--webhook-workers", "0"],
            cwd=ROOT, env=service_env(database_url),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            time.sleep(5)  # the workers are up
            from rq import Queue

            started_wall, started = time.time(), time.perf_counter()
            Queue("bulk", connection=connection).enqueue_call(
                func="workers.jobs.nightly_sweep", timeout=6 * 3600
            )
            while snapshots_since(database_url, agency_id, started_wall) < args.contractors:
                time.sleep(0.5)
            elapsed = time.perf_counter() - started
        finally:
            workers.terminate()
            workers.wait()
    print(f"agency:           {args.contractors:,} contractors, {events:,} events")
    print(f"COPY ceiling:     {ceiling:.2f} s (contractors, events and steps read out)")
    print(f"nightly sweep:    {elapsed:.1f} s ({args.contractors / elapsed:,.0f} contractors/s, "
          f"{events / elapsed:,.0f} events/s)")  # fmt: skip
    print(f"ratio:            {elapsed / ceiling:.0f}x the ceiling (target: within 3x)")


if __name__ == "__main__":
    main()

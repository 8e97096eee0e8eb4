"""The export of a large agency's events: rows per second and the exporting process's peak memory.

    .venv/bin/python bench/export_events.py [--events 1000000] [--format csv|jsonl]

Seeds, on a fresh PostgreSQL database, two agencies with a tenth of the events and all of them
(INSERT … SELECT over generate_series, as the service's role in each agency's scope, with
time-ordered ids like the service's own), then exports each with the real job function
(`workers.jobs.run_export`) in a child process. The same peak memory at both sizes shows that
memory does not grow with the data.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from common import REDIS_URL, ROOT, fresh_database

# A UUIDv7-like id from a row number: 48 bits of milliseconds, then md5 bits (reputation/ids.py).
TIME_ORDERED_ID = (
    "(substr(encode(int8send({ms} + i), 'hex'), 5, 12) || '7' || substr(md5(i::text), 1, 3)"
    " || '8' || substr(md5(i::text), 4, 15))::uuid"
)
EVENTS_PER_CONTRACTOR = 100


def seed(database_url: str, slug: str, events: int) -> str:
    """An agency with `events` events over events/100 contractors; its id."""
    from reputation.app import create_app
    from reputation.config import TestConfig
    from reputation.extensions import db
    from reputation.tenancy import service

    app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": REDIS_URL})
    with app.app_context():
        agency_id = str(
            service.create_agency("Bench", slug, f"o@{slug}.test", "a long password!").id
        )
        db.session.commit()
        db.engine.dispose()
    contractors = max(1, events // EVENTS_PER_CONTRACTOR)
    start_ms = int(time.time() * 1000) - 10 * events
    with psycopg.connect(database_url.replace("+psycopg", "")) as connection:
        # The service's role, so row-level security checks every row against the agency's scope.
        connection.execute("SELECT set_config('app.agency_id', %s, false)", [agency_id])
        connection.execute(
            "INSERT INTO contractors (agency_id, id, name, email, external_ref, status, created_at,"
            " updated_at, version) SELECT %(agency)s, " + TIME_ORDERED_ID.format(ms=start_ms)
            + ", 'Contractor ' || i, 'c' || i || '@example.com', 'C' || i, 'active', now(),"
            " now(), 1 FROM generate_series(0, %(n)s - 1) AS i",
            {"agency": agency_id, "n": contractors},
        )  # fmt: skip
        connection.execute(
            "WITH c AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM contractors)"
            " INSERT INTO conduct_events (agency_id, id, contractor_id, kind, valence, severity,"
            " occurred_at, recorded_at, summary, details, evidence_urls, source, status,"
            " recorded_by_type, recorded_by) SELECT %(agency)s, "
            + TIME_ORDERED_ID.format(ms=start_ms + contractors)
            + ", c.id, 'ghosting', 'negative', 3,"
            " timestamptz '2024-01-01' + i * interval '1 second', now(),"
            " 'Stopped answering during the final round (' || i || ')',"
            " 'Seeded by the export benchmark', '[\"https://ats.example.com/notes\"]'::jsonb,"
            " 'agency', 'active', 'system', 'bench'"
            " FROM generate_series(0, %(n)s - 1) AS i JOIN c ON c.n = i %% %(contractors)s",
            {"agency": agency_id, "n": events, "contractors": contractors},
        )  # fmt: skip
        connection.commit()
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as connection:
        connection.execute("ANALYZE contractors")
        connection.execute("ANALYZE conduct_events")
    return agency_id


def child(database_url: str, agency_id: str, format: str, folder: str) -> None:
    """Export the agency's events; print the result as JSON."""
    from reputation.app import create_app
    from reputation.config import TestConfig
    from reputation.exports.models import Export
    from reputation.exports.service import start_export
    from reputation.extensions import db
    from reputation.tenancy.scope import agency_scope
    from workers.app import use_app
    from workers.jobs import run_export

    app = create_app(
        TestConfig,
        {"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": REDIS_URL, "EXPORT_DIR": folder},
    )
    use_app(app)
    agency = uuid.UUID(agency_id)
    with app.app_context(), agency_scope(agency):
        export_id = str(start_export("events", format).id)
        db.session.commit()
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    run_export(agency_id=agency_id, export_id=export_id)
    elapsed = time.perf_counter() - started
    with app.app_context(), agency_scope(agency):
        done = db.session.get(Export, (agency, uuid.UUID(export_id)))
        result = {
            "rows": done.rows_done,
            "status": done.status,
            "bytes": Path(done.path).stat().st_size,
        }
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({**result, "seconds": elapsed, "baseline_kib": baseline, "peak_kib": peak}))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with fresh_database() as database_url, tempfile.TemporaryDirectory() as folder:
        for events in (args.events // 10, args.events):
            started = time.perf_counter()
            agency_id = seed(database_url, f"bench-{events}", events)
            seeded = time.perf_counter() - started
            output = subprocess.run(
                [sys.executable, __file__, "--child", database_url, agency_id, args.format, folder],
                cwd=ROOT, check=False, capture_output=True, text=True,
            )  # fmt: skip
            if output.returncode:
                raise SystemExit(output.stderr[-3000:])
            result = json.loads(output.stdout.strip().splitlines()[-1])
            print(
                f"{events:>9,} events (seeded in {seeded:.0f} s): {result['status']}, "
                f"{result['rows']:,} rows, {result['bytes'] / 1e6:.0f} MB of {args.format}, "
                f"{result['seconds']:.1f} s, {result['rows'] / result['seconds']:,.0f} rows/s, "
                f"peak RSS {result['peak_kib'] / 1024:.0f} MiB "
                f"(before the export {result['baseline_kib'] / 1024:.0f} MiB)"
            )


if __name__ == "__main__":
    main()

"""The ATS import of a large file: its time beside PostgreSQL's COPY of the same rows, and the
importing process's peak memory.

    .venv/bin/python bench/import_rows.py [--rows 100000]

Writes a CSV of contractors (1/5 of the rows), events (3/5) and steps addressing them (1/5), and
imports it on a fresh PostgreSQL database with the real job function (`workers.jobs.run_import`)
in a child process, once at a tenth of the size and once at full size: the same peak memory at
both sizes shows that memory does not grow with the file.

The ceiling, measured in the same child right after the import: COPY of every row the import
stored (contractors and their tags, events, steps, audit entries, outbox messages), read back
from the database, into TEMP tables with the same columns and indexes: the fastest PostgreSQL
can load these rows at all, with no validation, no lookups and no foreign keys. The ratio is the
import's time to that COPY's.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from common import PG_ADMIN, REDIS_URL, ROOT, fresh_database

# The tables an import writes, and so those the ceiling copies.
STORED = (
    "contractors", "contractor_tags", "conduct_events", "rehabilitation_steps", "audit_entries",
    "outbox_messages",
)  # fmt: skip
COLUMNS = [
    "record", "external_ref", "name", "email", "tags", "contractor_ref", "kind", "occurred_at",
    "summary", "addresses_ref", "source",
]  # fmt: skip


def negative_event_of(contractor: int, contractors: int) -> int:
    """An event index of this contractor (index % contractors) whose kind is negative (% 3)."""
    return next(j for j in range(contractor, 3 * contractors, contractors) if j % 3)


def write_file(path: Path, rows: int) -> None:
    contractors = rows // 5
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, COLUMNS)
        writer.writeheader()
        for i in range(contractors):
            writer.writerow(
                {
                    "record": "contractor",
                    "external_ref": f"C{i}",
                    "name": f"Contractor {i}",
                    "email": f"c{i}@example.com",
                    "tags": "python;sql",
                }
            )
        for i in range(rows - 2 * contractors):
            writer.writerow(
                {
                    "record": "event",
                    "external_ref": f"E{i}",
                    "contractor_ref": f"C{i % contractors}",
                    "kind": "ghosting" if i % 3 else "commitment_kept",
                    "occurred_at": "2024-01-01T00:00:00Z",
                    "summary": "Imported from the ATS",
                }
            )
        for i in range(contractors):
            writer.writerow(
                {
                    "record": "step",
                    "external_ref": f"S{i}",
                    "contractor_ref": f"C{i % contractors}",
                    "kind": "acknowledgement",
                    "occurred_at": "2024-02-01T00:00:00Z",
                    "addresses_ref": f"E{negative_event_of(i, contractors)}",
                    "source": "contractor",
                }
            )


def copy_ceiling(database_url: str, agency_id: str) -> tuple[float, int]:
    """Seconds to COPY every row the agency has in STORED into TEMP copies of those tables (their
    stored columns, their indexes), and how many rows that is."""
    database = database_url.rsplit("/", 1)[1]
    admin_url = PG_ADMIN.rsplit("/", 1)[0] + "/" + database
    with psycopg.connect(admin_url) as connection:
        exported: dict[str, tuple[str, bytes]] = {}
        for table in STORED:
            columns = ", ".join(
                name
                for (name,) in connection.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                    "AND is_generated = 'NEVER' ORDER BY ordinal_position",
                    [table],
                )
            )
            data = bytearray()
            query = f"COPY (SELECT {columns} FROM {table} WHERE agency_id = %s) TO STDOUT"
            with connection.cursor().copy(query, [agency_id]) as copy:
                for chunk in copy:
                    data += chunk
            exported[table] = (columns, bytes(data))
            connection.execute(f"CREATE TEMP TABLE copy_{table} (LIKE {table} INCLUDING ALL)")
        started = time.perf_counter()
        for table, (columns, data) in exported.items():
            with connection.cursor().copy(f"COPY copy_{table} ({columns}) FROM STDIN") as copy:
                copy.write(data)
        connection.commit()
        elapsed = time.perf_counter() - started
        rows = sum(data.count(b"\n") for _, data in exported.values())
    return elapsed, rows


def child(database_url: str, path: str) -> None:
    """Import `path` as a new agency; print the result as JSON."""
    from sqlalchemy import select

    from reputation.app import create_app
    from reputation.config import TestConfig
    from reputation.extensions import db
    from reputation.imports.models import Import, ImportRowError
    from reputation.imports.service import create_import
    from reputation.tenancy import service
    from reputation.tenancy.scope import agency_scope
    from workers.app import use_app
    from workers.jobs import run_import

    app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": REDIS_URL})
    use_app(app)
    with app.app_context():
        agency = service.create_agency(
            "Bench", f"bench-{int(time.time() * 1000)}", "o@b.test", "a long password!"
        )
        with agency_scope(agency.id), open(path, "rb") as upload:
            record = create_import("bench.csv", "csv", upload)
        agency_id, import_id = str(agency.id), str(record.id)
        db.session.commit()
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, cpu_started = time.perf_counter(), time.process_time()
    run_import(agency_id=agency_id, import_id=import_id)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    # The process that reads and validates the rows ahead (imports.rows.parsed_batches).
    reader = resource.getrusage(resource.RUSAGE_CHILDREN)
    with app.app_context(), agency_scope(uuid.UUID(agency_id)):
        done = db.session.get(Import, (uuid.UUID(agency_id), uuid.UUID(import_id)))
        result = {"rows": done.rows_done, "failed": done.rows_failed, "status": done.status}
        first = db.session.scalars(
            select(ImportRowError).order_by(ImportRowError.row_number).limit(3)
        )
        result["errors"] = [(e.row_number, e.field, e.message) for e in first]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result["copy_seconds"], result["copy_rows"] = copy_ceiling(database_url, agency_id)
    print(
        json.dumps(
            {**result, "seconds": elapsed, "cpu_seconds": cpu, "baseline_kib": baseline,
             "peak_kib": peak, "reader_cpu_seconds": reader.ru_utime + reader.ru_stime,
             "reader_peak_kib": reader.ru_maxrss}
        )
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with fresh_database() as database_url, tempfile.TemporaryDirectory() as folder:
        for rows in (args.rows // 10, args.rows):
            path = Path(folder) / f"import-{rows}.csv"
            write_file(path, rows)
            output = subprocess.run(
                [sys.executable, __file__, "--child", database_url, str(path)],
                cwd=ROOT, check=False, capture_output=True, text=True,
            )  # fmt: skip
            if output.returncode:
                raise SystemExit(output.stderr[-3000:])
            result = json.loads(output.stdout.strip().splitlines()[-1])
            print(
                f"{rows:>7,} rows ({path.stat().st_size / 1e6:.1f} MB): {result['status']}, "
                f"{result['failed']} failed, {result['seconds']:.1f} s "
                f"(CPU: {result['cpu_seconds']:.1f} s writing, "
                f"{result['reader_cpu_seconds']:.1f} s reading), "
                f"{result['rows'] / result['seconds']:,.0f} rows/s, peak RSS "
                f"{result['peak_kib'] / 1024:.0f} MiB "
                f"(before the import {result['baseline_kib'] / 1024:.0f} MiB), of the reading "
                f"process {result['reader_peak_kib'] / 1024:.0f} MiB"
            )
            print(
                f"  COPY of the {result['copy_rows']:,} rows it stored: "
                f"{result['copy_seconds']:.1f} s; the import takes "
                f"{result['seconds'] / result['copy_seconds']:.1f} times as long"
            )
            if result["errors"]:
                print("  first errors:", result["errors"])


if __name__ == "__main__":
    main()

"""The portal's contractors page (filtered by band, with and without a search term) and a
contractor's page, under wrk against gunicorn, beside the HTTP stack's own ceiling.

    .venv/bin/python bench/portal.py [--contractors 100000] [--events 1000000] [--seconds 20]
    .venv/bin/python bench/portal.py --quick        # 2,000 contractors, 20,000 events, 5 s

Seeds one agency of a fresh PostgreSQL database: `--templates` contractors are written through
the services (events, steps, a verification) and recomputed by the real `scoring.recompute`;
every other contractor is a copy of one of them (their tags, events, steps, snapshot and
trajectory points), made with `INSERT … SELECT`, so every stored assessment is the one the model
gives for its evidence, and the band filter has bands to filter. A staff member signs in once
(GET / for the CSRF token, POST the form, with http.client), and wrk sends the session cookie.
A wrk Lua script rotates over the bands, search terms and contractor ids, counts any answer that
is not a 200 (a lost session would be a redirect), and prints p50/p95/p99 (wrk's `--latency`
distribution has no p95). Each page runs at `--connections` and at one connection (the page's
own time, with no queue). The ceiling: wrk on /healthz (no database, no session) in the same
run, with the same connections, under the same gunicorn; /healthz with the session cookie shows
what signing in costs every page before its own work. Beside the latencies, the CPU a request
cost gunicorn's workers and the database's PostgreSQL backends (from /proc, before and after
each run), which moves far less than the latencies when other work shares the machine (its
load average is printed too).
Target (issue 10): p95 under 100 ms for each page with 100,000 contractors and 1,000,000 events.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import subprocess
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import redis
from common import PG_ADMIN, REDIS_URL, fresh_database, service_env, start_web, stop

from reputation.trust.policy import BANDS
from reputation.trust.taxonomy import CONDUCT_KINDS, Valence

AGENCY, OWNER, PASSWORD = "bench", "owner@bench.test", "a long bench password"
CEILING = "healthz (ceiling)"  # no session, no database: the HTTP stack alone
FIRST = ("Alice", "Amara", "Bruno", "Camille", "Chloé", "David", "Elena", "Farid", "Grace",
         "Hugo", "Inès", "Jonas", "Karim", "Léa", "Lucas", "Manon", "Marc", "Marie", "Nadia",
         "Nathan", "Olivia", "Pierre", "Priya", "Quentin", "Rosa", "Samir", "Sofia", "Théo",
         "Tom", "Yasmine")  # fmt: skip
LAST = ("Bernard", "Becker", "Dubois", "Durand", "Fischer", "Garcia", "Girard", "Hale",
        "Lambert", "Laurent", "Lefebvre", "Martin", "Mercier", "Moreau", "Nguyen", "Okafor",
        "Petit", "Raman", "Richard", "Robert", "Roux", "Simon", "Thomas", "Vincent")  # fmt: skip
TAGS = ("java", "python", "react", "devops", "data", "sap", "finance", "postgresql", "design")
# What a recruiter types: a surname, a first name, a fragment, an ATS reference, an email.
SEARCHES = ("martin", "nguyen", "okafor", "léa", "samir", "mar", "ber", "ats-0001", "ats-00420",
            "léa.martin", "rosa.roux", "zzz")  # fmt: skip
POSITIVE = [k.name for k in CONDUCT_KINDS.values() if k.valence is Valence.POSITIVE]
NEGATIVE = [k.name for k in CONDUCT_KINDS.values() if k.valence is Valence.NEGATIVE]
# How much of a template's history is bad, from steady professionals to burned bridges.
PROFILES = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)

WRK_SCRIPT = """
local paths = {%(paths)s}
local threads = {}

function setup(thread)
  thread:set("offset", #threads * 7919)
  table.insert(threads, thread)
end

function init(args)
  bad, n = 0, offset
end

function request()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1])
end

function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

function done(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do failed = failed + thread:get("bad") end
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d %%d\\n", summary.requests,
    summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, failed))
end
"""


def history(rng: random.Random, events: int, bad: float) -> dict[str, list[dict[str, Any]]]:
    """A template's evidence: `events` events over three years, a share `bad` of them negative
    (the worst profiles with recent, severe incidents), and, for some incidents, a verified
    acknowledgement and a pending remediation."""
    told = []
    for _ in range(events):
        negative = rng.random() < bad
        kind = rng.choice(NEGATIVE if negative else POSITIVE)
        severity = CONDUCT_KINDS[kind].default_severity
        if negative and bad >= 0.5:
            severity = min(5, severity + rng.randint(0, 2))
        days = rng.uniform(1, 1095) if bad < 0.9 else rng.uniform(1, 120)
        told.append({"kind": kind, "severity": severity, "days": days})
    told.sort(key=lambda e: -e["days"])
    incidents = [i for i, e in enumerate(told) if e["kind"] in NEGATIVE]
    steps = []
    if incidents and rng.random() < 0.6:
        latest = incidents[-1]
        after = told[latest]["days"]
        steps = [
            {"kind": "acknowledgement", "addresses": latest, "days": after * 0.9, "verify": True},
            {"kind": "remediation", "addresses": latest, "days": after * 0.5, "verify": False},
        ]
    return {"events": told, "steps": steps}


def seed_templates(database_url: str, templates: int, events_each: int) -> tuple[str, list[str]]:
    """The agency, its owner and `templates` contractors written and recomputed by the services;
    returns the agency's id and the templates' ids."""
    from flask import g

    from reputation import clock
    from reputation.app import create_app
    from reputation.conduct import service as conduct
    from reputation.config import TestConfig
    from reputation.contractors.service import create_contractor
    from reputation.extensions import db
    from reputation.rehabilitation import service as rehabilitation
    from reputation.scoring.service import recompute
    from reputation.tenancy import service
    from reputation.tenancy.auth import user_principal
    from reputation.tenancy.models import User
    from reputation.tenancy.scope import agency_scope

    app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": REDIS_URL})
    rng = random.Random(10)
    ids = []
    with app.app_context():
        agency = service.create_agency("Bench", AGENCY, OWNER, PASSWORD)
        with agency_scope(agency.id):
            g.principal = user_principal(db.session.scalars(db.select(User)).one())
            now = clock.now()
            for t in range(templates):
                story = history(rng, events_each, PROFILES[t % len(PROFILES)])
                contractor = create_contractor(
                    f"{FIRST[t % len(FIRST)]} {LAST[t % len(LAST)]}",
                    tags=rng.sample(TAGS, rng.randint(0, 3)),
                )
                recorded = [
                    conduct.record_event(
                        contractor,
                        {
                            "kind": e["kind"],
                            "severity": e["severity"],
                            "occurred_at": now - timedelta(days=e["days"]),
                            "summary": f"{e['kind'].replace('_', ' ').capitalize()} on the "
                            f"client's project, as the account manager reported it",
                        },
                    )
                    for e in story["events"]
                ]
                for s in story["steps"]:
                    step = rehabilitation.record_step(
                        contractor,
                        {
                            "kind": s["kind"],
                            "occurred_at": now - timedelta(days=s["days"]),
                            "addresses_event_id": recorded[s["addresses"]].id,
                            "description": "Wrote to the client and to us, without excuses",
                        },
                    )
                    if s["verify"]:
                        rehabilitation.verify_step(step, "verified", None, g.principal)
                recompute(contractor)
                ids.append(str(contractor.id))
            db.session.commit()
        agency_id = str(agency.id)
        db.engine.dispose()
    return agency_id, ids


def clone(cursor: psycopg.Cursor[Any], table: str, key: str, overrides: dict[str, str]) -> int:
    """Copy the templates' rows of `table` (found by their contractor in column `key`) to every
    contractor made from them; `overrides` are the columns that differ (SQL over `t`, the
    template's row, and `s`, the new contractor)."""
    columns = [
        row[0]
        for row in cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s"
            " AND is_generated = 'NEVER' ORDER BY ordinal_position",
            [table],
        )
    ]
    values = ", ".join(overrides.get(column, f"t.{column}") for column in columns)
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {values}"
        f" FROM {table} t JOIN seeded s ON t.{key} = s.template"
    )
    return cursor.rowcount


def seed(database_url: str, contractors: int, events: int, templates: int) -> str:
    """The agency of `contractors` contractors and `events` events; returns its id."""
    templates = min(templates, contractors)
    agency_id, template_ids = seed_templates(database_url, templates, events // contractors)
    # As a superuser, with the triggers of foreign keys off (session_replication_role): checking
    # 20 million references one at a time would take most of the seeding, and every reference
    # is the copy of one the service wrote.
    database = database_name(database_url)
    with psycopg.connect(PG_ADMIN, dbname=database) as connection:
        cursor = connection.cursor()
        cursor.execute("SET session_replication_role = replica")
        # Each new contractor copies a template chosen by a hash of its number, so that its
        # band says nothing of its name (which the number also picks): the list is by name.
        cursor.execute(
            "CREATE TEMP TABLE seeded AS SELECT gen_random_uuid() AS id, i,"
            " (%s::uuid[])[1 + (hashint4(i) & 2147483647) %% %s] AS template"
            " FROM generate_series(1, %s) AS i",
            [template_ids, templates, contractors - templates],
        )
        cursor.execute("ANALYZE seeded")
        for table, key, overrides in copies():
            started = time.perf_counter()
            rows = clone(cursor, table, key, overrides)
            print(f"  {table}: {rows:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
        connection.commit()
    with psycopg.connect(PG_ADMIN, dbname=database, autocommit=True) as connection:
        for table, _, _ in copies():
            connection.execute(f"VACUUM ANALYZE {table}")
    return agency_id


def database_name(database_url: str) -> str:
    return str(psycopg.conninfo.conninfo_to_dict(database_url.replace("+psycopg", ""))["dbname"])


def copies() -> list[tuple[str, str, dict[str, str]]]:
    """What `clone` copies, in order: each table, its contractor column, and what differs from
    the template. A copied row's id is derived from the new contractor's and the template row's,
    so a step can point at its contractor's copy of the event it addresses."""

    def copied(column: str) -> str:
        return (
            f"CASE WHEN t.{column} IS NOT NULL THEN md5(s.id::text || t.{column}::text)::uuid END"
        )

    def one_of(names: tuple[str, ...], prime: int) -> str:
        return (
            "(ARRAY["
            + ",".join(f"'{n}'" for n in names)
            + f"])[1 + (s.i * {prime}) % {len(names)}]"
        )

    name = f"{one_of(FIRST, 7)} || ' ' || {one_of(LAST, 13)}"
    return [
        ("contractors", "id", {
            "id": "s.id", "name": name, "external_ref": "'ATS-' || lpad(s.i::text, 7, '0')",
            "email": f"lower(replace({name}, ' ', '.')) || '.' || s.i || '@example.test'",
        }),
        ("contractor_tags", "contractor_id", {"contractor_id": "s.id"}),
        ("conduct_events", "contractor_id", {
            "id": copied("id"), "contractor_id": "s.id", "external_ref": "NULL",
            "supersedes_id": copied("supersedes_id"),
        }),
        ("rehabilitation_steps", "contractor_id", {
            "id": copied("id"), "contractor_id": "s.id", "external_ref": "NULL",
            "addresses_event_id": copied("addresses_event_id"),
        }),
        ("trust_snapshots", "contractor_id", {"contractor_id": "s.id"}),
        ("trajectory_points", "contractor_id", {"contractor_id": "s.id"}),
    ]  # fmt: skip


def sample(database_url: str, agency_id: str) -> tuple[list[str], dict[str, int], dict[str, int]]:
    """A thousand contractor ids at random, how many contractors each band holds, and how many
    rows each table of the agency has."""
    with psycopg.connect(database_url.replace("+psycopg", "")) as connection:
        connection.execute("SELECT set_config('app.agency_id', %s, false)", [agency_id])
        ids = [
            str(row[0])
            for row in connection.execute("SELECT id FROM contractors ORDER BY random() LIMIT 1000")
        ]
        bands = dict(connection.execute("SELECT band, count(*) FROM trust_snapshots GROUP BY band"))
        rows = {
            table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("contractors", "conduct_events", "rehabilitation_steps",
                          "trajectory_points")
        }  # fmt: skip
    return ids, bands, rows


def sign_in(port: int) -> str:
    """The Cookie header of a signed-in owner: GET / for the CSRF token, POST the form."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/")
    response = connection.getresponse()
    page = response.read().decode()
    cookies = _cookies(response)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    if token is None:
        raise SystemExit("no CSRF token on the sign-in page")
    form = {"csrf_token": token[1], "agency": AGENCY, "email": OWNER, "password": PASSWORD}
    connection.request(
        "POST",
        "/",
        body=urllib.parse.urlencode(form),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
        },
    )
    response = connection.getresponse()
    response.read()
    if response.status != 302:
        raise SystemExit(f"sign-in answered {response.status}")
    cookies.update(_cookies(response))
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def _cookies(response: http.client.HTTPResponse) -> dict[str, str]:
    found = {}
    for header in response.headers.get_all("Set-Cookie") or []:
        name, _, value = header.split(";", 1)[0].partition("=")
        found[name.strip()] = value.strip()
    return found


def check(port: int, cookie: str, path: str, expected: str) -> None:
    """The page answers 200 to the session, with what it should show."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path, headers={"Cookie": cookie})
    response = connection.getresponse()
    body = response.read().decode()
    if response.status != 200 or expected not in body:
        raise SystemExit(f"{path} answered {response.status} without {expected!r}")


@dataclass(frozen=True)
class Service:
    """The gunicorn under test, and its database (whose backends do the page's SQL)."""

    port: int
    master: int
    database: str


def cpu_seconds(service: Service) -> dict[int, float]:
    """CPU time so far of each gunicorn worker and each PostgreSQL backend of the database:
    what a page costs the machine, whatever else runs on it."""
    with psycopg.connect(PG_ADMIN, dbname=service.database, autocommit=True) as connection:
        backends = {
            row[0]
            for row in connection.execute(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        }
    used = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended
            continue
        fields = text[text.rindex(")") + 2 :].split()
        pid = int(stat.parent.name)
        if pid in backends or int(fields[1]) == service.master:
            used[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def wrk(
    service: Service, paths: list[str], cookie: str | None, seconds: float, connections: int
) -> dict[str, float]:
    """wrk over `paths` in turn: requests/s, p50/p95/p99 and max in ms, answers that were not
    200, and the CPU milliseconds a request cost gunicorn and PostgreSQL."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % {"paths": ", ".join(f'"{p}"' for p in paths)})
    command = ["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d",
               f"{seconds:g}s", "--timeout", "10s", "--latency", "-s", script.name]  # fmt: skip
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    before = cpu_seconds(service)
    output = subprocess.run(
        [*command, f"http://127.0.0.1:{service.port}"], capture_output=True, text=True, check=True
    ).stdout
    after = cpu_seconds(service)
    Path(script.name).unlink()
    found = re.search(r"^RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$", output, re.M)
    if found is None:
        raise SystemExit(f"wrk printed no result:\n{output}")
    requests, duration, p50, p95, p99, longest, failed = map(int, found.groups())
    cpu = sum(used - before.get(pid, 0.0) for pid, used in after.items())
    return {
        "rate": requests / (duration / 1e6), "requests": requests, "failed": failed,
        "p50": p50 / 1000, "p95": p95 / 1000, "p99": p99 / 1000, "max": longest / 1000,
        "cpu": cpu * 1000 / max(requests, 1),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contractors", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--templates", type=int, default=64,
                        help="contractors written and recomputed by the services")  # fmt: skip
    parser.add_argument("--seconds", type=float, default=20, help="of wrk, for each page")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--port", type=int, default=8797)
    parser.add_argument("--quick", action="store_true",
                        help="a sanity run: 2,000 contractors, 20,000 events, 5 s")  # fmt: skip
    args = parser.parse_args()
    if args.quick:
        args.contractors, args.events, args.templates, args.seconds = 2000, 20_000, 16, 5
    redis.Redis.from_url(REDIS_URL).flushdb()
    with fresh_database() as database_url:
        started = time.perf_counter()
        agency_id = seed(database_url, args.contractors, args.events, args.templates)
        seeding = time.perf_counter() - started
        ids, bands, rows = sample(database_url, agency_id)
        server = start_web(service_env(database_url), args.port)
        service = Service(args.port, server.pid, database_name(database_url))
        try:
            cookie = sign_in(args.port)
            check(args.port, cookie, "/contractors?band=trusted", "<table")
            check(args.port, cookie, f"/contractors/{ids[0]}", "<h1")
            rng = random.Random(12)
            by_band = [f"/contractors?band={band}" for band in BANDS]
            # A later page of each band that has one, as the page's own links lead to.
            by_band += [
                f"/contractors?band={band}&page={rng.randint(2, min(4, -(-bands[band] // 25)))}"
                for band in BANDS
                if bands.get(band, 0) > 25
            ]
            searched = [
                f"/contractors?band={band}&q={urllib.parse.quote(q)}"
                for band in BANDS
                for q in SEARCHES
            ]
            rng.shuffle(searched)
            runs = {
                "contractors?band=": (by_band, cookie),
                "contractors?band=&q=": (searched, cookie),
                "contractors/<id>": ([f"/contractors/{i}" for i in ids], cookie),
                # What any signed-in page pays before its own work: the session, the staff
                # member's row, the agency's scope.
                "healthz, signed in": (["/healthz"], cookie),
                CEILING: (["/healthz"], None),
            }
            for paths, sent in runs.values():  # warm every worker and PostgreSQL's cache
                wrk(service, paths, sent, 2, args.connections)
            load = os.getloadavg()[0]
            results = {
                (page, connections): wrk(service, paths, sent, args.seconds, connections)
                for connections in (args.connections, 1)
                for page, (paths, sent) in runs.items()
            }
            load = max(load, os.getloadavg()[0])
        finally:
            stop(server)
    print(f"agency:    {rows['contractors']:,} contractors, {rows['conduct_events']:,} events, "
          f"{rows['rehabilitation_steps']:,} steps, {rows['trajectory_points']:,} trajectory "
          "points")  # fmt: skip
    print("bands:     " + ", ".join(f"{b} {bands.get(b, 0):,}" for b in BANDS))
    print(f"seed:      {seeding:.1f} s")
    print(f"wrk:       {args.seconds:g} s a page; the machine's load average "
          f"{load:.1f} on {os.cpu_count()} cores")  # fmt: skip
    print(f"{'page':<26}{'conns':>5}{'req/s':>9}{'p50':>8}{'p95':>8}{'p99':>8} ms"
          f"{'/ceiling':>10}{'cpu/request':>14}")  # fmt: skip
    for (page, connections), result in results.items():
        ratio = result["rate"] / results[(CEILING, connections)]["rate"]
        failed = f"  ({result['failed']:,} answers not 200!)" if result["failed"] else ""
        print(f"/{page:<25}{connections:>5}{result['rate']:>9,.1f}{result['p50']:>8.1f}"
              f"{result['p95']:>8.1f}{result['p99']:>8.1f}   {ratio:>9.3f}"
              f"{result['cpu']:>11.1f} ms{failed}")  # fmt: skip
    print("target:    p95 < 100 ms for each page (issue 10)")


if __name__ == "__main__":
    main()

"""From an event's HTTP 201 to the new assessment being readable, under load.

    .venv/bin/python bench/assessment_latency.py [--clients 4] [--seconds 20]

gunicorn (deploy config) and `python -m workers --workers 2` on a fresh PostgreSQL database and
Redis database 13. Each client posts an event for a random contractor, then polls its assessment
until it is no longer pending and was computed after the 201; prints p50 and p99 of that delay,
after 5 s of the same load to warm every process up (not counted).
Target (issue 4): p99 under 1 s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import subprocess
import time
from datetime import UTC, datetime

import redis
from common import (
    REDIS_URL,
    ROOT,
    fresh_database,
    percentile,
    run_clients,
    service_env,
    start_web,
    stop,
)
from events_http import BODY, seed


def client(port: int, key: str, contractors: list[str], seconds: float, out: list[float]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def call(method: str, path: str, body: str | None = None) -> tuple[int, dict]:
        nonlocal connection
        for _ in range(3):
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                return response.status, json.loads(response.read() or b"{}")
            except (ConnectionError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        raise SystemExit("the server stopped answering")

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        contractor = random.choice(contractors)
        status, _ = call("POST", f"/api/v1/contractors/{contractor}/events", json.dumps(BODY))
        if status != 201:
            raise SystemExit(f"unexpected {status}")
        accepted_wall, accepted = datetime.now(UTC), time.perf_counter()
        while True:
            _, assessment = call("GET", f"/api/v1/contractors/{contractor}/assessment")
            computed = assessment.get("computed_at")
            if (
                not assessment["pending"]
                and computed
                and datetime.fromisoformat(computed) >= accepted_wall
            ):
                out.append(time.perf_counter() - accepted)
                break
            if time.perf_counter() - accepted > 30:
                raise SystemExit("no assessment within 30 s")
            time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--port", type=int, default=8798)
    args = parser.parse_args()
    redis.Redis.from_url(REDIS_URL).flushdb()
    with fresh_database() as database_url:
        key, contractors, _ = seed(database_url, 200)
        env = service_env(database_url)
        web = start_web(env, args.port)
        workers = subprocess.Popen(
            [str(ROOT / ".venv/bin/python"), "-m", "workers", "--workers", "2", "--poll", "0.05"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            time.sleep(4)  # the workers are up
            # Warm up: every process's first job and request pays for its imports and caches.
            run_clients(args.clients, client, args.port, key, contractors, 5)
            every = run_clients(args.clients, client, args.port, key, contractors, args.seconds)
        finally:
            stop(web, workers)
    print(f"clients:      {args.clients} (each: post an event, wait for its assessment)")
    print(f"assessments:  {len(every):,} in {args.seconds:.0f} s")
    print(f"201 -> assessment readable: p50 {percentile(every, 0.5) * 1000:.0f} ms, "
          f"p99 {percentile(every, 0.99) * 1000:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()

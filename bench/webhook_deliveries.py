"""Webhook deliveries per second to a local receiver, beside a bare loop of signed POSTs.

    .venv/bin/python bench/webhook_deliveries.py [--messages 2000] [--workers 4]

On a fresh PostgreSQL database, with one endpoint pointing at an HTTP receiver in this process
(127.0.0.1, so WEBHOOK_ALLOW_PRIVATE_NETWORKS=1), starts `python -m workers --webhook-workers N`,
warms them up with 200 messages, then commits `--messages` ping messages at once and times until
every one has succeeded. The ceiling: N
threads signing and POSTing the same bodies with the same client (`reputation.webhooks.delivery`)
as fast as they can. Target (issue 5): at least 50% of the ceiling with 4 workers.
"""

from __future__ import annotations

import argparse
import subprocess
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import redis
from common import REDIS_URL, ROOT, fresh_database, service_app, service_env


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def make_endpoint(app, url: str) -> tuple[uuid.UUID, uuid.UUID, str]:  # type: ignore[no-untyped-def]
    from reputation.extensions import db
    from reputation.tenancy import service
    from reputation.tenancy.scope import agency_scope
    from reputation.webhooks.service import create_endpoint

    with app.app_context():
        agency = service.create_agency("Bench", "bench", "owner@bench.test", "a long password!")
        with agency_scope(agency.id):
            endpoint = create_endpoint({"url": url})
            ids = (agency.id, endpoint.id, endpoint.secret)
        db.session.commit()
    return ids


def queue_pings(app, agency_id: uuid.UUID, endpoint_id: uuid.UUID, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    """`count` ping messages, committed together; their bodies."""
    from reputation.extensions import db
    from reputation.tenancy.scope import agency_scope
    from reputation.webhooks.models import WebhookEndpoint
    from reputation.webhooks.service import send_test

    with app.app_context(), agency_scope(agency_id):
        endpoint = db.session.get(WebhookEndpoint, (agency_id, endpoint_id))
        for _ in range(count):
            send_test(endpoint)
        bodies = [m.body for m in db.session.new]  # type: ignore[attr-defined]
        db.session.commit()
    return bodies


def succeeded(database_url: str) -> int:
    with psycopg.connect(database_url.replace("+psycopg", "")) as connection:
        connection.execute("SELECT set_config('app.system', 'on', false)")
        row = connection.execute(
            "SELECT count(*) FROM webhook_messages WHERE status = 'succeeded'"
        ).fetchone()
        return int(row[0]) if row else 0


def wait_for(database_url: str, count: int) -> None:
    while succeeded(database_url) < count:
        time.sleep(0.05)


def ceiling(url: str, secret: str, bodies: list[str], threads: int) -> float:
    from reputation.webhooks import delivery

    def send(part: list[str]) -> None:
        for number, body in enumerate(part):
            webhook_id = f"msg_{number}"
            now = datetime.now(UTC)
            headers = {
                "webhook-id": webhook_id,
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": delivery.signatures(webhook_id, now, body, [secret]),
            }
            assert delivery.post(url, body, headers, allow_private=True).succeeded

    parts = [bodies[i::threads] for i in range(threads)]
    workers = [threading.Thread(target=send, args=(part,)) for part in parts]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return len(bodies) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.daemon_threads = True
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{receiver.server_port}/hook"
    redis.Redis.from_url(REDIS_URL).flushdb()
    with fresh_database() as database_url:
        app = service_app(database_url)
        agency_id, endpoint_id, secret = make_endpoint(app, url)
        env = {**service_env(database_url), "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1"}
        workers = subprocess.Popen(
            [str(ROOT / ".venv/bin/python"), "-m", "workers", "--workers", "1",
             "--webhook-workers", str(args.workers), "--poll", "0.05"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            # Warm up: every worker started and each has delivered something.
            queue_pings(app, agency_id, endpoint_id, 200)
            wait_for(database_url, 200)
            started = time.perf_counter()
            bodies = queue_pings(app, agency_id, endpoint_id, args.messages)
            wait_for(database_url, 200 + args.messages)
            elapsed = time.perf_counter() - started
        finally:
            workers.terminate()
            workers.wait()
    rate = args.messages / elapsed
    bare = ceiling(url, secret, bodies, args.workers)
    print(f"deliveries:          {args.messages:,} with {args.workers} workers in {elapsed:.1f} s "
          f"({rate:,.0f}/s, from commit to the last one recorded)")  # fmt: skip
    print(f"bare signed POSTs:   {bare:,.0f}/s ({args.workers} threads, the same client)")
    print(f"share of ceiling:    {rate / bare:.0%}")


if __name__ == "__main__":
    main()

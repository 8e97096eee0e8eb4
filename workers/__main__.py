"""`python -m workers`: the RQ workers (with RQ's scheduler), the outbox relay and the schedule.

With no flags it supervises one relay, one scheduler, `--trust-workers` trust workers, `--workers`
mail and bulk workers and `--webhook-workers` webhook workers as child processes, and stops them
all on SIGTERM or SIGINT. `--role relay|trust|worker|webhooks|scheduler` runs one of them in this
process.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import subprocess
import sys
import time
from types import FrameType

from rq import SimpleWorker, Worker

from reputation.jobs import QUEUES, Queue
from reputation.queues import queue, redis_connection
from workers.app import worker_app
from workers.relay import run_relay
from workers.schedule import run_schedule

# Bulk jobs run in a forked work horse: a horse that dies or overruns is noticed at once and its
# job retried, and a long import cannot leak memory into the worker. Mail is forked too: messages
# are few, and a horse is stopped at its timeout however a mail server stalls; it comes before
# bulk, so that a message is taken ahead of every queued import and sweep batch.
FORKED_QUEUES = (Queue.MAIL, Queue.BULK)
# A trust recompute (tens of ms) and a webhook attempt are short, and forking for each would cost
# more than the job: a fresh horse opens its own database connection and starts with cold caches
# (a job that finds nothing to do took 200-700 ms in a horse, 4 ms in-process; the pages wait on
# recomputes, bench/assessment_latency.py). Their workers run jobs in-process, one at a time; RQ
# still stops a job at its timeout. A webhook worker that dies loses nothing: the message's lease
# runs out and the relay hands it out again (workers/relay.py). A trust worker that dies leaves
# its job started: the first registry cleanup after the job's timeout retries it (minutes, where
# a killed horse's job is retried at once), and the assessment reads as pending meanwhile.
assert set(QUEUES) == {*FORKED_QUEUES, Queue.TRUST, Queue.WEBHOOKS}


def run_worker(with_scheduler: bool) -> None:
    app = worker_app()
    with app.app_context():
        queues = [queue(name) for name in FORKED_QUEUES]  # in priority order
        Worker(queues, connection=redis_connection()).work(with_scheduler=with_scheduler)


def run_trust_worker(with_scheduler: bool) -> None:
    app = worker_app()
    with app.app_context():
        SimpleWorker([queue(Queue.TRUST)], connection=redis_connection()).work(
            with_scheduler=with_scheduler
        )


def run_webhook_worker() -> None:
    app = worker_app()
    with app.app_context():
        SimpleWorker([queue(Queue.WEBHOOKS)], connection=redis_connection()).work()


def supervise(
    trust_workers: int, workers: int, webhook_workers: int, poll: float, listen: bool
) -> int:
    """Run the children until SIGTERM or SIGINT; a child that dies is started again, so an
    outage (Redis gone, a worker killed) heals without an operator."""
    commands = [
        ["--role", "relay", "--poll", str(poll), *([] if listen else ["--no-listen"])],
        ["--role", "scheduler"],
        *(["--role", "trust"] + (["--no-scheduler"] if i else []) for i in range(trust_workers)),
        *(["--role", "worker"] + (["--no-scheduler"] if i else []) for i in range(workers)),
        *(["--role", "webhooks"] for _ in range(webhook_workers)),
    ]

    def start(arguments: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "workers", *arguments])

    children = [start(arguments) for arguments in commands]
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping:
        time.sleep(0.5)
        for index, child in enumerate(children):
            if child.poll() is not None and not stopping:
                logging.warning(
                    "%s exited with %s; starting it again", commands[index], child.returncode
                )
                children[index] = start(commands[index])
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers", description=__doc__)
    parser.add_argument(
        "--role",
        choices=["all", "relay", "trust", "worker", "webhooks", "scheduler"],
        default="all",
    )
    parser.add_argument(
        "--trust-workers", type=int, default=2, help="trust worker processes (role all)"
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="mail and bulk worker processes (role all)"
    )
    parser.add_argument(
        "--webhook-workers", type=int, default=2, help="webhook worker processes (role all)"
    )
    parser.add_argument("--poll", type=float, default=0.2, help="relay's idle poll, seconds")
    parser.add_argument(
        "--no-listen",
        action="store_true",
        help="relay: poll only, do not LISTEN for commits (PostgreSQL behind a transaction pooler)",
    )
    parser.add_argument(
        "--no-scheduler", action="store_true", help="do not run RQ's scheduler in this worker"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.role == "relay":
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        with contextlib.suppress(KeyboardInterrupt):
            run_relay(worker_app(), poll_seconds=args.poll, listen=not args.no_listen)
        return 0
    if args.role == "scheduler":
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        with contextlib.suppress(KeyboardInterrupt):
            run_schedule(worker_app())
        return 0
    if args.role == "trust":
        run_trust_worker(with_scheduler=not args.no_scheduler)
        return 0
    if args.role == "worker":
        run_worker(with_scheduler=not args.no_scheduler)
        return 0
    if args.role == "webhooks":
        run_webhook_worker()
        return 0
    return supervise(
        args.trust_workers, args.workers, args.webhook_workers, args.poll, not args.no_listen
    )


if __name__ == "__main__":
    sys.exit(main())

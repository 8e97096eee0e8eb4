"""`python -m workers`: the RQ workers (with RQ's scheduler), the outbox relay and the schedule.

With no flags it supervises one relay, one scheduler, `--workers` trust, mail and bulk workers and
`--webhook-workers` webhook workers as child processes, and stops them all on SIGTERM or SIGINT.
`--role relay|worker|webhooks|scheduler` runs one of them in this process.
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

# Trust and bulk jobs run in a forked work horse: a horse that dies or overruns is noticed at
# once and its job retried, and a long import cannot leak memory into the worker. Webhook
# attempts are short and wait on the network; forking for each would cost more than the attempt,
# so webhook workers run them in-process. A webhook worker that dies loses nothing: the message's
# lease runs out and the relay hands it out again (workers/relay.py).
# Mail is forked too: messages are few, and a horse is stopped at its timeout however a mail
# server stalls. It comes after trust, which the pages wait on, and before bulk, so that a
# message is taken ahead of every queued import and sweep batch (reputation.jobs.Queue's order).
FORKED_QUEUES = tuple(name for name in QUEUES if name != Queue.WEBHOOKS)


def run_worker(with_scheduler: bool) -> None:
    app = worker_app()
    with app.app_context():
        queues = [queue(name) for name in FORKED_QUEUES]  # in priority order
        Worker(queues, connection=redis_connection()).work(with_scheduler=with_scheduler)


def run_webhook_worker() -> None:
    app = worker_app()
    with app.app_context():
        SimpleWorker([queue(Queue.WEBHOOKS)], connection=redis_connection()).work()


def supervise(workers: int, webhook_workers: int, poll: float) -> int:
    """Run the children until SIGTERM or SIGINT; a child that dies is started again, so an
    outage (Redis gone, a worker killed) heals without an operator."""
    commands = [
        ["--role", "relay", "--poll", str(poll)],
        ["--role", "scheduler"],
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
        "--role", choices=["all", "relay", "worker", "webhooks", "scheduler"], default="all"
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="trust, mail and bulk worker processes (role all)"
    )
    parser.add_argument(
        "--webhook-workers", type=int, default=2, help="webhook worker processes (role all)"
    )
    parser.add_argument("--poll", type=float, default=0.2, help="relay's idle poll, seconds")
    parser.add_argument(
        "--no-scheduler", action="store_true", help="do not run RQ's scheduler in this worker"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.role == "relay":
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        with contextlib.suppress(KeyboardInterrupt):
            run_relay(worker_app(), poll_seconds=args.poll)
        return 0
    if args.role == "scheduler":
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        with contextlib.suppress(KeyboardInterrupt):
            run_schedule(worker_app())
        return 0
    if args.role == "worker":
        run_worker(with_scheduler=not args.no_scheduler)
        return 0
    if args.role == "webhooks":
        run_webhook_worker()
        return 0
    return supervise(args.workers, args.webhook_workers, args.poll)


if __name__ == "__main__":
    sys.exit(main())

"""Prometheus metrics: requests by endpoint and status, their latency, and queue depths.

Under gunicorn with several workers, set PROMETHEUS_MULTIPROC_DIR (deploy/gunicorn.conf.py does)
and each scrape adds up every worker's counts.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from flask import Flask, Response, current_app, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from reputation.extensions import db
from reputation.jobs import QUEUES
from reputation.outbox.models import JOB, OutboxMessage
from reputation.queues import queue
from reputation.tenancy.scope import system_scope

REQUESTS = Counter(
    "reputation_http_requests_total",
    "HTTP requests answered, by endpoint, method and status.",
    ["endpoint", "method", "status"],
    registry=None,
)
LATENCY = Histogram(
    "reputation_http_request_duration_seconds",
    "Time to answer an HTTP request, by endpoint, method and status.",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=None,
)


class QueueDepths(Collector):
    """Read at scrape time: jobs waiting in each RQ queue, and outbox rows not yet relayed."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depths = GaugeMetricFamily(
            "reputation_queue_depth", "Jobs waiting in an RQ queue.", labels=["queue"]
        )
        backlog = GaugeMetricFamily(
            "reputation_outbox_backlog", "Outbox jobs committed but not yet relayed to RQ."
        )
        with self.app.app_context():
            try:
                for name in QUEUES:
                    depths.add_metric([name], queue(name).count)
            except Exception:
                pass
            with system_scope():
                count = db.session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.relayed_at.is_(None), OutboxMessage.kind == JOB)
                )
            db.session.rollback()
            backlog.add_metric([], count or 0)
        yield depths
        yield backlog


KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _endpoint() -> str:
    return request.url_rule.rule if request.url_rule else "unmatched"


def _method() -> str:
    # Labels a client can choose would let it grow the metrics without bound.
    return request.method if request.method in KNOWN_METHODS else "other"


def init_app(app: Flask) -> None:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUESTS)
        registry.register(LATENCY)
    registry.register(QueueDepths(app))
    app.extensions["metrics_registry"] = registry

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        started = g.get("request_started")
        if started is not None:
            labels = (_endpoint(), _method(), str(response.status_code))
            LATENCY.labels(*labels).observe(time.perf_counter() - started)
            REQUESTS.labels(*labels).inc()
        return response


def render() -> Response:
    registry = current_app.extensions["metrics_registry"]
    return Response(generate_latest(registry), mimetype="text/plain; version=0.0.4")

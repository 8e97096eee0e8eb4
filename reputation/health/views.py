from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from reputation.api.problems import problem
from reputation.extensions import db
from reputation.health import metrics
from reputation.queues import redis_connection

health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz() -> Response:
    """The process is alive; nothing else is checked."""
    return jsonify(status="ok")


@health.get("/readyz")
def readyz() -> Response:
    """The database and Redis both answer; otherwise 503 naming the one that did not."""
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:
        checks["database"] = f"error: {type(error).__name__}"
    finally:
        db.session.rollback()
    try:
        redis_connection().ping()
        checks["redis"] = "ok"
    except Exception as error:
        checks["redis"] = f"error: {type(error).__name__}"
    failed = sorted(name for name, state in checks.items() if state != "ok")
    if failed:
        return problem(503, f"Not ready: {', '.join(failed)} did not answer.", checks=checks)
    return jsonify(status="ok", checks=checks)


@health.get("/metrics")
def prometheus_metrics() -> Response:
    return metrics.render()

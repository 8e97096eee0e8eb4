"""Health: alive, ready (database and Redis), and Prometheus metrics."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text

import reputation.app
from reputation.app import create_app
from reputation.config import TestConfig
from reputation.extensions import db


def test_healthz_answers_while_the_process_lives(client):
    response = client.get("/healthz")
    assert (response.status_code, response.json) == (200, {"status": "ok"})


def test_readyz_checks_database_and_redis(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"] == {"database": "ok", "redis": "ok"}


def test_readyz_is_503_naming_redis_when_it_is_down(database_url, redis_url):
    app = create_app(
        TestConfig,
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": "redis://127.0.0.1:1/0",
            "RATELIMIT_STORAGE_URI": redis_url,  # the limiter is one per process
        },
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.json["checks"]["database"] == "ok"
    assert response.json["checks"]["redis"].startswith("error")
    assert "redis" in response.json["detail"]
    with app.app_context():
        db.engine.dispose()


def test_metrics_count_requests_by_endpoint_and_status(client, tenants):
    client.get("/api/v1/auth/me")
    client.get("/api/v1/auth/me")
    text = client.get("/metrics").get_data(as_text=True)
    line = next(
        line
        for line in text.splitlines()
        if line.startswith("reputation_http_requests_total{")
        and 'endpoint="/api/v1/auth/me"' in line
        and 'status="401"' in line
    )
    assert float(line.rsplit(" ", 1)[1]) >= 2
    assert "reputation_http_request_duration_seconds_bucket" in text
    assert 'reputation_queue_depth{queue="trust"} 0.0' in text
    assert "reputation_outbox_backlog 0.0" in text


@pytest.mark.postgresql_only
def test_a_pooled_connection_closed_while_idle_is_replaced_not_failed(
    database_urls, redis_url, monkeypatch
):
    """A connection that PostgreSQL (or a proxy) closed while it sat in the pool is pinged on
    its next use and replaced: the request that draws it succeeds."""
    monkeypatch.setattr(reputation.app, "IDLE_BEFORE_PING", 0.0)
    # An app of its own: its pool holds the one connection closed here, and goes with it.
    app = create_app(
        TestConfig, {"SQLALCHEMY_DATABASE_URI": database_urls.app, "REDIS_URL": redis_url}
    )
    with app.app_context():
        backend = db.session.scalar(text("SELECT pg_backend_pid()"))
        db.session.commit()
        with psycopg.connect(database_urls.admin, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [backend])
        response = app.test_client().get("/readyz")
        db.engine.dispose()
    assert response.status_code == 200
    assert response.json["checks"]["database"] == "ok"

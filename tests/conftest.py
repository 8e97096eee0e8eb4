"""The suite runs against real services: `--db=sqlite` (a file) or `--db=postgresql`, and Redis.

On PostgreSQL the app connects as `reputation_app`, an ordinary role that owns the tables, so the
row-level security policies bind every test. Each test starts from empty tables and an empty Redis
database; data is really committed, because worker processes and other connections must see it.
Outside CI a missing PostgreSQL or Redis skips the tests that need it; in CI it fails them.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import text

from reputation import create_app
from reputation.config import TestConfig
from reputation.extensions import db, limiter

IN_CI = os.environ.get("CI") == "true"
PG_ADMIN = os.environ.get("TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
APP_ROLE = "reputation_app"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=["sqlite", "postgresql"],
        default=os.environ.get("TEST_DB", "sqlite"),
        help="the database the suite runs against",
    )


def unavailable(what: str, error: Exception) -> None:
    message = f"{what} is not reachable ({error}); start it, or run outside CI to skip"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgresql_only") and item.config.getoption("--db") != "postgresql":
        pytest.skip("needs PostgreSQL: runs in the --db=postgresql pass")


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--db"))


@pytest.fixture(scope="session")
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        unavailable(f"Redis at {REDIS_URL}", error)
    return REDIS_URL


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'reputation.db'}"
        return
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.Error as error:
        unavailable(f"PostgreSQL at {PG_ADMIN}", error)
    name = f"reputation_test_{secrets.token_hex(4)}"
    with admin:
        exists = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_ROLE]).fetchone()
        if not exists:
            admin.execute(f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS")
        admin.execute(f"CREATE DATABASE {name} OWNER {APP_ROLE}")
        host = admin.info.host
        port = admin.info.port
    yield f"postgresql+psycopg://{APP_ROLE}@{host}:{port}/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def service_env(database_url: str, redis_url: str) -> dict[str, str]:
    """The environment a subprocess of the service (a worker, gunicorn) runs with."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "test-secret-key",
        "REPUTATION_ENV": "test",
    }


@pytest.fixture(scope="session")
def app(database_url: str, redis_url: str) -> Iterator[Flask]:
    app = create_app(
        TestConfig,
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "RATELIMIT_STORAGE_URI": redis_url,
        },
    )
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


def empty_everything(app: Flask) -> None:
    with app.app_context():
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
        else:
            for table in tables:
                db.session.execute(text(f"DELETE FROM {table}"))
        db.session.commit()
        redis.Redis.from_url(app.config["REDIS_URL"]).flushdb()
        limiter.reset()


@pytest.fixture(autouse=True)
def _fresh_state(request: pytest.FixtureRequest) -> Iterator[None]:
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    empty_everything(app)
    yield


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class Api:
    """A JSON client for one set of credentials: an API key, or a logged-in session."""

    def __init__(self, client: FlaskClient, key: str | None = None) -> None:
        self.client = client
        self.key = key

    def request(self, method: str, path: str, json: Any = None, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        return self.client.open(
            path if path.startswith("/") else f"/api/v1/{path}",
            method=method,
            json=json,
            headers=headers,
            **kwargs,
        )

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, json, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.request("PATCH", path, json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)


@pytest.fixture
def tenants(app: Flask) -> Any:
    """Two agencies, each with staff of every role and a read and a write API key."""
    from tests.factories import make_tenant

    return make_tenant(app, "acme"), make_tenant(app, "globex")


def login(app: Flask, agency: str, email: str, password: str) -> Api:
    client = app.test_client()
    response = client.post(
        "/api/v1/auth/login", json={"agency": agency, "email": email, "password": password}
    )
    assert response.status_code == 200, response.json
    return Api(client)


def uuid_str() -> str:
    return str(uuid.uuid4())


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent

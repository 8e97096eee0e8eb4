"""The suite runs against real services: `--db=sqlite` (a file) or `--db=postgresql`, and Redis.

On PostgreSQL the app connects as `reputation_app`, an ordinary role that owns the tables, so the
row-level security policies bind every test. Each test starts from empty tables and an empty Redis
database; data is really committed, because worker processes and other connections must see it.
Outside CI a missing PostgreSQL or Redis skips the tests that need it; in CI it fails them.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import func, select, text

from reputation.app import create_app
from reputation.config import TestConfig
from reputation.extensions import db, limiter
from reputation.tenancy.models import Agency
from reputation.tenancy.scope import agency_scope

if TYPE_CHECKING:  # imported as a plugin below, so that pytest loads it once, its own way
    from tests.mailbox import Mailbox

# The suite's real SMTP server (`mail_server`, `mailbox`): the service's mail goes there.
pytest_plugins = ["tests.mailbox"]

IN_CI = os.environ.get("CI") == "true"
PG_ADMIN = os.environ.get("TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
# Each database's pass has a Redis database of its own, so that `make test` runs both at once.
REDIS_DATABASES = {"sqlite": 14, "postgresql": 15}
APP_ROLE = "reputation_app"
OWNER_ROLE = "reputation_owner"


@dataclass(frozen=True)
class DatabaseUrls:
    app: str
    owner: str  # runs the migrations
    admin: str | None  # a superuser, to empty the tables between tests


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
        pytest.skip("runs in the --db=postgresql pass")


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--db"))


@pytest.fixture(scope="session")
def redis_url(backend: str) -> str:
    url = os.environ.get("TEST_REDIS_URL", f"redis://127.0.0.1:6379/{REDIS_DATABASES[backend]}")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        unavailable(f"Redis at {url}", error)
    return url


@pytest.fixture(scope="session")
def database_urls(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseUrls]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'reputation.db'}"
        yield DatabaseUrls(app=url, owner=url, admin=None)
        return
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.Error as error:
        unavailable(f"PostgreSQL at {PG_ADMIN}", error)
    name = f"reputation_test_{secrets.token_hex(4)}"
    with admin:
        for role in (OWNER_ROLE, APP_ROLE):
            if not admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
                admin.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS")
        admin.execute(f"CREATE DATABASE {name} OWNER {OWNER_ROLE}")
        host, port = admin.info.host, admin.info.port
    base = f"postgresql+psycopg://{{role}}@{host}:{port}/{name}"
    with psycopg.connect(
        base.format(role=OWNER_ROLE).replace("+psycopg", ""), autocommit=True
    ) as owner:
        # As production should: the owner runs migrations, the service only reads and writes.
        owner.execute(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public "
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE}"
        )
        owner.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
    admin_url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    yield DatabaseUrls(
        app=base.format(role=APP_ROLE), owner=base.format(role=OWNER_ROLE), admin=admin_url
    )
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def database_url(database_urls: DatabaseUrls) -> str:
    """What the service connects with: on PostgreSQL an ordinary role with DML rights only."""
    return database_urls.app


@pytest.fixture(scope="session")
def service_env(database_url: str, redis_url: str, mail_server: Mailbox) -> dict[str, str]:
    """The environment a subprocess of the service (a worker, gunicorn) runs with."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "MAIL_URL": mail_server.url,
        "SECRET_KEY": "test-secret-key",
        "REPUTATION_ENV": "test",
    }


def make_app(database_url: str, redis_url: str) -> Flask:
    return create_app(
        TestConfig,
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "RATELIMIT_STORAGE_URI": redis_url,
        },
    )


@pytest.fixture(scope="session")
def app(database_urls: DatabaseUrls, redis_url: str, mail_server: Mailbox) -> Iterator[Flask]:
    migrator = make_app(database_urls.owner, redis_url)
    with migrator.app_context():
        upgrade()
        db.engine.dispose()
    app = make_app(database_urls.app, redis_url)
    app.config["ADMIN_DATABASE_URL"] = database_urls.admin
    app.config["MAIL_URL"] = mail_server.url
    yield app
    with app.app_context():
        db.engine.dispose()


def empty_everything(app: Flask) -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    admin_url = app.config["ADMIN_DATABASE_URL"]
    if admin_url:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            # Only a superuser, with triggers off (the append-only guards and the foreign keys'
            # checks), may empty the append-only tables. DELETE, not TRUNCATE: a test leaves a
            # few rows, and TRUNCATE makes new files for every table, a second per test.
            admin.execute("SET session_replication_role = replica")
            with admin.transaction():
                for table in tables:
                    admin.execute(f"DELETE FROM {table}")
    else:
        with app.app_context():
            for table in tables:
                db.session.execute(text(f"DELETE FROM {table}"))
            db.session.commit()
    with app.app_context():
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

    def put(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.request("PUT", path, json, **kwargs)

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


def run_jobs(app: Flask, redis_url: str) -> None:
    """What `python -m workers` does, in this process: relay the outbox and the webhook messages
    due, then run the queues until they are empty."""
    from rq import Queue, SimpleWorker

    from workers.app import use_app
    from workers.relay import relay_due_webhooks, relay_once

    use_app(app)
    relay_once(app)
    relay_due_webhooks(app)
    connection = redis.Redis.from_url(redis_url)
    queues = [Queue(name, connection=connection) for name in ("trust", "webhooks", "mail", "bulk")]
    SimpleWorker(queues, connection=connection).work(burst=True)


def stop_process(process: Any, timeout: float = 30) -> None:
    """Ask a child process (a worker, gunicorn) to stop, and kill it if it will not, with every
    process it started: an orphaned worker would go on taking the next tests' jobs."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        for pid in [*descendants(process.pid), process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait()


def descendants(pid: int) -> list[int]:
    """The processes `pid` started, and theirs, as Linux lists them."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                found += [int(child), *descendants(int(child))]
    return found


def count_rows(app: Flask, model: Any) -> int:
    """How many rows of `model` every agency holds, each counted in its own scope."""
    with app.app_context():
        total = 0
        for agency_id in db.session.scalars(select(Agency.id)).all():
            with agency_scope(agency_id):
                total += db.session.scalar(select(func.count()).select_from(model)) or 0
        db.session.rollback()
        return total


def uuid_str() -> str:
    return str(uuid.uuid4())


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent

"""What the benchmarks share: a fresh PostgreSQL database, migrated, with the roles the service
uses in production (an owner for migrations, a DML-only role for the service)."""

from __future__ import annotations

import http.client
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
OWNER, SERVICE = "reputation_owner", "reputation_app"


@contextmanager
def fresh_database() -> Iterator[str]:
    """A migrated database; yields the service role's SQLAlchemy URL, and drops it after."""
    name = f"reputation_bench_{secrets.token_hex(3)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        for role in (OWNER, SERVICE):
            if not admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
                admin.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS")
        admin.execute(f"CREATE DATABASE {name} OWNER {OWNER}")
        host, port = admin.info.host, admin.info.port
    owner_url = f"postgresql://{OWNER}@{host}:{port}/{name}"
    with psycopg.connect(owner_url, autocommit=True) as owner:
        owner.execute(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public "
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {SERVICE}"
        )
        owner.execute(f"GRANT USAGE ON SCHEMA public TO {SERVICE}")
    from flask_migrate import upgrade

    from reputation.app import create_app
    from reputation.config import TestConfig

    migrator = create_app(
        TestConfig,
        {"SQLALCHEMY_DATABASE_URI": owner_url.replace("postgresql://", "postgresql+psycopg://")},
    )
    with migrator.app_context():
        upgrade()
        from reputation.extensions import db

        db.engine.dispose()
    try:
        yield f"postgresql+psycopg://{SERVICE}@{host}:{port}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def service_app(database_url: str):  # type: ignore[no-untyped-def]
    """The service's app in the benchmark's own process, to seed its database."""
    from reputation.app import create_app
    from reputation.config import TestConfig

    return create_app(
        TestConfig,
        {"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": REDIS_URL,
         "WEBHOOK_ALLOW_PRIVATE_NETWORKS": True},
    )  # fmt: skip


def service_env(database_url: str) -> dict[str, str]:
    """The environment of the service's processes in a benchmark (limits out of the way)."""
    from reputation.config import DEVELOPMENT_ENCRYPTION_KEY

    # The key the benchmark's own process writes with (TestConfig's, unless the environment
    # names one), so that the service reads the webhook secrets it seeded.
    keys = os.environ.get("SECRETS_ENCRYPTION_KEYS") or DEVELOPMENT_ENCRYPTION_KEY
    return {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL,
            "SECRET_KEY": "bench", "REPUTATION_ENV": "production",
            "SECRETS_ENCRYPTION_KEYS": keys,
            "RATELIMIT_DEFAULT": "1000000 per minute"}  # fmt: skip


def start_web(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """gunicorn with the deploy configuration; returns once it answers /healthz."""
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-c", "deploy/gunicorn.conf.py", "--bind",
         f"127.0.0.1:{port}", "--access-logfile", "/dev/null", "wsgi:app"],
        cwd=ROOT, env=env, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(100):
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/healthz")
            return server
        except OSError:
            time.sleep(0.1)
    return server


def run_clients(count: int, target: Callable[..., None], *args: object) -> list[float]:
    """Run `count` threads of `target(*args, out)` to the end; every latency they recorded."""
    outputs: list[list[float]] = [[] for _ in range(count)]
    threads = [threading.Thread(target=target, args=(*args, out)) for out in outputs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [x for out in outputs for x in out]


def stop(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

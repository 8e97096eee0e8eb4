"""What the benchmarks share: a fresh PostgreSQL database, migrated, with the roles the service
uses in production (an owner for migrations, a DML-only role for the service)."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
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

    from reputation import create_app
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


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

"""webhook signing secrets encrypted at rest

The columns widen to hold a Fernet token, and the secrets stored so far in clear are encrypted
with the first key of SECRETS_ENCRYPTION_KEYS (reputation/crypto.py); the downgrade decrypts them.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-23 23:30:00.000000

"""

from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

from reputation import crypto

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

COLUMNS = ("secret", "previous_secret")
endpoints = sa.table(
    "webhook_endpoints",
    sa.column("agency_id", sa.Uuid()),
    sa.column("id", sa.Uuid()),
    *(sa.column(name, sa.String()) for name in COLUMNS),
)


def upgrade():
    _resize(100, crypto.TOKEN_LENGTH)
    _rewrite(crypto.encrypt)


def downgrade():
    # Decrypted first: PostgreSQL refuses to shorten a column below what it holds.
    _rewrite(crypto.decrypt)
    _resize(crypto.TOKEN_LENGTH, 100)


def _resize(length, new_length):
    with (
        _sqlite_foreign_keys_off(),
        op.batch_alter_table("webhook_endpoints", schema=None) as batch_op,
    ):
        for name in COLUMNS:
            batch_op.alter_column(name, type_=sa.String(new_length), existing_type=sa.String(length))


@contextmanager
def _sqlite_foreign_keys_off():
    """SQLite changes a column's type by rebuilding the table, and dropping the old one fails
    while webhook_messages refer to it with foreign keys enforced. The pragma that lifts them is
    a no-op inside a transaction, so what this run wrote so far is committed first (SQLite runs
    migrations without transactional DDL anyway), and again before they are enforced anew."""
    connection = op.get_bind()
    if connection.dialect.name != "sqlite":
        yield
        return
    connection.connection.dbapi_connection.commit()
    op.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        connection.connection.dbapi_connection.commit()
        op.execute("PRAGMA foreign_keys=ON")


def _rewrite(convert):
    """Every stored secret through `convert`. Row-level security binds the table's owner too
    (FORCE), and a migration runs in no agency's scope, so it is lifted for this transaction."""
    connection = op.get_bind()
    postgresql = connection.dialect.name == "postgresql"
    if postgresql:
        op.execute("ALTER TABLE webhook_endpoints NO FORCE ROW LEVEL SECURITY")
    rows = connection.execute(
        sa.select(endpoints.c.agency_id, endpoints.c.id, *(endpoints.c[n] for n in COLUMNS))
    ).all()
    for row in rows:
        stored = row._mapping
        connection.execute(
            endpoints.update()
            .where(endpoints.c.agency_id == row.agency_id, endpoints.c.id == row.id)
            .values({name: convert(stored[name]) for name in COLUMNS if stored[name] is not None})
        )
    if postgresql:
        op.execute("ALTER TABLE webhook_endpoints FORCE ROW LEVEL SECURITY")

"""refuse TRUNCATE of the audit log and the evidence

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 19:20:00

"""
from alembic import op

from reputation.tenancy import rls

# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

TABLES = ("audit_entries", "conduct_events", "rehabilitation_steps", "decisions")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for statement in rls.refuse_truncate(table):
                op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")

"""contractors found by band and by text at 100,000 a tenant

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23 18:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# As reputation.contractors.models.SEARCH_TEXT was when this migration was written.
SEARCH_TEXT = (
    "lower(name) || '|' || lower(coalesce(email, '')) || '|' || lower(coalesce(external_ref, ''))"
)


def upgrade():
    # Generated: stored on PostgreSQL (which rewrites the table once), virtual on SQLite, which
    # adds a virtual column in place (a stored one would copy the table, which rows of other
    # tables point at).
    with op.batch_alter_table("contractors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_text", sa.Text(), sa.Computed(SEARCH_TEXT)))
    # The band's index carries the contractor, so that a band's contractors are found in the
    # index alone, not in the snapshots' rows.
    with op.batch_alter_table("trust_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_trust_snapshots_band")
        batch_op.create_index(
            "ix_trust_snapshots_band", ["agency_id", "band", "contractor_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("trust_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_trust_snapshots_band")
        batch_op.create_index("ix_trust_snapshots_band", ["agency_id", "band"], unique=False)
    # In place on SQLite too (3.35 and later drop a column without copying the table).
    op.drop_column("contractors", "search_text")

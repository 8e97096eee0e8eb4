"""contractors counted by band and eligibility in the band's index alone

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23 20:30:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    # The eligibility rides in the band's index (PostgreSQL's INCLUDE; SQLite has none and keeps
    # the index as it was), so that counting a band, or the eligible, reads no snapshot row.
    with op.batch_alter_table("trust_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_trust_snapshots_band")
        batch_op.create_index(
            "ix_trust_snapshots_band",
            ["agency_id", "band", "contractor_id"],
            unique=False,
            postgresql_include=["eligible"],
        )


def downgrade():
    with op.batch_alter_table("trust_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_trust_snapshots_band")
        batch_op.create_index(
            "ix_trust_snapshots_band", ["agency_id", "band", "contractor_id"], unique=False
        )

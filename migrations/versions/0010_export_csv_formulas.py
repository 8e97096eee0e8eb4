"""exports record whether CSV formulas were neutralised

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 14:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    # The exports written so far passed formulas through: their record says so. The server
    # default only fills those rows; the service decides for every new export.
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "neutralise_formulas", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.alter_column("neutralise_formulas", server_default=None)
    # A CSV export still waiting for its file is written after this upgrade, by the neutralising
    # writer: its record says so. Row-level security binds the tables' owner too (FORCE), and a
    # migration runs in no agency's scope, so it is lifted for this one statement's transaction.
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute("ALTER TABLE exports NO FORCE ROW LEVEL SECURITY")
    op.execute(
        "UPDATE exports SET neutralise_formulas = true "
        "WHERE format = 'csv' AND status IN ('queued', 'running')"
    )
    if postgresql:
        op.execute("ALTER TABLE exports FORCE ROW LEVEL SECURITY")


def downgrade():
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.drop_column("neutralise_formulas")

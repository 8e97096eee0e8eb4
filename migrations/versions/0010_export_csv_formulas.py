"""exports record whether CSV formulas were neutralised

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 09:00:00.000000

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


def downgrade():
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.drop_column("neutralise_formulas")

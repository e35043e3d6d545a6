"""worker status: the workers' heartbeat and the relay's current outage, for the back office

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 20:05:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "worker_status",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("relay_failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("relay_error", sa.String(length=1000), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_status")),
    )


def downgrade():
    op.drop_table("worker_status")

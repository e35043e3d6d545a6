"""aftermath: the replay, its transcript, the materials of an event, the post-event mail

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 18:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "event_materials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("file_name", sa.String(length=80), nullable=False),
        sa.Column("file_size", sa.Integer(), nullable=False),
        sa.Column("accessible", sa.Boolean(), nullable=False),
        sa.Column("alternative_file_name", sa.String(length=80), nullable=True),
        sa.Column("alternative_file_size", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_event_materials_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_materials")),
    )
    with op.batch_alter_table("event_materials") as batch_op:
        batch_op.create_index(batch_op.f("ix_event_materials_event_id"), ["event_id"], unique=False)

    with op.batch_alter_table("events") as batch_op:
        # The events already there have no replay: an empty address.
        batch_op.add_column(
            sa.Column("replay_url", sa.String(length=500), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("replay_published_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("transcript_file_name", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("transcript_file_size", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("aftermath_requested_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("aftermath_queued_at", sa.DateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("events") as batch_op:
        batch_op.alter_column("replay_url", server_default=None)


def downgrade():
    with op.batch_alter_table("events") as batch_op:
        batch_op.drop_column("aftermath_queued_at")
        batch_op.drop_column("aftermath_requested_at")
        batch_op.drop_column("transcript_file_size")
        batch_op.drop_column("transcript_file_name")
        batch_op.drop_column("replay_published_at")
        batch_op.drop_column("replay_url")

    with op.batch_alter_table("event_materials") as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_materials_event_id"))

    op.drop_table("event_materials")

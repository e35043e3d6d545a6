"""surveys: the satisfaction survey after an event, its answers and its personal links

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10 10:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# The CHECK of the token_purpose enum (VARCHAR + CHECK, eventapp.models.str_enum), before and
# after the survey's purpose.
PURPOSE_CHECK = "ck_registration_tokens_token_purpose"
PURPOSES_BEFORE = ("manage", "join")
PURPOSES_AFTER = ("manage", "join", "survey")


def _purposes_check(purposes: tuple[str, ...]) -> None:
    """Replace the CHECK of registration_tokens.purpose by one allowing these purposes."""
    allowed = ", ".join(f"'{purpose}'" for purpose in purposes)
    # Batch mode: SQLite cannot alter a constraint and rebuilds the table; PostgreSQL gets a
    # plain ALTER TABLE ... DROP/ADD CONSTRAINT.
    with op.batch_alter_table("registration_tokens") as batch_op:
        batch_op.drop_constraint(op.f(PURPOSE_CHECK), type_="check")
        batch_op.create_check_constraint(op.f(PURPOSE_CHECK), f"purpose IN ({allowed})")


def upgrade():
    # Not in batch mode: on SQLite, batch would rebuild `events` for the SQL default, and
    # dropping the old table with foreign keys on deletes every registration (ON DELETE CASCADE).
    # A plain ADD COLUMN with a constant default works on both backends and touches no row.
    op.add_column(
        "events",
        sa.Column("survey_enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column("events", sa.Column("survey_closed_at", sa.DateTime(timezone=True)))

    op.create_table(
        "survey_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("most_useful", sa.Text(), nullable=False),
        sa.Column("to_improve", sa.Text(), nullable=False),
        sa.Column("next_topics", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name=op.f("ck_survey_answers_rating_1_to_5")),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_survey_answers_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["registrations.id"],
            name=op.f("fk_survey_answers_registration_id_registrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_answers")),
        sa.UniqueConstraint("registration_id", name=op.f("uq_survey_answers_registration_id")),
    )
    with op.batch_alter_table("survey_answers") as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_answers_event_id"), ["event_id"], unique=False)

    _purposes_check(PURPOSES_AFTER)


def downgrade():
    # The survey's links go with the purpose that named them, or the old CHECK would refuse them.
    op.execute(sa.text("DELETE FROM registration_tokens WHERE purpose = 'survey'"))
    _purposes_check(PURPOSES_BEFORE)

    with op.batch_alter_table("survey_answers") as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_answers_event_id"))
    op.drop_table("survey_answers")

    # Plain DROP COLUMN (SQLite 3.35+), for the same reason as in upgrade: no rebuild of events.
    op.drop_column("events", "survey_closed_at")
    op.drop_column("events", "survey_enabled")

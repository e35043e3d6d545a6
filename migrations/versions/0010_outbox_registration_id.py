"""outbox registration id: the registration a mail is about, a column instead of a key prefix

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 10:30:00

"""

import re

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# The two key shapes that named a registration before this column (eventapp/mailkeys.py).
_REGISTRATION_KEY = re.compile(r"^registration:(\d+):|^sheet:\d+:r(\d+)$")


def upgrade():
    with op.batch_alter_table("outbox_messages") as batch_op:
        batch_op.add_column(sa.Column("registration_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_outbox_messages_registration_id"), ["registration_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_messages_registration_id_registrations"),
            "registrations",
            ["registration_id"],
            ["id"],
            ondelete="SET NULL",
        )
    # The mails queued before: their key says whose they are, read once here and never again.
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT id, dedupe_key FROM outbox_messages "
            "WHERE dedupe_key LIKE 'registration:%' OR dedupe_key LIKE 'sheet:%'"
        )
    )
    updates = []
    for mail_id, key in rows:
        match = _REGISTRATION_KEY.match(key)
        if match:
            updates.append({"mail": mail_id, "registration": int(match[1] or match[2])})
    if updates:
        connection.execute(
            sa.text(
                "UPDATE outbox_messages SET registration_id = :registration WHERE id = :mail "
                "AND EXISTS (SELECT 1 FROM registrations WHERE id = :registration)"
            ),
            updates,
        )


def downgrade():
    with op.batch_alter_table("outbox_messages") as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_outbox_messages_registration_id_registrations"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_outbox_messages_registration_id"))
        batch_op.drop_column("registration_id")

"""indexes that read a village's and a post's letters newest first, and a letter's events in order, straight off

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

They replace the indexes on letter.village_id, letter.client_id and letter_event.letter_id alone, and
letter.created_at's, which went unused (every query on it names villages). A query on the client's letters also
names the client's village, so the village leads that index too.
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.create_index("ix_letter_village_id_created_at", ["village_id", "created_at", "id"], unique=False)
        batch_op.create_index("ix_letter_village_id_client_id_created_at",
                              ["village_id", "client_id", "created_at", "id"], unique=False)
        batch_op.drop_index(batch_op.f("ix_letter_village_id"))
        batch_op.drop_index(batch_op.f("ix_letter_client_id"))
        batch_op.drop_index(batch_op.f("ix_letter_created_at"))
    with op.batch_alter_table("letter_event", schema=None) as batch_op:
        batch_op.create_index("ix_letter_event_letter_id_id", ["letter_id", "id"], unique=False)
        batch_op.drop_index(batch_op.f("ix_letter_event_letter_id"))


def downgrade() -> None:
    with op.batch_alter_table("letter_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_letter_event_letter_id"), ["letter_id"], unique=False)
        batch_op.drop_index("ix_letter_event_letter_id_id")
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_letter_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_letter_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_letter_village_id"), ["village_id"], unique=False)
        batch_op.drop_index("ix_letter_village_id_client_id_created_at")
        batch_op.drop_index("ix_letter_village_id_created_at")

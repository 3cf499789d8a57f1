"""index letter.pdf_sha256: `suratdesa verify` finds a letter by the hash of its PDF

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_letter_pdf_sha256"), ["pdf_sha256"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_letter_pdf_sha256"))

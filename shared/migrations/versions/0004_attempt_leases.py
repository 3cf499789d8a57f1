"""attempt leases: a running attempt's claim on its letter, renewed by a heartbeat

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attempt_lease",
        sa.Column("letter_id", sa.Uuid(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("holder", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["letter_id"], ["letter.id"]),
        sa.PrimaryKeyConstraint("letter_id"),
    )
    with op.batch_alter_table("attempt_lease", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attempt_lease_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("attempt_lease", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attempt_lease_expires_at"))
    op.drop_table("attempt_lease")

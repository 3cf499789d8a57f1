"""an attempt's lease on the letter row: taken by the statement that counts the attempt, ended by the status change

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

A lease in a table of its own cost every step of every letter an INSERT and a DELETE (four statements a letter), and
kept the count from being a single statement that commits on its own. Live leases move over: those of letters still
waiting for a step (a lease on any other letter had ended with its status change, and the sweeper would have
purged it).
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

WAITING = ("submitted", "approved")
LEASE = ("attempt", "holder", "expires_at")


def upgrade() -> None:
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_attempt", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("lease_holder", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True))
        batch_op.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
    for name in LEASE:
        op.execute(f"UPDATE letter SET lease_{name} = (SELECT {name} FROM attempt_lease "
                   f"WHERE attempt_lease.letter_id = letter.id) WHERE status IN {WAITING!r}")
    with op.batch_alter_table("attempt_lease", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attempt_lease_expires_at"))
    op.drop_table("attempt_lease")


def downgrade() -> None:
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
    op.execute("INSERT INTO attempt_lease (letter_id, attempt, holder, expires_at) "
               "SELECT id, lease_attempt, lease_holder, lease_expires_at FROM letter "
               "WHERE lease_expires_at IS NOT NULL")
    # ALTER TABLE ... DROP COLUMN on SQLite too (3.35 and later): a batch operation would copy the letter table and
    # drop the old one, which the rows referring to it (events, leases) forbid while foreign keys are enforced
    for name in LEASE:
        op.drop_column("letter", f"lease_{name}")

"""shared_key: the development CA and development village keys, kept in the database for every host

Revision ID: 0009
Revises: 0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shared_key",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("certificate_pem", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("encrypted_private_key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("shared_key")

"""an index that reads an endpoint's deliveries newest first straight off

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

It replaces the index on webhook_delivery.endpoint_id alone, which it begins with.
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_delivery_endpoint_id_created_at", ["endpoint_id", "created_at", "id"],
                              unique=False)
        batch_op.drop_index(batch_op.f("ix_webhook_delivery_endpoint_id"))


def downgrade() -> None:
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_delivery_endpoint_id"), ["endpoint_id"], unique=False)
        batch_op.drop_index("ix_webhook_delivery_endpoint_id_created_at")

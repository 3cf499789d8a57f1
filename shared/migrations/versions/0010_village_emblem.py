"""village_emblem: a village's emblem out of its profile JSON, which every API request reads with its client

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

import base64
import hashlib

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

village = sa.table("village", sa.column("id", sa.Integer()), sa.column("profile", sa.JSON()))
emblem = sa.table("village_emblem", sa.column("village_id", sa.Integer()), sa.column("digest", sa.String()),
                  sa.column("image", sa.LargeBinary()))


def upgrade() -> None:
    op.create_table(
        "village_emblem",
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("image", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["village_id"], ["village.id"]),
        sa.PrimaryKeyConstraint("village_id"),
    )
    connection = op.get_bind()
    for village_id, profile in connection.execute(sa.select(village.c.id, village.c.profile)).all():
        if "logo_image" not in profile:
            continue
        image = base64.b64decode(profile.pop("logo_image"))
        digest = hashlib.sha256(image).hexdigest()
        connection.execute(emblem.insert().values(village_id=village_id, digest=digest, image=image))
        connection.execute(village.update().where(village.c.id == village_id)
                           .values(profile={**profile, "logo_digest": digest}))


def downgrade() -> None:
    connection = op.get_bind()
    images: dict[int, bytes] = {village_id: image for village_id, image in
                                connection.execute(sa.select(emblem.c.village_id, emblem.c.image)).all()}
    for village_id, profile in connection.execute(sa.select(village.c.id, village.c.profile)).all():
        if profile.pop("logo_digest", None) is None:
            continue
        if village_id in images:
            profile["logo_image"] = base64.b64encode(images[village_id]).decode()
        connection.execute(village.update().where(village.c.id == village_id).values(profile=profile))
    op.drop_table("village_emblem")

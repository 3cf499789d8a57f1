"""Alembic environment: runs on the connection handed over by shared.db, or on sqlalchemy.url."""

from alembic import context
from sqlalchemy import Connection, create_engine
from sqlmodel import SQLModel

import shared.models  # noqa: F401  (registers the tables on SQLModel.metadata)
import shared.webhooks.models  # noqa: F401

target_metadata = SQLModel.metadata


def run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("alembic: no connection handed over and no sqlalchemy.url configured")
    with create_engine(url).begin() as conn:
        run_migrations(conn)

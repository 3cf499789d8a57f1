"""Copying every row of one suratdesa database into another: an embedded trial's SQLite into PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Integer, func, insert, select, text
from sqlmodel import SQLModel

BATCH = 500


class TargetNotEmpty(RuntimeError):
    """The database copied into already holds rows; copying would mix two deployments."""


def copy_database(source: Engine, target: Engine) -> dict[str, int]:
    """Copy every table's rows in dependency order (parents first) in one transaction; rows per table.

    The target's schema must be up to date and empty. Times come out of SQLite without a zone; they are UTC,
    and are written as such, so the events' hash chain checks the same on the target.
    """
    tables = SQLModel.metadata.sorted_tables
    copied: dict[str, int] = {}
    with source.connect() as reading, target.begin() as writing:
        occupied = [t.name for t in tables if writing.execute(select(func.count()).select_from(t)).scalar_one()]
        if occupied:
            raise TargetNotEmpty(f"the target database already holds rows in {', '.join(occupied)}")
        for table in tables:
            copied[table.name] = 0
            result = reading.execute(select(table)).mappings()
            while batch := result.fetchmany(BATCH):
                writing.execute(insert(table), [_utc(dict(row)) for row in batch])
                copied[table.name] += len(batch)
        if target.dialect.name == "postgresql":
            _advance_sequences(writing, tables)
    return copied


def _utc(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value.replace(tzinfo=UTC) if isinstance(value, datetime) and value.tzinfo is None else value
            for key, value in row.items()}


def _advance_sequences(connection: Any, tables: list[Any]) -> None:
    """Rows came with their ids: move each id sequence past the highest copied, or the next insert collides."""
    for table in tables:
        for column in table.primary_key.columns:
            if isinstance(column.type, Integer) and column.autoincrement in (True, "auto"):
                connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                    f"COALESCE((SELECT MAX({column.name}) FROM {table.name}), 0) + 1, false)"))

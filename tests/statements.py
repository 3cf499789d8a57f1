"""Counting what a piece of work asks of the database: the statements an engine runs, by their shapes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from shared.config import Settings
from shared.db import get_engine


@contextmanager
def statements(settings: Settings, *, transactions: bool = False) -> Iterator[list[str]]:
    """The SQL statements the engine runs inside the block, whitespace collapsed; with transactions, also each
    transaction's end as "COMMIT" or "ROLLBACK" (each a round trip to the database). A statement run in
    autocommit commits on its own: no end is recorded after it, and none is sent."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    def ended(end: str) -> Any:
        def listener(conn: Any) -> None:
            if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
                seen.append(end)
        return listener

    ends = {"commit": ended("COMMIT"), "rollback": ended("ROLLBACK")}
    engine = get_engine(settings)
    event.listen(engine, "before_cursor_execute", record)
    for name, listener in ends.items() if transactions else ():
        event.listen(engine, name, listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
        for name, listener in ends.items() if transactions else ():
            event.remove(engine, name, listener)


def shape(statement: str) -> str:
    """'SELECT client, village', 'INSERT letter', 'UPDATE letter', ...: what a statement does to which tables (a
    data-modifying WITH: its writes in order).

    A row lock is part of the shape ('SELECT letter, village FOR UPDATE OF letter'): it is what makes a second
    claimer wait."""
    verb = statement.split()[0].upper()
    if verb == "SELECT":
        tables = re.findall(r"\b(?:FROM|JOIN)\s+(\w+)", statement, flags=re.IGNORECASE)
        lock = re.search(r"\bFOR UPDATE(?: OF \w+)?", statement, flags=re.IGNORECASE)
        return f"SELECT {', '.join(tables)}" + (f" {lock.group(0)}" if lock else "")
    if verb == "WITH":  # data-modifying WITH: each of its writes in order ('INSERT letter; INSERT letter_event')
        writes = re.findall(r"\b(INSERT INTO|UPDATE|DELETE FROM) (\w+)", statement, flags=re.IGNORECASE)
        return "; ".join(f"{write.split()[0].upper()} {name}" for write, name in writes)
    target = re.match(r"(?:INSERT INTO|UPDATE|DELETE FROM) (\w+)", statement, flags=re.IGNORECASE)
    return f"{verb} {target.group(1)}" if target else verb


def work(seen: list[str]) -> list[str]:
    """The shapes of the statements that do work: not BEGIN, nor a connection's SELECT 1 ping."""
    return [shape(statement) for statement in seen if not statement.upper().startswith(("BEGIN", "SELECT 1"))]

"""Helpers for end-to-end tests on many letters: submit, approve, wait, and look into the stack's database."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import text
from sqlmodel import col, func, select

from shared.db import get_engine, session_scope
from shared.models import Letter, LetterEvent, as_utc
from tests.conftest import Stack

# A sweeper every half second with a 3 s idle threshold and 3 attempts per letter: recoveries that take
# minutes in production take seconds.
FAST_SWEEPER = {"SWEEP_INTERVAL": "0.5", "SWEEP_STUCK_AFTER": "3", "LETTER_MAX_ATTEMPTS": "3",
                "TASK_SOFT_TIME_LIMIT": "15", "TASK_TIME_LIMIT": "20"}


def example(stack: Stack, code: str = "sktm") -> dict[str, Any]:
    types = stack.request("GET", "/api/v1/letter-types", stack.post_token).json()
    return next(t["example"] for t in types if t["code"] == code)


def submit_many(stack: Stack, count: int, token: str | None = None) -> list[str]:
    body, ids = example(stack), []
    for _ in range(count):
        response = stack.submit(body, token)
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    return ids


def statuses(stack: Stack, ids: list[str]) -> dict[str, str]:
    wanted = [uuid.UUID(i) for i in ids]
    with session_scope(stack.settings()) as session:
        rows = session.exec(select(Letter.id, Letter.status).where(col(Letter.id).in_(wanted))).all()
    return {str(letter_id): status for letter_id, status in rows}


def wait_all(stack: Stack, ids: list[str], status: str, timeout: float) -> None:
    """Poll until every letter of ids is in status; fail at once if any of them is not in the stack's database."""
    assert ids, "no letters to wait for"
    deadline = time.monotonic() + timeout
    while True:
        now = statuses(stack, ids)
        missing = sorted(set(ids) - now.keys())
        assert not missing, f"{len(missing)} of {len(ids)} letters are not in the stack's database: {missing}"
        behind = {i: s for i, s in now.items() if s != status}
        if not behind:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(behind)} letters not {status} after {timeout}s: {behind}\n"
                                 f"{stack.log('worker')[-2000:]}\n{stack.log('sweeper')[-1500:]}")
        time.sleep(0.3)


def approve_all(stack: Stack, ids: list[str], parallel: int = 1) -> None:
    def approve(letter_id: str) -> int:
        return stack.approve(letter_id).status_code

    with ThreadPoolExecutor(parallel) as pool:
        assert set(pool.map(approve, ids)) == {200}


def issued_events(stack: Stack, ids: list[str]) -> dict[str, int]:
    wanted = [uuid.UUID(i) for i in ids]
    with session_scope(stack.settings()) as session:
        rows = session.exec(select(LetterEvent.letter_id, func.count()).where(
            col(LetterEvent.letter_id).in_(wanted), LetterEvent.type == "issued").group_by(col(LetterEvent.letter_id)))
        return {str(letter_id): count for letter_id, count in rows.all()}


def sequences(stack: Stack, ids: list[str]) -> list[int]:
    wanted = [uuid.UUID(i) for i in ids]
    with session_scope(stack.settings()) as session:
        rows = session.exec(select(Letter.number, Letter.number_seq).where(col(Letter.id).in_(wanted))).all()
    for number, seq in rows:
        assert number is not None and re.fullmatch(rf"401/{seq:03d}/Ds\.Cjk/[IVX]+/\d{{4}}", number), number
    return sorted(seq for _, seq in rows)  # type: ignore[misc]


def assert_village_numbers_gap_free(stack: Stack) -> None:
    """Every SKTM number ever handed out belongs to exactly one issued letter: 1..n, no gaps, no doubles."""
    with session_scope(stack.settings()) as session:
        seqs = session.exec(select(Letter.number_seq).where(Letter.type == "sktm",
                                                            col(Letter.number_seq).is_not(None))).all()
    assert sorted(seqs) == list(range(1, len(seqs) + 1))  # type: ignore[type-var]


# A status change resets attempts and last_error, so an issued letter no longer shows how it got there; a
# trigger of the test's own copies every update that leaves an attempt counted or an error kept.
_ATTEMPT_LOG = "CREATE TABLE IF NOT EXISTS test_attempt_log (letter_id {id}, status TEXT, attempts INTEGER, " \
               "last_error TEXT)"
_WATCHED = "NEW.attempts > 0 OR NEW.last_error IS NOT NULL"
_COPY = "INSERT INTO test_attempt_log VALUES (NEW.id, NEW.status, NEW.attempts, NEW.last_error)"
_SQLITE_TRIGGER = f"CREATE TRIGGER IF NOT EXISTS test_attempt_log AFTER UPDATE ON letter WHEN {_WATCHED} " \
                  f"BEGIN {_COPY}; END"
_POSTGRES_TRIGGER = (
    "CREATE OR REPLACE FUNCTION test_log_attempt() RETURNS trigger LANGUAGE plpgsql AS "
    f"$$ BEGIN {_COPY}; RETURN NULL; END $$",
    f"CREATE OR REPLACE TRIGGER test_attempt_log AFTER UPDATE ON letter FOR EACH ROW WHEN ({_WATCHED}) "
    "EXECUTE FUNCTION test_log_attempt()",
)


def watch_attempts(stack: Stack) -> None:
    """From now on, record every attempt counted on a letter of the stack and every error kept on one."""
    with get_engine(stack.settings()).begin() as connection:
        postgres = connection.dialect.name == "postgresql"
        connection.execute(text(_ATTEMPT_LOG.format(id="UUID" if postgres else "CHAR(32)")))
        for statement in _POSTGRES_TRIGGER if postgres else (_SQLITE_TRIGGER,):
            connection.execute(text(statement))


def attempts_seen(stack: Stack, ids: list[str]) -> dict[str, set[tuple[str, int, str | None]]]:
    """Per letter of ids: every (status, attempts, last_error) it had since watch_attempts."""
    with get_engine(stack.settings()).connect() as connection:
        rows = connection.execute(text("SELECT letter_id, status, attempts, last_error FROM test_attempt_log"))
        seen: dict[str, set[tuple[str, int, str | None]]] = {}
        for letter_id, status, attempts, error in rows:
            seen.setdefault(str(uuid.UUID(str(letter_id))), set()).add((status, attempts, error))
    return {letter_id: found for letter_id, found in seen.items() if letter_id in ids}


def progress(stack: Stack, ids: list[str]) -> dict[str, tuple[str, int]]:
    """Each letter's status and the attempts counted at it, as the database has them now."""
    wanted = [uuid.UUID(i) for i in ids]
    with session_scope(stack.settings()) as session:
        rows = session.exec(select(Letter.id, Letter.status, Letter.attempts).where(col(Letter.id).in_(wanted)))
        return {str(letter_id): (status, attempts) for letter_id, status, attempts in rows.all()}


def event_times(stack: Stack, ids: list[str], event_type: str) -> dict[str, list[datetime]]:
    """When each letter got events of event_type (UTC), from its audit trail."""
    wanted, times = [uuid.UUID(i) for i in ids], dict[str, list[datetime]]()
    with session_scope(stack.settings()) as session:
        rows = session.exec(select(LetterEvent.letter_id, LetterEvent.at).where(
            col(LetterEvent.letter_id).in_(wanted), LetterEvent.type == event_type).order_by(col(LetterEvent.at)))
        for letter_id, at in rows.all():
            times.setdefault(str(letter_id), []).append(as_utc(at))
    return times


@contextmanager
def numbering_blocked(stack: Stack) -> Iterator[None]:
    """Another transaction holds the letter counters (EXCLUSIVE: reads go on, writes wait): an issue step that
    has begun waits in the database, its worker alive and busy, until the block ends. PostgreSQL stacks only."""
    with psycopg.connect(stack.env["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute("LOCK TABLE letter_counter IN EXCLUSIVE MODE")
        yield
        conn.rollback()

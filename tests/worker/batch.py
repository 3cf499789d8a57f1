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
from sqlmodel import col, func, select

from shared.db import session_scope
from shared.models import Letter, LetterEvent, as_utc
from tests.conftest import Stack

# A sweeper every half second with a 3 s idle threshold and 3 attempts per letter: recoveries that take
# minutes in production take seconds.
FAST_SWEEPER = {"SWEEP_INTERVAL": "0.5", "SWEEP_STUCK_AFTER": "3", "LETTER_MAX_ATTEMPTS": "3",
                "TASK_SOFT_TIME_LIMIT": "15", "TASK_TIME_LIMIT": "20"}


def example(stack: Stack, code: str = "sktm") -> dict[str, Any]:
    types = stack.request("GET", "/api/v1/letter-types", stack.post_token).json()
    return next(t["example"] for t in types if t["code"] == code)  # type: ignore[no-any-return]


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
    deadline = time.monotonic() + timeout
    while (now := statuses(stack, ids)) and any(s != status for s in now.values()):
        if time.monotonic() > deadline:
            behind = {i: s for i, s in now.items() if s != status}
            raise AssertionError(f"{len(behind)} letters not {status} after {timeout}s: {behind}\n"
                                 f"{stack.log('worker')[-2000:]}\n{stack.log('sweeper')[-1500:]}")
        time.sleep(0.3)


def approve_all(stack: Stack, ids: list[str], parallel: int = 1) -> None:
    def approve(letter_id: str) -> int:
        return stack.request("POST", f"/api/v1/letters/{letter_id}/approve", stack.official_token).status_code

    with ThreadPoolExecutor(parallel) as pool:
        assert set(pool.map(approve, ids)) == {200}


def issued_events(stack: Stack, ids: list[str]) -> dict[str, int]:
    wanted = [uuid.UUID(i) for i in ids]
    with session_scope(stack.settings()) as session:
        rows = session.exec(select(LetterEvent.letter_id, func.count()).where(
            col(LetterEvent.letter_id).in_(wanted), LetterEvent.type == "issued").group_by(LetterEvent.letter_id))
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


def progress(stack: Stack, ids: list[str]) -> dict[str, tuple[str, int]]:
    """Each letter's status and the attempts counted at it, as the database has them now."""
    wanted = [uuid.UUID(i) for i in ids]
    with session_scope(stack.settings()) as session:
        rows = session.exec(select(Letter.id, Letter.status, Letter.attempts).where(col(Letter.id).in_(wanted)))
        return {str(letter_id): (status, attempts) for letter_id, status, attempts in rows.all()}


def event_times(stack: Stack, ids: list[str], event_type: str) -> dict[str, list[datetime]]:
    """When each letter got events of event_type (UTC), from its audit trail."""
    wanted, times = [uuid.UUID(i) for i in ids], {}
    with session_scope(stack.settings()) as session:
        rows = session.exec(select(LetterEvent.letter_id, LetterEvent.at).where(
            col(LetterEvent.letter_id).in_(wanted), LetterEvent.type == event_type).order_by(col(LetterEvent.at)))
        for letter_id, at in rows.all():
            times.setdefault(str(letter_id), []).append(as_utc(at))
    return times  # type: ignore[return-value]


@contextmanager
def numbering_blocked(stack: Stack) -> Iterator[None]:
    """Another transaction holds the letter counters (EXCLUSIVE: reads go on, writes wait): an issue step that
    has begun waits in the database, its worker alive and busy, until the block ends. PostgreSQL stacks only."""
    with psycopg.connect(stack.env["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute("LOCK TABLE letter_counter IN EXCLUSIVE MODE")
        yield
        conn.rollback()

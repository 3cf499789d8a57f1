"""A worker's attempts at a letter's next step: counted in the database, bounded, and then `failed`.

An attempt is counted (and committed) before the step runs, so one that never reports back, because its
worker was killed or hit the hard time limit, counts too: a letter cannot loop through redeliveries for ever.
The statement that counts the attempt also gives it its letter's lease, which it renews while the step runs
(shared.letters.workflow.leases): a lease left to run out tells the sweeper the attempt was abandoned. The step's
status change ends the lease in the commit that moves its letter on, so a step costs no statement of its own to
release it. Errors the caller names transient (database or broker away) propagate, for it to retry later; any
other error is kept on the letter as `last_error`, and at `letter_max_attempts` the letter moves to `failed`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from functools import cache
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, col, select, update

from shared.config import Settings
from shared.db import from_row, session_scope, statements_commit_alone, table
from shared.letters.intake.nik import hide_niks
from shared.letters.workflow.events import record_event
from shared.letters.workflow.leases import ATTEMPT, LEASE_ENDED, lease_holder, lease_kept, lease_until, no_live_lease
from shared.letters.workflow.states import Status, transition
from shared.models import Letter, Village, utcnow

log = logging.getLogger(__name__)

STOPPED_UNREPORTED = "proses berhenti sebelum selesai (batas waktu atau worker mati)"

Step = Callable[..., Any]


def describe_error(exc: BaseException) -> str:
    """An error as kept on the letter: type and message, short, with anything NIK-shaped masked."""
    return hide_niks(f"{type(exc).__name__}: {exc}", "****************")[:500]


def begin_attempt(session: Session, letter_id: uuid.UUID, source: Status,
                  leased_by: Settings | None = None) -> int | None:
    """Count one attempt on a letter still in source (given settings, with the letter's lease) and commit;
    its attempt number, or None.

    None too while another attempt's lease is live: that attempt is running, or its worker died so lately
    that its lease has not run out (the sweeper then sends the step again, see leases). A second message for
    the letter (the sweeper's, for a letter that waited long in the queue) so starts no second attempt beside
    the first, which would do the work twice and count an attempt that failed nothing."""
    counted = _count_attempt(session, letter_id, source, leased_by)
    return None if counted is None else int(counted[0])


def begin_attempt_reading(session: Session, letter_id: uuid.UUID, source: Status,
                          leased_by: Settings | None = None) -> tuple[Letter, Village] | None:
    """begin_attempt, returning the letter as counted (its attempts the attempt's number) and its village, read by
    the count's own statement: what a step that reads them without a lock would read again in a transaction of
    its own. Both are built from the row, held by no session."""
    counted = _count_attempt(session, letter_id, source, leased_by, reading=True)
    if counted is None:
        return None
    letter_columns = len(LETTERS.columns)
    return from_row(Letter, counted[1:1 + letter_columns]), from_row(Village, counted[1 + letter_columns:])


LETTERS, VILLAGES = table(Letter), table(Village)


@cache
def _count_statement(*, leased: bool, reading: bool) -> Any:
    # Built once per variant, with bound parameters: building the statement and its cache key anew took more CPU
    # than running it. Core, not ORM, DML (a third of the cost again). The lease is in the letter's row (see
    # leases), so one statement counts the attempt and gives it the lease, and the lease test is of the row the
    # statement updates: an attempt that waited for another's count sees the lease that count gave.
    # SQLite's RETURNING names only the updated table's columns (not even UPDATE ... FROM's other table's), so the
    # village comes as one scalar subquery per column: each a primary-key lookup, in the statement's own snapshot.
    letter_id = bindparam("letter_id", type_=LETTERS.c.id.type)
    now = bindparam("now", type_=LETTERS.c.updated_at.type)
    values: dict[str, Any] = {"attempts": LETTERS.c.attempts + 1, "updated_at": now}
    if leased:
        values.update(lease_attempt=LETTERS.c.attempts + 1, lease_holder=bindparam("holder"),
                      lease_expires_at=bindparam("expires_at", type_=LETTERS.c.lease_expires_at.type))
    count = (update(LETTERS).where(LETTERS.c.id == letter_id, LETTERS.c.status == bindparam("source"),
                                   no_live_lease(LETTERS.c.lease_expires_at, now))
             .values(values))
    if not reading:
        return count.returning(LETTERS.c.attempts)
    village = tuple(select(column).where(VILLAGES.c.id == LETTERS.c.village_id).scalar_subquery()
                    for column in VILLAGES.columns)
    return count.returning(LETTERS.c.attempts, *LETTERS.columns, *village)


def _count_attempt(session: Session, letter_id: uuid.UUID, source: Status, leased_by: Settings | None, *,
                   reading: bool = False) -> tuple[Any, ...] | None:
    # the row's first column is the attempt's number, then (reading) the letter's columns and the village's
    now = utcnow()
    params: dict[str, Any] = {"letter_id": letter_id, "source": source.value, "now": now}
    if leased_by is not None:
        params.update(holder=lease_holder(), expires_at=lease_until(leased_by, now))
    statements_commit_alone(session)  # one statement: on PostgreSQL no BEGIN and COMMIT of its own
    statement = _count_statement(leased=leased_by is not None, reading=reading)
    counted = session.execute(statement, params).one_or_none()
    session.commit()
    return None if counted is None else tuple(counted)


def fail_letter(session: Session, *, letter_id: uuid.UUID, source: Status, error: str, attempts: int) -> bool:
    """Move a letter from source to `failed`, the error kept; False when it had moved on already."""
    if not transition(session, letter_id, source=source, target=Status.FAILED, attempts=attempts,
                      last_error=error):
        session.rollback()
        return False
    record_event(session, letter_id=letter_id, type="failed", actor="worker",
                 detail={"from": source.value, "error": error, "attempts": attempts})
    session.commit()
    log.warning("letter %s failed after %d attempts: %s", letter_id, attempts, error)
    return True


def record_error(session: Session, settings: Settings, *, letter_id: uuid.UUID, source: Status, error: str,
                 attempt: int) -> None:
    """Keep a failed attempt's error; the last allowed attempt moves the letter to `failed`."""
    if attempt >= settings.letter_max_attempts:
        fail_letter(session, letter_id=letter_id, source=source, error=error, attempts=attempt)
        return
    session.exec(update(Letter).where(col(Letter.id) == letter_id, col(Letter.status) == source.value)
                 .values(last_error=error, updated_at=utcnow()))
    session.commit()


def _over_the_limit(session: Session, settings: Settings, letter_id: uuid.UUID, source: Status,
                    attempt: int) -> bool:
    # Only an attempt that never reported back leaves a letter at the limit without failing it.
    if attempt <= settings.letter_max_attempts:
        return False
    letter = session.get(Letter, letter_id)
    error = (letter.last_error if letter else None) or STOPPED_UNREPORTED
    fail_letter(session, letter_id=letter_id, source=source, error=error, attempts=attempt - 1)
    return True


def run_attempt(*, settings: Settings, letter_id: uuid.UUID, source: Status, step: Step,
                transient: tuple[type[BaseException], ...] = (), with_letter: bool = False) -> Any:
    """Count an attempt and run step(session=, settings=, letter_id=) under the attempt's lease.

    The step's session names the attempt (Session.info[ATTEMPT]) for the step to end its lease in its last commit
    (leases.end_lease_in); a step that does not is followed by a release of its own.

    with_letter: the count returns the letter and its village, and the step is given them as found= instead of
    reading them again in a transaction of its own; for a step that reads them without a lock (both steps do: the
    issue step's claim is a compare-and-set).

    A transient error propagates for the caller to retry later, with no error kept on the letter; the attempt
    it interrupted stays counted (a database that is down before the attempt begins counts none).

    Returns the step's result, False when the letter is no longer in source or another attempt at it holds a live
    lease, None when the attempt failed.
    """
    attempt, given = _begin(settings, letter_id, source, with_letter)
    if attempt is None:
        return False
    with lease_kept(settings, letter_id, attempt, source.value) as lease:
        with session_scope(settings) as session:
            if _over_the_limit(session, settings, letter_id, source, attempt):
                return None
        try:
            with session_scope(settings) as session:
                session.info[ATTEMPT] = attempt
                result = step(session=session, settings=settings, letter_id=letter_id, **given)
                lease.ended = session.info.get(LEASE_ENDED, False)  # only a step that returned: its commit did
                return result
        except transient:
            raise
        except Exception as exc:
            log.exception("letter %s: attempt %d of %d failed", letter_id, attempt, settings.letter_max_attempts)
            with session_scope(settings) as session:
                record_error(session, settings, letter_id=letter_id, source=source, error=describe_error(exc),
                             attempt=attempt)
            return None


def _begin(settings: Settings, letter_id: uuid.UUID, source: Status,
           with_letter: bool) -> tuple[int | None, dict[str, Any]]:
    # the attempt's number (None: none began) and what the step is given besides its session and settings
    with session_scope(settings) as session:
        if not with_letter:
            return begin_attempt(session, letter_id, source, leased_by=settings), {}
        found = begin_attempt_reading(session, letter_id, source, leased_by=settings)
    return (None, {}) if found is None else (found[0].attempts, {"found": found})

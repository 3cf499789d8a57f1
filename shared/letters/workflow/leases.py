"""Leases: a running attempt says "I am alive" by renewing a lease on its letter; one left to run out was abandoned.

An attempt takes its letter's lease in the transaction that counts it (shared.letters.workflow.attempts); a
heartbeat thread renews it every quarter of `attempt_lease` seconds while the step runs, and it is deleted when
the attempt ends: by the step's last commit, the one that moves the letter on (end_lease_in), or else afterwards.
A worker killed mid-step leaves a lease nobody renews: once it has run out, the sweeper sends the letter's step
again at once, instead of waiting for the letter to look idle. A live worker keeps renewing however long its step
takes, so its letter is not sent again. A process that hangs (SIGSTOP, a frozen machine) stops renewing too; its
letter may then run elsewhere while the hung attempt still exists, which is safe: every step is a compare-and-set,
so whichever finishes second finds nothing to do.

The lease lives in a table of its own, not on the letter row: a heartbeat must not wait behind the letter's row
lock, which a step's short transactions take.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, delete, exists, select, update

from shared.config import Settings
from shared.db import dialect_insert_in, session_scope, table
from shared.models import AttemptLease, Letter, utcnow

log = logging.getLogger(__name__)

# Keys of Session.info on the session a step runs in: the attempt it runs for (set by run_attempt), and whether
# the step deleted that attempt's lease in a transaction it was about to commit.
ATTEMPT = "suratdesa.attempt"
LEASE_ENDED = "suratdesa.lease_ended"


def lease_holder() -> str:
    """Who runs the attempt, as the logs name it: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def take_lease(session: Session, settings: Settings, letter_id: uuid.UUID, attempt: int) -> None:
    """Give the letter's lease to this attempt, replacing an earlier attempt's in place; the caller commits."""
    lease = {"letter_id": letter_id, "attempt": attempt, "holder": lease_holder(),
             "expires_at": utcnow() + timedelta(seconds=settings.attempt_lease)}
    session.execute(_lease_upsert(session.get_bind().dialect.name), lease)


@cache
def _lease_upsert(dialect: str) -> Any:
    # Built once per database dialect, its values the execution's parameters: building an upsert and its cache key
    # anew cost more CPU than running it.
    upsert = dialect_insert_in(dialect, table(AttemptLease))
    renewed = {name: upsert.excluded[name] for name in ("attempt", "holder", "expires_at")}
    return upsert.on_conflict_do_update(index_elements=["letter_id"], set_=renewed)


def renew_lease(settings: Settings, letter_id: uuid.UUID, attempt: int) -> bool:
    """Push the attempt's lease attempt_lease seconds on; False when the attempt no longer holds it."""
    with session_scope(settings) as session:
        result = session.exec(update(AttemptLease)
                              .where(col(AttemptLease.letter_id) == letter_id, col(AttemptLease.attempt) == attempt)
                              .values(expires_at=utcnow() + timedelta(seconds=settings.attempt_lease)))
        session.commit()
    return bool(result.rowcount == 1)


def release_lease(settings: Settings, letter_id: uuid.UUID, attempt: int) -> None:
    """Delete the attempt's lease: it has ended (a database away now leaves it to run out instead)."""
    try:
        with session_scope(settings) as session:
            _delete_lease(session, letter_id, attempt)
            session.commit()
    except SQLAlchemyError as exc:
        log.warning("letter %s: lease of attempt %d not released, it will run out: %s", letter_id, attempt, exc)


def end_lease_in(session: Session, letter_id: uuid.UUID) -> None:
    """Delete the lease of the attempt the session's step runs for, in the transaction the caller commits next.

    A step calls this just before the commit that moves its letter on, so the attempt ends with the step's own
    transaction instead of one more. Nothing for a session that runs no attempt (a step called directly)."""
    attempt = session.info.get(ATTEMPT)
    if attempt is None:
        return
    _delete_lease(session, letter_id, attempt)
    session.info[LEASE_ENDED] = True


def _delete_lease(session: Session, letter_id: uuid.UUID, attempt: int) -> None:
    session.execute(DELETE_LEASE, {"letter_id": letter_id, "attempt": attempt})


# a Core statement (no session holds a lease it deletes as an object), built once with bound parameters
DELETE_LEASE = delete(table(AttemptLease)).where(table(AttemptLease).c.letter_id == bindparam("letter_id"),
                                                 table(AttemptLease).c.attempt == bindparam("attempt"))


def _heartbeat(settings: Settings, letter_id: uuid.UUID, attempt: int, stop: threading.Event) -> None:
    while not stop.wait(settings.attempt_lease / 4):
        try:
            if not renew_lease(settings, letter_id, attempt):
                return  # a later attempt holds the letter now
        except SQLAlchemyError as exc:  # the next beat tries again; the lease has three more in hand
            log.warning("letter %s: lease of attempt %d not renewed: %s", letter_id, attempt, exc)


@dataclass
class HeldLease:
    """An attempt's lease while its step runs; ended: the step's commit deleted it already."""

    ended: bool = False


@contextmanager
def lease_kept(settings: Settings, letter_id: uuid.UUID, attempt: int) -> Iterator[HeldLease]:
    """Renew the attempt's lease from a background thread while the block runs, then release it unless the block
    says the step's commit ended it."""
    stop, held = threading.Event(), HeldLease()
    beat = threading.Thread(target=_heartbeat, args=(settings, letter_id, attempt, stop), daemon=True,
                            name=f"lease-{letter_id}")
    beat.start()
    try:
        yield held
    finally:
        stop.set()
        beat.join(timeout=1)  # a beat stuck on the database must not hold the attempt up
        if not held.ended:
            release_lease(settings, letter_id, attempt)


def has_lease() -> Any:
    """A WHERE clause for letters: some attempt holds a lease on it, live or run out."""
    return exists().where(col(AttemptLease.letter_id) == col(Letter.id))


def live_lease(letter_id: Any, now: Any) -> Any:
    """A WHERE clause: some attempt holds a lease on the letter that has not run out at now (values or bound
    parameters; a Core clause, which leaves a Core statement Core)."""
    leases = table(AttemptLease)
    return exists().where(leases.c.letter_id == letter_id, leases.c.expires_at > now)


def abandoned_attempts(session: Session, statuses: list[str], now: datetime,
                       limit: int) -> list[tuple[Letter, AttemptLease]]:
    """Letters in statuses whose attempt's lease ran out before now, with that lease; the longest abandoned first."""
    query = (select(Letter, AttemptLease).join(AttemptLease, col(AttemptLease.letter_id) == col(Letter.id))
             .where(col(Letter.status).in_(statuses), col(AttemptLease.expires_at) < now)
             .order_by(col(AttemptLease.expires_at)).limit(limit))
    return [(letter, lease) for letter, lease in session.exec(query).all()]


def end_abandoned_lease(session: Session, letter_id: uuid.UUID, attempt: int, now: datetime) -> None:
    """Delete a lease that ran out, unless a new attempt took it meanwhile; the caller commits."""
    # the session holds the lease as read, with SQLite's naive time: compare in the database only
    session.exec(delete(AttemptLease).where(col(AttemptLease.letter_id) == letter_id,
                                            col(AttemptLease.attempt) == attempt,
                                            col(AttemptLease.expires_at) < now)
                 .execution_options(synchronize_session=False))


def purge_stale_leases(session: Session, statuses: list[str], now: datetime) -> int:
    """Delete run-out leases of letters no longer in statuses (a worker killed right after its step committed)."""
    waiting = select(Letter.id).where(col(Letter.status).in_(statuses))
    result = session.exec(delete(AttemptLease).where(col(AttemptLease.expires_at) < now,
                                                     col(AttemptLease.letter_id).not_in(waiting)))
    session.commit()
    return int(result.rowcount)

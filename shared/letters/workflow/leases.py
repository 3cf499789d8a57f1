"""Leases: a running attempt says "I am alive" by renewing a lease on its letter; one left to run out was abandoned.

An attempt takes its letter's lease with the statement that counts it (shared.letters.workflow.attempts); a
heartbeat thread renews it every quarter of `attempt_lease` seconds while the step runs, and it ends with the
attempt: by the step's last commit, whose status change ends any lease (end_lease_in), or else afterwards.
A worker killed mid-step leaves a lease nobody renews: once it has run out, the sweeper sends the letter's step
again at once, instead of waiting for the letter to look idle. A live worker keeps renewing however long its step
takes, so its letter is not sent again. A process that hangs (SIGSTOP, a frozen machine) stops renewing too; its
letter may then run elsewhere while the hung attempt still exists, which is safe: every step is a compare-and-set,
so whichever finishes second finds nothing to do.

The lease is three columns of the letter row. A heartbeat may so wait behind the row's lock, but only for one of
a step's short transactions: none holds it through slow work, and PostgreSQL ends one left open by a frozen
process (shared.db). In exchange the count and the lease are one statement, which commits on its own, and the
step's status change ends the lease: four statements a letter fewer than a table of leases cost.
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
from typing import Any

from sqlalchemy import bindparam, or_
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select, update

from shared.config import Settings
from shared.db import session_scope, table
from shared.models import Letter, utcnow

log = logging.getLogger(__name__)

# Keys of Session.info on the session a step runs in: the attempt it runs for (set by run_attempt), and whether
# the step ended that attempt's lease in a transaction it was about to commit.
ATTEMPT = "suratdesa.attempt"
LEASE_ENDED = "suratdesa.lease_ended"


def lease_holder() -> str:
    """Who runs the attempt, as the logs name it: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def lease_until(settings: Settings, now: datetime) -> datetime:
    """When a lease taken or renewed now runs out."""
    return now + timedelta(seconds=settings.attempt_lease)


NO_LEASE = {"lease_attempt": None, "lease_holder": None, "lease_expires_at": None}


def renew_lease(settings: Settings, letter_id: uuid.UUID, attempt: int, source: str) -> bool:
    """Push the attempt's lease attempt_lease seconds on; False when the attempt no longer holds it."""
    with session_scope(settings) as session:
        result = session.execute(RENEW_LEASE, {"letter_id": letter_id, "attempt": attempt, "source": source,
                                               "expires_at": lease_until(settings, utcnow())})
        session.commit()
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def release_lease(settings: Settings, letter_id: uuid.UUID, attempt: int, source: str) -> None:
    """End the attempt's lease: the attempt has ended (a database away now leaves the lease to run out instead)."""
    try:
        with session_scope(settings) as session:
            session.execute(RELEASE_LEASE, {"letter_id": letter_id, "attempt": attempt, "source": source})
            session.commit()
    except SQLAlchemyError as exc:
        log.warning("letter %s: lease of attempt %d not released, it will run out: %s", letter_id, attempt, exc)


def end_lease_in(session: Session) -> None:
    """Say that the step's next commit ends its attempt's lease: the step calls this beside the status change it is
    about to commit (shared.letters.workflow.states.transition ends any lease), so the attempt ends with the step's
    own transaction instead of one more. Nothing for a session that runs no attempt (a step called directly)."""
    if session.info.get(ATTEMPT) is not None:
        session.info[LEASE_ENDED] = True


def _lease_statements() -> tuple[Any, Any]:
    # Core statements built once, with bound parameters. An attempt's lease is named by its number and the status
    # its step starts from: attempt numbers start again at each status, and a late heartbeat of the draft step
    # must not renew (nor its release end) the issue step's lease.
    letters = table(Letter)
    held = (letters.c.id == bindparam("letter_id", type_=letters.c.id.type),
            letters.c.lease_attempt == bindparam("attempt"), letters.c.status == bindparam("source"))
    renew = update(letters).where(*held, letters.c.lease_expires_at.is_not(None)).values(
        lease_expires_at=bindparam("expires_at", type_=letters.c.lease_expires_at.type))
    return renew, update(letters).where(*held).values(NO_LEASE)


RENEW_LEASE, RELEASE_LEASE = _lease_statements()


def _heartbeat(settings: Settings, letter_id: uuid.UUID, attempt: int, source: str, stop: threading.Event) -> None:
    while not stop.wait(settings.attempt_lease / 4):
        try:
            if not renew_lease(settings, letter_id, attempt, source):
                return  # a later attempt holds the letter now
        except SQLAlchemyError as exc:  # the next beat tries again; the lease has three more in hand
            log.warning("letter %s: lease of attempt %d not renewed: %s", letter_id, attempt, exc)


@dataclass
class HeldLease:
    """An attempt's lease while its step runs; ended: the step's commit ended it already."""

    ended: bool = False


@contextmanager
def lease_kept(settings: Settings, letter_id: uuid.UUID, attempt: int, source: str) -> Iterator[HeldLease]:
    """Renew the attempt's lease from a background thread while the block runs, then release it unless the block
    says the step's commit ended it."""
    stop, held = threading.Event(), HeldLease()
    beat = threading.Thread(target=_heartbeat, args=(settings, letter_id, attempt, source, stop), daemon=True,
                            name=f"lease-{letter_id}")
    beat.start()
    try:
        yield held
    finally:
        stop.set()
        beat.join(timeout=1)  # a beat stuck on the database must not hold the attempt up
        if not held.ended:
            release_lease(settings, letter_id, attempt, source)


def has_lease() -> Any:
    """A WHERE clause for letters: some attempt holds a lease on it, live or run out."""
    return col(Letter.lease_expires_at).is_not(None)


def no_live_lease(expires_at: Any, now: Any) -> Any:
    """A WHERE clause: the lease column expires_at (a Core or ORM column) holds no lease live at now (a value or a
    bound parameter): none at all, or one that has run out."""
    return or_(expires_at.is_(None), expires_at <= now)


def abandoned_attempts(session: Session, statuses: list[str], now: datetime, limit: int) -> list[Letter]:
    """Letters in statuses whose attempt's lease ran out before now; the longest abandoned first."""
    query = (select(Letter).where(col(Letter.status).in_(statuses), col(Letter.lease_expires_at) < now)
             .order_by(col(Letter.lease_expires_at)).limit(limit))
    return list(session.exec(query).all())


def end_abandoned_lease(session: Session, letter_id: uuid.UUID, attempt: int | None, now: datetime) -> None:
    """End a lease that ran out, unless a new attempt took it meanwhile; the caller commits."""
    # the session holds the letter as read, with SQLite's naive time: compare in the database only
    session.exec(update(Letter).where(col(Letter.id) == letter_id, col(Letter.lease_attempt) == attempt,
                                      col(Letter.lease_expires_at) < now)
                 .values(NO_LEASE).execution_options(synchronize_session=False))

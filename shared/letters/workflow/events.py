"""The audit trail: every change to a letter is an event chained by hash to the one before."""

from __future__ import annotations

import hashlib
import itertools
import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert
from sqlmodel import Session, col, select

from shared.db import table
from shared.models import Letter, LetterEvent, as_utc, utcnow
from shared.webhooks.outbox import ANY_LISTENING, add_deliveries, heard_by_webhooks

GENESIS = "0" * 64


def event_hash(*, prev_hash: str, letter_id: uuid.UUID, type: str, actor: str, at: datetime,
               detail: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and this event's content, in a canonical JSON form."""
    moment = as_utc(at)
    assert moment is not None
    body = json.dumps([prev_hash, str(letter_id), type, actor, moment.isoformat(timespec="microseconds"),
                       detail], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


# Built once, with bound parameters: building a statement and its cache key anew cost more CPU than running it.
LAST_HASH = (select(LetterEvent.hash).where(col(LetterEvent.letter_id) == bindparam("letter_id"))
             .order_by(col(LetterEvent.id).desc()).limit(1))
INSERT_EVENT = insert(table(LetterEvent))  # the row's values come as the execution's parameters
# The same, answering whether the letter's village has a live webhook endpoint that may hear of the event: the
# INSERT is sent anyway, so a village without one (most of them) costs no lookup of endpoints.
INSERT_HEARD_EVENT = INSERT_EVENT.returning(ANY_LISTENING)
LETTER_EVENTS = (select(LetterEvent).where(col(LetterEvent.letter_id) == bindparam("letter_id"))
                 .order_by(col(LetterEvent.id)))


def letter_events(session: Session, letter_id: uuid.UUID) -> list[LetterEvent]:
    """A letter's events, oldest first."""
    return list(session.execute(LETTER_EVENTS, {"letter_id": letter_id}).scalars())


def record_event(session: Session, *, letter_id: uuid.UUID, type: str, actor: str, detail: dict[str, Any] | None = None,
                 first: bool = False, letter: Letter | None = None) -> dict[str, Any]:
    """Write an event in the session's transaction (the caller commits it with the change it describes), and with it
    the webhook deliveries the event makes (the outbox: shared.webhooks.outbox); the event's row as written.

    The event is a Core INSERT: no unit of work for a row nobody reads back as an object. first: the letter was
    added in this transaction, so there is no earlier event to chain to and none is looked up (one statement less
    on every submission). letter: the caller's copy of the letter, which the outbox then need not read again (see
    add_deliveries; the INSERT then also says whether the letter's village has any webhook endpoint at all)."""
    last = None if first else session.execute(LAST_HASH, {"letter_id": letter_id}).scalar()
    row = event_row(letter_id=letter_id, type=type, actor=actor, detail=detail, prev_hash=last or GENESIS)
    at = row["at"]
    listened = None
    if letter is not None and heard_by_webhooks(type):
        listened = bool(session.execute(INSERT_HEARD_EVENT, {**row, "listening_village": letter.village_id}).scalar())
    else:
        session.execute(INSERT_EVENT, row)
    add_deliveries(session, letter_id=letter_id, event_type=type, at=at, letter=letter, listened=listened)
    return row


def event_row(*, letter_id: uuid.UUID, type: str, actor: str, detail: dict[str, Any] | None = None,
              prev_hash: str = GENESIS) -> dict[str, Any]:
    """An event's row, made now and chained to prev_hash (a letter's first event: to GENESIS), not yet written."""
    at, detail = utcnow(), detail or {}
    digest = event_hash(prev_hash=prev_hash, letter_id=letter_id, type=type, actor=actor, at=at, detail=detail)
    return {"letter_id": letter_id, "type": type, "actor": actor, "at": at, "detail": detail,
            "prev_hash": prev_hash, "hash": digest}


def chain_problem(events: list[LetterEvent]) -> str | None:
    """Why a letter's event chain does not verify (edited, removed or reordered events), or None."""
    prev_hash = GENESIS
    for event in events:
        expected = event_hash(prev_hash=prev_hash, letter_id=event.letter_id, type=event.type,
                              actor=event.actor, at=event.at, detail=event.detail)
        if event.prev_hash != prev_hash or event.hash != expected:
            return f"event {event.id} ({event.type}) does not match the chain"
        prev_hash = event.hash
    return None


# The status each kind of event leaves a letter in ("retried" names its target in the detail).
STATUS_AFTER = {"submitted": "submitted", "draft_rendered": "awaiting_approval", "approved": "approved",
                "issued": "issued", "rejected": "rejected", "revoked": "revoked", "failed": "failed"}


def status_problem(letter_status: str, last: LetterEvent) -> str | None:
    """Why the letter's status disagrees with its last event (e.g. newest events deleted), or None."""
    expected = last.detail.get("to") if last.type == "retried" else STATUS_AFTER.get(last.type)
    if expected != letter_status:
        return f"status '{letter_status}' does not follow from the last event {last.id} ({last.type})"
    return None


def audit_chains(session: Session) -> tuple[int, list[tuple[uuid.UUID, str]]]:
    """Check every letter's chain: how many letters there are, and (letter id, problem) for each broken one."""
    statuses = dict(session.exec(select(Letter.id, Letter.status)).all())
    letter_ids = set(statuses)
    query = (select(LetterEvent).order_by(col(LetterEvent.letter_id), col(LetterEvent.id))
             .execution_options(yield_per=1000))
    broken, seen = [], set()
    for letter_id, events in itertools.groupby(session.exec(query), key=lambda event: event.letter_id):
        seen.add(letter_id)
        chain = list(events)
        problem = chain_problem(chain) or (status_problem(statuses[letter_id], chain[-1])
                                           if letter_id in statuses else None)
        if problem is not None:
            broken.append((letter_id, problem))
    # a letter is always created with its first event: none at all means its history was deleted
    broken += [(letter_id, "no events at all") for letter_id in sorted(letter_ids - seen)]
    return len(letter_ids), broken

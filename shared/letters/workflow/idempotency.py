"""Idempotent intake: with an `Idempotency-Key`, a retried submission gets the first answer, not a second letter.

The semantics are those of the IETF httpapi draft "The Idempotency-Key HTTP Header Field" and of Stripe:
keys belong to one client; the same key with the same body gets the original response (status, body,
Location) and the same letter; the same key with another body is refused (422); a retry while the first
request is still being handled gets 409. Keys are kept at least 72 hours (the sweeper purges older ones).

The key is claimed by an INSERT that relies on the unique (client_id, key) constraint, in the same
transaction as the letter, so the letter and its key commit together or not at all: a crash or an invalid
body leaves no claim behind, and the "in progress" state is the claim's uncommitted row. On PostgreSQL a
duplicate's INSERT waits on that row; after CLAIM_WAIT_MS it is told 409. SQLite has one writer at a time,
so there a duplicate waits for the first request to finish and then gets its response.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from shared.config import Settings
from shared.db import saved_id
from shared.errors import FieldError, IdempotencyInProgress, IdempotencyKeyInvalid, IdempotencyKeyReused
from shared.letters.workflow.lifecycle import add_letter
from shared.models import Client, IdempotencyKey, Letter, LetterEvent

HEADER = "Idempotency-Key"
KEY = re.compile(r"[\x20-\x7e]{1,255}")
CLAIM_WAIT_MS = 500
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL: lock_timeout expired
IN_PROGRESS, DONE = "in_progress", "done"
ACCEPTED = 202


@dataclass(frozen=True)
class Submission:
    """The answer to a submission: the letter, the status and body to send, and whether it is a replay."""

    letter_id: uuid.UUID
    status: int
    body: dict[str, Any]
    replayed: bool = False


def parse_key(raw: str | None) -> str | None:
    """The header's key: 1-255 printable ASCII characters, optionally quoted (a structured-field string)."""
    if raw is None:
        return None
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not KEY.fullmatch(value) or not value.strip():
        raise IdempotencyKeyInvalid([FieldError(HEADER, "harus 1 sampai 255 karakter ASCII yang dapat dicetak")])
    return value


def fingerprint(body: Any) -> str:
    """SHA-256 of the body as canonical JSON (keys sorted, no spaces): key order and spacing do not matter."""
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def submit_once(*, session: Session, settings: Settings, client: Client, body: Any, key: str | None,
                respond: Callable[[Letter, LetterEvent], dict[str, Any]]) -> Submission:
    """Store a new letter and commit, or, for a key this client used before, answer as the first time.

    respond makes the answer from the new letter and its first event."""
    claim, client_id = None, saved_id(client)
    if key is not None:
        digest = fingerprint(body)
        claim = _claim(session, client_id=client_id, key=key, digest=digest)
        if claim is None:
            return _replay(session, client_id=client_id, key=key, digest=digest)
    letter, event = add_letter(session=session, settings=settings, client=client, body=body)
    answer = respond(letter, event)
    if claim is not None:
        claim.letter_id, claim.response_status, claim.response_body = letter.id, ACCEPTED, answer
        claim.state = DONE
        session.add(claim)
    session.commit()
    return Submission(letter_id=letter.id, status=ACCEPTED, body=answer)


def _claim(session: Session, *, client_id: int, key: str, digest: str) -> IdempotencyKey | None:
    """Insert the key's row (uncommitted); None when the key exists already."""
    postgres = session.get_bind().dialect.name == "postgresql"
    claim = IdempotencyKey(client_id=client_id, key=key, fingerprint=digest, state=IN_PROGRESS)
    try:
        if postgres:
            # For the rest of the transaction, with no statement to set it back: what follows waits on no lock (the
            # new letter and its event, this claim's own row), and one that did would fail as the database's error
            # (503, retried with the same key), never as this claim's 409.
            session.exec(text(f"SET LOCAL lock_timeout = '{CLAIM_WAIT_MS}ms'"))  # type: ignore[call-overload]
        session.add(claim)
        session.flush()
    except IntegrityError:
        session.rollback()
        return None
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        session.rollback()
        raise _in_progress() from exc
    return claim


def _replay(session: Session, *, client_id: int, key: str, digest: str) -> Submission:
    stored = session.exec(select(IdempotencyKey).where(IdempotencyKey.client_id == client_id,
                                                       IdempotencyKey.key == key)).one_or_none()
    if stored is None or stored.state != DONE or stored.letter_id is None or stored.response_body is None:
        raise _in_progress()  # purged or being written just now: a retry will find it settled
    if stored.fingerprint != digest:
        raise IdempotencyKeyReused([FieldError(HEADER, "kunci ini sudah dipakai untuk isi permintaan yang lain")])
    return Submission(letter_id=stored.letter_id, status=stored.response_status or ACCEPTED,
                      body=stored.response_body, replayed=True)


def _in_progress() -> IdempotencyInProgress:
    return IdempotencyInProgress(f"Permintaan dengan {HEADER} ini masih diproses; ulangi sebentar lagi.")

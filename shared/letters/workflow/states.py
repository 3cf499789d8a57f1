"""A letter's statuses, the compare-and-set that moves it between them, and the step a waiting letter needs.

The workflow says which step a letter needs ("its draft", "its issue"); the edge (shared.queue) decides how a
step becomes a message for a worker. Nothing here names a task.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from functools import cache
from typing import Any, Protocol

from sqlalchemy import Update, bindparam
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, update

from shared.db import table
from shared.errors import Forbidden
from shared.letters.workflow.leases import NO_LEASE
from shared.models import Client, Letter, LetterEvent, LetterStatus, Role, utcnow

Status = LetterStatus


class Step(StrEnum):
    """Work a worker does on a letter."""

    DRAFT = "draft"  # render the draft PDF (and approve it where the village approves the type itself)
    ISSUE = "issue"  # number, render, sign and store the letter


# The step a letter waits for in each status; letters in other statuses wait for nobody but an official.
NEXT_STEP = {Status.SUBMITTED: Step.DRAFT, Status.APPROVED: Step.ISSUE}


class StepRequests(Protocol):
    """Where the workflow asks for a step; True when the request was sent (it may be lost and sent again)."""

    def request(self, step: Step, letter_id: uuid.UUID) -> bool: ...


OFFICIALS_ONLY = "Hanya petugas desa yang boleh melakukan tindakan ini."


def is_official(client: Client) -> bool:
    """Whether client acts for the village office (approves, rejects, revokes, retries)."""
    return client.role == Role.OFFICIAL


def require_official(client: Client) -> Client:
    """client, if an official; else Forbidden (403) with the one message every caller shows."""
    if not is_official(client):
        raise Forbidden(OFFICIALS_ONLY)
    return client


def actor_name(client: Client) -> str:
    """How a client appears in the audit trail."""
    return f"{client.role}:{client.name}"


def transition(session: Session, letter_id: uuid.UUID, *, source: Status, target: Status,
               **values: Any) -> bool:
    """Move a letter from source to target only if it is still in source (one winner under races).

    A new status starts with no attempts, no error and no attempt's lease (a lease is an attempt's at the step from
    the status it leaves), unless values say otherwise.
    """
    values = {"status": target.value, "updated_at": utcnow(), "attempts": 0, "last_error": None, **NO_LEASE,
              **values}
    params = {"letter_id": letter_id, "source": source.value, **{f"new_{name}": new for name, new in values.items()}}
    if session.execute(_core_transition(tuple(values)), params).rowcount != 1:  # type: ignore[attr-defined]
        return False
    # the new values set on the session's copy of the letter, if it holds one (the API answers with it, unread)
    held = session.identity_map.get(identity_key(Letter, letter_id))
    if held is not None:
        for name, new in values.items():
            set_committed_value(held, name, new)
    return True


@cache
def _core_transition(names: tuple[str, ...]) -> Update:
    # Built once per set of columns, with bound parameters: building an UPDATE and its cache key anew cost more CPU
    # than running it. (A SET column's own name is reserved for the parameter SQLAlchemy makes for it.)
    letters = table(Letter)
    return (update(letters).where(letters.c.id == bindparam("letter_id", type_=letters.c.id.type),
                                  letters.c.status == bindparam("source", type_=letters.c.status.type))
            .values({name: bindparam(f"new_{name}") for name in names}))


def failed_from(events: list[LetterEvent]) -> Status:
    """The status a failed letter was in when it failed, as the last of its `failed` events recorded."""
    failed = [event for event in events if event.type == "failed"]
    return Status(failed[-1].detail["from"]) if failed else Status.SUBMITTED

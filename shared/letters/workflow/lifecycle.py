"""The life of a letter: submit, draft, approve, reject, revoke. Every change is compare-and-set."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, tuple_
from sqlmodel import Session, col, select

from shared.config import Settings
from shared.db import as_row, get_existing, saved_id, table
from shared.errors import FieldError, NotFound, ValidationFailed, WrongStatus
from shared.letters.attachments.requirements import confirmed_in_person
from shared.letters.documents.letter_pdf import render_letter
from shared.letters.intake.catalog import load_catalog
from shared.letters.intake.validation import validate_request
from shared.letters.workflow.events import INSERT_EVENT, event_row, letter_events, record_event
from shared.letters.workflow.leases import end_lease_in
from shared.letters.workflow.states import (
    Status,
    actor_name,
    failed_from,
    is_official,
    require_official,
    transition,
)
from shared.letters.workflow.tracking import new_tracking_code
from shared.models import Client, Letter, LetterEvent, Village, utcnow
from shared.storage import LetterFiles
from shared.villages import approval_required, village_emblem, village_today


def submit_letter(*, session: Session, settings: Settings, client: Client, body: Any,
                  now: datetime | None = None) -> Letter:
    """Check a request, store it as `submitted` with its first event, and commit; the letter as stored, held by no
    session (add_letter)."""
    letter, _event = add_letter(session=session, settings=settings, client=client, body=body, now=now)
    session.commit()
    return letter


def add_letter(*, session: Session, settings: Settings, client: Client, body: Any,
               now: datetime | None = None) -> tuple[Letter, LetterEvent]:
    """Check a request as of the village's today (at now) and add it `submitted` with its event; caller commits.

    Both are Core INSERTs (no unit of work: a submission is the API's most frequent write) and come back as objects
    held by no session, for the answer."""
    today = village_today(get_existing(session, Village, client.village_id), now=now)
    request = validate_request(body, load_catalog(settings.templates_dir), today=today)
    at = utcnow()
    letter = Letter(village_id=client.village_id, client_id=saved_id(client), type=request.letter_type.code,
                    status=Status.SUBMITTED.value, applicant=request.applicant, fields=request.fields,
                    tracking_code=new_tracking_code(), created_at=at, updated_at=at)
    # the first event: chained to none, and heard by no webhook (record_event's outbox has no "submitted")
    event = event_row(letter_id=letter.id, type="submitted", actor=actor_name(client))
    if session.get_bind().dialect.name == "postgresql":  # one statement, one round trip (see INSERT_LETTER_AND_EVENT)
        session.execute(INSERT_LETTER_AND_EVENT, {**{f"letter_{name}": value for name, value in as_row(letter).items()},
                                                  **{f"event_{name}": value for name, value in event.items()}})
    else:
        session.execute(INSERT_LETTER, as_row(letter))
        session.execute(INSERT_EVENT, event)
    return letter, LetterEvent(**event)


INSERT_LETTER = insert(table(Letter))  # built once; the row's values come as the execution's parameters


def _insert_letter_and_event() -> Any:
    # PostgreSQL: the letter inserted in a data-modifying WITH, its event inserted after it by the same statement, so
    # a submission sends one statement where it sent two; on its own (autocommit) it needs no BEGIN and COMMIT
    # either. The event's letter comes from the letter's RETURNING, which also orders the two inserts.
    letters, events = table(Letter), table(LetterEvent)
    new_letter = (insert(letters).values({column.name: bindparam(f"letter_{column.name}", type_=column.type)
                                          for column in letters.columns})
                  .returning(letters.c.id).cte("new_letter"))
    columns = [column for column in events.columns if column.name != "id"]  # the id is the database's
    values = [new_letter.c.id if column.name == "letter_id" else bindparam(f"event_{column.name}", type_=column.type)
              for column in columns]
    return insert(events).from_select([column.name for column in columns], select(*values).select_from(new_letter))


INSERT_LETTER_AND_EVENT = _insert_letter_and_event()


def visible_letter(session: Session, client: Client, letter_id: uuid.UUID) -> Letter:
    """The letter if client may see it: a post its own, an official its village's; else NotFound."""
    letter = session.get(Letter, letter_id)
    if letter is None or not _may_see(client, letter):
        raise NotFound("surat tidak ditemukan")
    return letter


def _may_see(client: Client, letter: Letter) -> bool:
    if is_official(client):
        return letter.village_id == client.village_id
    return letter.client_id == client.id


def _encode_cursor(letter: Letter) -> str:
    raw = json.dumps([letter.created_at.isoformat(), letter.id.hex]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        created, hex_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(created), uuid.UUID(hex=hex_id)
    # A cursor comes from the client: any shape of JSON may be inside, nested arbitrarily deep.
    except (ValueError, TypeError, AttributeError, RecursionError, binascii.Error) as exc:
        raise ValidationFailed([FieldError("cursor", "kursor tidak valid")]) from exc


def list_letters(*, session: Session, client: Client, status: str | None = None, type: str | None = None,
                 cursor: str | None = None, limit: int = 20) -> tuple[list[Letter], str | None]:
    """The letters client may see, newest first, a page at a time."""
    query = select(Letter).where(Letter.village_id == client.village_id)
    if not is_official(client):
        query = query.where(Letter.client_id == client.id)
    if status is not None:
        query = query.where(Letter.status == status)
    if type is not None:
        query = query.where(Letter.type == type)
    if cursor:  # a row comparison, which the index reads as where to start (an OR of the two would be a filter)
        query = query.where(tuple_(col(Letter.created_at), col(Letter.id)) < tuple_(*_decode_cursor(cursor)))
    query = query.order_by(col(Letter.created_at).desc(), col(Letter.id).desc()).limit(limit + 1)
    letters = list(session.exec(query).all())
    more = len(letters) > limit
    return letters[:limit], (_encode_cursor(letters[limit - 1]) if more else None)


def letter_and_village(session: Session, letter_id: uuid.UUID) -> tuple[Letter, Village] | None:
    """The letter and its village, read in one statement; None if there is no such letter."""
    row = session.execute(LETTER_AND_VILLAGE, {"letter_id": letter_id}).first()
    return None if row is None else (row[0], row[1])


# Built once, with a bound parameter: building the query and its cache key anew cost a sixth of the issue step's
# claim.
LETTER_AND_VILLAGE = (select(Letter, Village).join(Village)
                      .where(col(Letter.id) == bindparam("letter_id", type_=table(Letter).c.id.type)))


def render_draft(*, session: Session, settings: Settings, letter_id: uuid.UUID, now: datetime | None = None,
                 found: tuple[Letter, Village] | None = None) -> Status | bool:
    """Render and store the draft dated the village's today, then `submitted` -> `awaiting_approval`, and on to
    `approved` in the same commit where the village approves the type itself. The status it left; False if the
    letter was not `submitted`. Repeatable; nothing is held while the draft renders.

    found: the letter and its village as the attempt's count read them (run_attempt's with_letter), else read here."""
    found = found or letter_and_village(session, letter_id)
    if found is None or found[0].status != Status.SUBMITTED:
        return False
    letter, village = found
    letter_type = load_catalog(settings.templates_dir).types[letter.type]
    emblem = village_emblem(village, session)  # read once per emblem and process
    session.close()  # on SQLite the read took the database's write lock: not through the render
    draft = render_letter(letter_type=letter_type, village=village, emblem=emblem, applicant=letter.applicant,
                          fields=letter.fields, letter_date=village_today(village, now=now))
    LetterFiles(settings).write_once(letter.id, "draft", draft.pdf)  # a late worker replaces no newer draft
    if not transition(session, letter.id, source=Status.SUBMITTED, target=Status.AWAITING_APPROVAL):
        session.rollback()
        return False
    record_event(session, letter_id=letter.id, type="draft_rendered", actor="worker", letter=letter)
    left = Status.AWAITING_APPROVAL
    if not approval_required(village, letter.type, letter_type.approval):
        transition(session, letter.id, source=Status.AWAITING_APPROVAL, target=Status.APPROVED)
        record_event(session, letter_id=letter.id, type="approved", actor="system", detail={"automatic": True})
        left = Status.APPROVED
    end_lease_in(session)  # the attempt ends with this commit
    session.commit()
    return left


def approve_automatically(*, session: Session, settings: Settings, letter_id: uuid.UUID) -> bool:
    """Approve a rendered draft of a type the village issues without an official; True if it did.

    For a draft left waiting (rendered before the village switched approval off, sent again by the sweeper);
    render_draft approves a new draft itself."""
    found = letter_and_village(session, letter_id)
    if found is None:
        return False
    letter, village = found
    letter_type = load_catalog(settings.templates_dir).types[letter.type]
    if approval_required(village, letter.type, letter_type.approval):
        return False
    # the status test is the compare-and-set alone: the session may still hold the row as it was before
    if not transition(session, letter.id, source=Status.AWAITING_APPROVAL, target=Status.APPROVED):
        session.rollback()
        return False
    record_event(session, letter_id=letter.id, type="approved", actor="system", detail={"automatic": True})
    session.commit()
    return True


def _official_transition(session: Session, *, letter_id: uuid.UUID, actor: Client, source: Status,
                         target: Status, event: str, detail: dict[str, Any], **values: Any) -> Letter:
    require_official(actor)
    letter = visible_letter(session, actor, letter_id)
    if not transition(session, letter.id, source=source, target=target, **values):
        session.rollback()
        raise WrongStatus(f"surat berstatus '{letter.status}', tindakan ini hanya untuk status '{source}'")
    record_event(session, letter_id=letter.id, type=event, actor=actor_name(actor), detail=detail)
    session.commit()
    # no re-read: the compare-and-set (transition) already set the new values on the letter held in the session
    return letter


def approve_letter(*, session: Session, settings: Settings, letter_id: uuid.UUID, actor: Client,
                   checked_in_person: Collection[str] = ()) -> Letter:
    """An official approves a draft; the worker then numbers, signs and issues it.

    Each required document the post did not attach must be in checked_in_person: the official saw it in person
    (diperiksa langsung). That is recorded in the `approved` event; a missing one unconfirmed is a 422."""
    require_official(actor)
    letter = visible_letter(session, actor, letter_id)
    detail: dict[str, Any] = {}
    if letter.status == Status.AWAITING_APPROVAL:  # otherwise the compare-and-set answers 409
        letter_type = load_catalog(settings.templates_dir).types[letter.type]
        if confirmed := confirmed_in_person(session, letter, letter_type, checked_in_person):
            detail["checked_in_person"] = confirmed
    return _official_transition(session, letter_id=letter_id, actor=actor, source=Status.AWAITING_APPROVAL,
                                target=Status.APPROVED, event="approved", detail=detail)


def reject_letter(*, session: Session, letter_id: uuid.UUID, actor: Client, reason: str) -> Letter:
    """An official turns a draft down, with the reason kept and shown."""
    return _official_transition(session, letter_id=letter_id, actor=actor, source=Status.AWAITING_APPROVAL,
                                target=Status.REJECTED, event="rejected", detail={"reason": reason},
                                reason=reason)


def revoke_letter(*, session: Session, letter_id: uuid.UUID, actor: Client, reason: str) -> Letter:
    """An official withdraws an issued letter; its verification page then says DICABUT."""
    return _official_transition(session, letter_id=letter_id, actor=actor, source=Status.ISSUED,
                                target=Status.REVOKED, event="revoked", detail={"reason": reason},
                                reason=reason, revoked_at=utcnow())


def retry_letter(*, session: Session, letter_id: uuid.UUID, actor: Client) -> Letter:
    """An official sends a failed letter back to the status it failed from; the worker then tries again."""
    require_official(actor)
    target = failed_from(letter_events(session, visible_letter(session, actor, letter_id).id))
    return _official_transition(session, letter_id=letter_id, actor=actor, source=Status.FAILED, target=target,
                                event="retried", detail={"to": target.value})

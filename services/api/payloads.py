"""Reading request bodies and query strings, and the JSON shape of a letter."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError
from sqlmodel import Session
from werkzeug.datastructures import MultiDict

from services.api.context import settings
from services.api.shapes import LetterQuery
from shared.errors import DomainError, FieldError, ValidationFailed
from shared.letters.intake.catalog import load_catalog
from shared.letters.intake.schemas import ActionReason, ApprovalConfirmation, field_errors
from shared.letters.workflow.events import letter_events
from shared.letters.workflow.issuing import verification_url
from shared.letters.workflow.views import letter_view
from shared.models import Client, Letter, LetterEvent

ModelT = TypeVar("ModelT", bound=BaseModel)


class BodyNotJson(DomainError):
    """The body is not JSON, not UTF-8, or not sent as application/json."""

    title = "Permintaan tidak valid"
    slug = "not-json"

    def __init__(self) -> None:
        super().__init__("Isi permintaan harus berupa JSON yang valid (UTF-8) dengan Content-Type: application/json.")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python's json would read NaN and Infinity


def json_body() -> Any:
    """The request's JSON; 400 for a wrong content type or malformed JSON."""
    if not request.is_json:
        raise BodyNotJson()
    try:
        body = json.loads(request.get_data(cache=True), parse_constant=_no_constant)
        # I-JSON (RFC 7493): a lone surrogate ("\ud800"), even in a key, cannot be stored, hashed or echoed.
        json.dumps(body, ensure_ascii=False).encode()
    except (ValueError, RecursionError) as exc:  # RecursionError: arrays nested thousands deep
        raise BodyNotJson() from exc
    return body


def _checked(model: type[ModelT], data: Any) -> ModelT:
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError("(body)", "isi permintaan harus berupa objek JSON")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(field_errors(exc)) from exc


def reason_from(body: Any) -> str:
    """The `reason` of a reject or revoke body: 3 to 500 printable characters."""
    return _checked(ActionReason, body).reason


def checked_in_person() -> list[str]:
    """The kinds an approval confirms were seen in person; an empty body confirms none (still valid)."""
    if not request.get_data(cache=True):
        return []
    return _checked(ApprovalConfirmation, json_body()).checked_in_person


def checked_query(model: type[ModelT], args: MultiDict[str, str]) -> ModelT:
    """A query string checked against model; 422 naming each parameter at fault."""
    return _checked(model, args.to_dict())


def query_filters(args: MultiDict[str, str]) -> dict[str, Any]:
    """status, type, cursor and limit from the query string, checked (LetterQuery)."""
    query = _checked(LetterQuery, args.to_dict())
    if query.type is not None and load_catalog(settings().templates_dir).get(query.type) is None:
        raise ValidationFailed([FieldError("type", "jenis surat tidak dikenal")])
    return query.model_dump()


def letter_json(session: Session, letter: Letter, *, viewer: Client, with_events: bool = True,
                events: list[LetterEvent] | None = None) -> dict[str, Any]:
    """A letter as JSON for viewer, a client allowed to see it (shared.letters.workflow.views.LetterView).

    events, when given, are the letter's events (e.g. those of a letter added in this session); else they are read.
    """
    letter_type = load_catalog(settings().templates_dir).get(letter.type)
    token = letter.verification_token
    if with_events and events is None:
        events = letter_events(session, letter.id)
    view = letter_view(letter, viewer=viewer, title=letter_type.title if letter_type else letter.type,
                       verification_url=verification_url(settings(), token) if token else None,
                       events=events or [], with_events=with_events)
    body = view.model_dump(mode="json")
    if not with_events:
        del body["events"]
    return body

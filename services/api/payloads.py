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
from shared.letters.intake.schemas import ActionReason, field_errors
from shared.letters.workflow.events import letter_events
from shared.letters.workflow.issuing import verification_url
from shared.models import Letter, as_utc

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


def query_filters(args: MultiDict[str, str]) -> dict[str, Any]:
    """status, type, cursor and limit from the query string, checked (LetterQuery)."""
    query = _checked(LetterQuery, args.to_dict())
    if query.type is not None and load_catalog(settings().templates_dir).get(query.type) is None:
        raise ValidationFailed([FieldError("type", "jenis surat tidak dikenal")])
    return query.model_dump()


def _time(value: Any) -> str | None:
    moment = as_utc(value)
    return moment.isoformat() if moment else None


def letter_json(session: Session, letter: Letter, *, with_events: bool = True) -> dict[str, Any]:
    """A letter as the API shows it to a client allowed to see it."""
    letter_type = load_catalog(settings().templates_dir).get(letter.type)
    body: dict[str, Any] = {
        "id": str(letter.id), "type": letter.type, "title": letter_type.title if letter_type else letter.type,
        "status": letter.status, "number": letter.number, "verification_url": (
            verification_url(settings(), letter.verification_token) if letter.verification_token else None),
        "created_at": _time(letter.created_at), "updated_at": _time(letter.updated_at),
        "issued_at": _time(letter.issued_at), "revoked_at": _time(letter.revoked_at),
        "reason": letter.reason, "last_error": letter.last_error, "pdf_sha256": letter.pdf_sha256,
        "applicant": letter.applicant, "fields": letter.fields,
    }
    if with_events:
        body["events"] = [{"type": e.type, "at": _time(e.at), "actor": e.actor, **e.detail}
                          for e in letter_events(session, letter.id)]
    return body

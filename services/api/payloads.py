"""Reading request bodies and query strings, and the JSON shape of a letter."""

from __future__ import annotations

from typing import Any

from flask import request
from sqlmodel import Session
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest

from services.api.context import settings
from shared.errors import FieldError, ValidationFailed
from shared.letters.catalog import load_catalog
from shared.letters.events import letter_events
from shared.models import Letter, LetterStatus, as_utc


class BodyNotJson(BadRequest):
    description = "Isi permintaan harus berupa JSON yang valid dengan Content-Type: application/json."


def json_body() -> Any:
    """The request's JSON; 400 for a wrong content type or malformed JSON."""
    if not request.is_json:
        raise BodyNotJson()
    try:
        return request.get_json(force=False, silent=False)
    except BadRequest as exc:
        raise BodyNotJson() from exc


def reason_from(body: Any) -> str:
    """The `reason` of a reject or revoke body: 3 to 500 characters."""
    if not isinstance(body, dict):
        raise ValidationFailed([FieldError("(body)", "isi permintaan harus berupa objek JSON")])
    unknown = [FieldError(key, "kolom tidak dikenal") for key in body if key != "reason"]
    reason = body.get("reason")
    if not isinstance(reason, str) or not 3 <= len(reason.strip()) <= 500:
        unknown.append(FieldError("reason", "wajib diisi, 3 sampai 500 karakter"))
    if unknown:
        raise ValidationFailed(unknown)
    return reason.strip()  # type: ignore[union-attr]


def query_filters(args: MultiDict[str, str]) -> dict[str, Any]:
    """status, type, cursor and limit from the query string, checked."""
    errors = [FieldError(key, "parameter tidak dikenal") for key in args
              if key not in ("status", "type", "cursor", "limit")]
    status, letter_type = args.get("status"), args.get("type")
    if status is not None and status not in {s.value for s in LetterStatus}:
        errors.append(FieldError("status", "status tidak dikenal"))
    if letter_type is not None and load_catalog(settings().templates_dir).get(letter_type) is None:
        errors.append(FieldError("type", "jenis surat tidak dikenal"))
    limit = args.get("limit", "20")
    if not limit.isdigit() or not 1 <= int(limit) <= 100:
        errors.append(FieldError("limit", "harus bilangan 1 sampai 100"))
    if errors:
        raise ValidationFailed(errors)
    return {"status": status, "type": letter_type, "cursor": args.get("cursor"), "limit": int(limit)}


def _time(value: Any) -> str | None:
    moment = as_utc(value)
    return moment.isoformat() if moment else None


def verification_url(letter: Letter) -> str | None:
    """Where the letter's QR code leads, once it is issued."""
    if letter.verification_token is None:
        return None
    return f"{settings().public_base_url.rstrip('/')}/v/{letter.verification_token}"


def letter_json(session: Session, letter: Letter, *, with_events: bool = True) -> dict[str, Any]:
    """A letter as the API shows it to a client allowed to see it."""
    letter_type = load_catalog(settings().templates_dir).get(letter.type)
    body: dict[str, Any] = {
        "id": str(letter.id), "type": letter.type, "title": letter_type.title if letter_type else letter.type,
        "status": letter.status, "number": letter.number, "verification_url": verification_url(letter),
        "created_at": _time(letter.created_at), "updated_at": _time(letter.updated_at),
        "issued_at": _time(letter.issued_at), "revoked_at": _time(letter.revoked_at),
        "reason": letter.reason, "last_error": letter.last_error, "pdf_sha256": letter.pdf_sha256,
        "applicant": letter.applicant, "fields": letter.fields,
    }
    if with_events:
        body["events"] = [{"type": e.type, "at": _time(e.at), "actor": e.actor, **e.detail}
                          for e in letter_events(session, letter.id)]
    return body

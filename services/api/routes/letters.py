"""Letters: submit, read, list, download, and the officials' actions."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for

from services.api.auth import current_client, require_official
from services.api.context import db_session, settings, task_queue
from services.api.payloads import checked_in_person, json_body, letter_json, query_filters, reason_from
from shared.db import statements_commit_alone
from shared.errors import NotFound, WrongStatus
from shared.letters.workflow import lifecycle
from shared.letters.workflow.idempotency import HEADER, parse_key, submit_once
from shared.letters.workflow.states import NEXT_STEP, Step
from shared.models import LetterStatus
from shared.storage import LetterFiles, letter_key, open_store

log = logging.getLogger(__name__)
bp = Blueprint("letters", __name__, url_prefix="/api/v1/letters")


@bp.before_request
def _authenticate() -> None:
    """Every letters route needs a valid token before its input is even read (401 first).

    A submission without an Idempotency-Key writes one statement (its letter with its first event, see
    lifecycle.add_letter): on PostgreSQL its session then sends no BEGIN and no COMMIT, the token's read included."""
    if request.endpoint == "letters.submit" and HEADER not in request.headers:
        statements_commit_alone(db_session())
    current_client()


@bp.post("")
def submit():
    """Validate, store (committed), then enqueue; 202 with the letter. A known Idempotency-Key replays.

    The answer's events are the new letter's own "submitted" event, as written, not read back.
    """
    client = current_client()
    key = parse_key(request.headers.get(HEADER))
    answer = submit_once(session=db_session(), settings=settings(), client=client, body=json_body(), key=key,
                         respond=lambda letter, event: letter_json(db_session(), letter, viewer=client, events=[event]))
    if not answer.replayed:
        log.info("letter %s submitted by client %s", answer.letter_id, client.id)
        task_queue().request(Step.DRAFT, answer.letter_id)  # on failure the sweeper sends it later
    response = jsonify(answer.body)
    response.status_code = answer.status
    response.headers["Location"] = url_for("letters.show", letter_id=answer.letter_id)
    if answer.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.get("")
def index():
    """The letters the caller may see, newest first, with a cursor for the next page."""
    filters, client = query_filters(request.args), current_client()
    letters, next_cursor = lifecycle.list_letters(session=db_session(), client=client, **filters)
    return jsonify(items=[letter_json(db_session(), letter, viewer=client, with_events=False) for letter in letters],
                   next_cursor=next_cursor)


@bp.get("/<uuid:letter_id>")
def show(letter_id: uuid.UUID):
    """One letter with its events."""
    client = current_client()
    letter = lifecycle.visible_letter(db_session(), client, letter_id)
    return jsonify(letter_json(db_session(), letter, viewer=client))


def _pdf_response(letter_id: uuid.UUID, kind: str, filename: str) -> Response:
    """The stored PDF streamed through the API, or 302 to a short-lived presigned URL of the object store."""
    store, key = open_store(settings()), letter_key(letter_id, kind)
    url = store.download_url(key, filename=filename, content_type="application/pdf")
    if url is not None:
        moved = Response(status=302, headers={"Location": url, "Cache-Control": "no-store"})
        return moved
    found = store.stream(key)
    if found is None:
        raise NotFound("berkas PDF tidak ditemukan")
    chunks, length = found
    response = Response(chunks, mimetype="application/pdf", direct_passthrough=True)
    response.headers["Content-Length"] = str(length)
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@bp.get("/<uuid:letter_id>/draft.pdf")
def draft_pdf(letter_id: uuid.UUID):
    """The draft PDF once the worker has rendered it; 409 while there is none (not yet, or its render failed)."""
    letter = lifecycle.visible_letter(db_session(), current_client(), letter_id)
    if not LetterFiles(settings()).exists(letter.id, "draft"):
        if letter.status == LetterStatus.FAILED:
            raise WrongStatus("Konsep surat gagal dibuat; petugas dapat mencoba lagi setelah penyebabnya diperbaiki.")
        raise WrongStatus("Konsep surat belum selesai dibuat; coba lagi sebentar lagi.")
    return _pdf_response(letter.id, "draft", f"konsep-{letter.type}-{letter.id.hex[:8]}.pdf")


@bp.get("/<uuid:letter_id>/pdf")
def issued_pdf(letter_id: uuid.UUID):
    """The signed PDF, named after the letter number (never the NIK); 409 before it is issued."""
    letter = lifecycle.visible_letter(db_session(), current_client(), letter_id)
    # a letter numbered by an issue not yet finished (status still approved) has no PDF to give either
    if letter.number is None or letter.status not in (LetterStatus.ISSUED, LetterStatus.REVOKED):
        raise WrongStatus("Surat belum diterbitkan; PDF bertanda tangan belum tersedia.")
    filename = "surat-" + re.sub(r"[^A-Za-z0-9.]+", "-", letter.number).strip("-") + ".pdf"
    return _pdf_response(letter.id, "issued", filename)


def _act(action: Any, letter_id: uuid.UUID, **kwargs: Any) -> Response:
    official = require_official()
    letter = action(session=db_session(), letter_id=letter_id, actor=official, **kwargs)
    log.info("letter %s is now %s", letter.id, letter.status)
    return jsonify(letter_json(db_session(), letter, viewer=official))


@bp.post("/<uuid:letter_id>/approve")
def approve(letter_id: uuid.UUID):
    """An official approves, confirming documents seen in person if any are missing; the worker then issues it."""
    require_official()
    response = _act(lifecycle.approve_letter, letter_id, settings=settings(), checked_in_person=checked_in_person())
    task_queue().request(Step.ISSUE, letter_id)
    return response


@bp.post("/<uuid:letter_id>/retry")
def retry(letter_id: uuid.UUID):
    """An official sends a failed letter back to the status it failed from, and its task runs again."""
    official = require_official()
    letter = lifecycle.retry_letter(session=db_session(), letter_id=letter_id, actor=official)
    log.info("letter %s retried from %s", letter.id, letter.status)
    task_queue().request(NEXT_STEP[LetterStatus(letter.status)], letter.id)
    return jsonify(letter_json(db_session(), letter, viewer=official))


@bp.post("/<uuid:letter_id>/reject")
def reject(letter_id: uuid.UUID):
    """An official rejects a draft with a reason."""
    require_official()  # a hamlet post gets 403 whatever its body says
    return _act(lifecycle.reject_letter, letter_id, reason=reason_from(json_body()))


@bp.post("/<uuid:letter_id>/revoke")
def revoke(letter_id: uuid.UUID):
    """An official revokes an issued letter with a reason."""
    require_official()
    return _act(lifecycle.revoke_letter, letter_id, reason=reason_from(json_body()))

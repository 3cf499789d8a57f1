"""The hamlet post's pages: its requests with their live status, and the request form of each letter type."""

from __future__ import annotations

import logging
import uuid

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for

from services.api.context import db_session, settings, task_queue
from services.web.labels import status_label
from services.web.request_form import blank_body, body_from_form, change_rows, errors_by_field
from services.web.session import background, signed_in, staff
from shared.errors import ValidationFailed
from shared.letters.intake.catalog import LetterType, load_catalog
from shared.letters.workflow import lifecycle
from shared.letters.workflow.idempotency import submit_once
from shared.letters.workflow.states import Step
from shared.models import Letter, LetterStatus, Role

log = logging.getLogger(__name__)
bp = Blueprint("post", __name__, url_prefix="/pos")
LISTED = 50


def _letter_type(code: str) -> LetterType:
    letter_type = load_catalog(settings().templates_dir).get(code)
    if letter_type is None:
        abort(404)
    return letter_type


def _row(letter: Letter) -> dict[str, object]:
    issued = letter.status in (LetterStatus.ISSUED, LetterStatus.REVOKED)
    return {"id": str(letter.id), "status": letter.status, "label": status_label(letter.status),
            "pdf": url_for("web.letters.pdf", letter_id=letter.id) if issued else None}


@bp.get("")
@signed_in(Role.POST)
def index():
    """The post's requests, newest first; the status column updates itself (static/pages.js polls status)."""
    letters, _ = lifecycle.list_letters(session=db_session(), client=staff().client, limit=LISTED)
    catalog = load_catalog(settings().templates_dir)
    return render_template("web/post_index.html", letters=letters, catalog=catalog, rows=[_row(x) for x in letters])


@bp.get("/status")
@background
@signed_in(Role.POST)
def status():
    """The statuses of the post's newest requests, as JSON for the list page's polling."""
    letters, _ = lifecycle.list_letters(session=db_session(), client=staff().client, limit=LISTED)
    return jsonify(letters=[_row(letter) for letter in letters])


@bp.get("/ajukan")
@signed_in(Role.POST)
def choose_type():
    """The letter types to choose from."""
    return render_template("web/choose_type.html", types=load_catalog(settings().templates_dir).types.values())


def _form(letter_type: LetterType, body: dict, errors: dict[str, str], key: str, status: int = 200):
    return render_template("web/request_form.html", letter_type=letter_type, body=body, errors=errors,
                           idempotency_key=key), status


@bp.get("/ajukan/<code>")
@signed_in(Role.POST)
def new_request(code: str):
    """An empty request form for the type."""
    letter_type = _letter_type(code)
    return _form(letter_type, blank_body(letter_type), {}, str(uuid.uuid4()))


@bp.post("/ajukan/<code>")
@signed_in(Role.POST)
def submit(code: str):
    """Submit the form as the API would; errors come back beside their fields with the typed values kept.

    The form's hidden key is an Idempotency-Key: a form sent twice (a slow connection, a double tap) makes one
    letter. A button adding or removing a row of a persons table re-renders the form instead."""
    letter_type = _letter_type(code)
    body = body_from_form(request.form, letter_type)
    key = request.form.get("idempotency_key") or str(uuid.uuid4())
    if action := request.form.get("action"):
        change_rows(body, action, letter_type)
        return _form(letter_type, body, {}, key)
    client = staff().client
    try:
        answer = submit_once(session=db_session(), settings=settings(), client=client, body=body, key=key[:255],
                             respond=lambda letter, _event: {"id": str(letter.id)})
    except ValidationFailed as failed:
        db_session().rollback()
        return _form(letter_type, body, errors_by_field(failed.errors), key, 422)
    if not answer.replayed:
        log.info("letter %s submitted from the pages by client %s", answer.letter_id, client.id)
        task_queue().request(Step.DRAFT, answer.letter_id)
    return redirect(url_for("web.letters.receipt", letter_id=answer.letter_id), code=303)

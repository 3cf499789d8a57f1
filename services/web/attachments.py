"""A letter's required documents (syarat) on its page: the submitting post uploads them before approval; it and
the village's officials open them. Both call the same domain functions as the JSON API."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from flask import Blueprint, Response, flash, redirect, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response as Redirect

from services.api.context import db_session, settings
from services.web.session import signed_in, staff
from shared.errors import ValidationFailed
from shared.letters.attachments.content import (
    EXTENSIONS,
    MAX_ATTACHMENT_BYTES,
    UPLOAD_BODY_BYTES,
    FileTooLarge,
)
from shared.letters.attachments.documents import (
    OPEN_STATUSES,
    AttachmentView,
    add_attachment,
    attachment_file,
    letter_attachments,
)
from shared.letters.intake.catalog import LetterType
from shared.models import Letter, Role

log = logging.getLogger(__name__)
bp = Blueprint("attachments", __name__, url_prefix="/surat/<uuid:letter_id>/lampiran")


@bp.url_value_preprocessor
def _room_for_uploads(endpoint: str | None, _values: object) -> None:
    # Runs before every before_request (the pages' CSRF check reads the form): the 2 MB file fits, not only 1 MB.
    if endpoint == "web.attachments.upload" and request.method == "POST":
        request.max_content_length = UPLOAD_BODY_BYTES


def _back(letter_id: uuid.UUID) -> Redirect:
    return redirect(url_for("web.letters.show", letter_id=letter_id, _anchor="syarat"), code=303)


def _show_beside_fields(error: ValidationFailed) -> None:
    """Each field's message for the letter page to print beside that field (flash category field:<name>)."""
    for field_error in error.errors:
        if field_error.field == "kind":
            flash(f"Jenis dokumen {field_error.message}.", "field:kind")
        else:  # the file's own sentence says what to do: scan again, smaller, as JPEG/PNG/PDF
            flash(error.detail or field_error.message, "field:file")


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_error: RequestEntityTooLarge) -> Redirect:
    """Far over the limit, the form is not read at all: the letter page says why, beside the file field."""
    _show_beside_fields(FileTooLarge())
    return _back(request.view_args["letter_id"] if request.view_args else uuid.UUID(int=0))


@bp.post("")
@signed_in(Role.POST)
def upload(letter_id: uuid.UUID) -> Redirect:
    """Multipart `kind` and `file` from the letter page; a refused file is named beside its field."""
    data = None
    if file := request.files.get("file"):
        try:
            data = file.stream.read(MAX_ATTACHMENT_BYTES + 1)
        finally:
            file.close()
    try:
        attachment, letter_type = add_attachment(session=db_session(), settings=settings(), client=staff().client,
                                                 letter_id=letter_id, kind=request.form.get("kind"), data=data)
    except ValidationFailed as error:
        db_session().rollback()
        _show_beside_fields(error)
        return _back(letter_id)
    requirement = letter_type.requirement(attachment.kind)
    log.info("attachment %s (%s, %d bytes) added to letter %s from the page", attachment.id,
             attachment.content_type, attachment.size, letter_id)
    flash(f"{requirement.label if requirement else attachment.kind} dilampirkan.")
    return _back(letter_id)


@bp.get("/<uuid:attachment_id>")
@signed_in()
def download(letter_id: uuid.UUID, attachment_id: uuid.UUID) -> Response:
    """The stored (cleaned) document as a download: never shown inline, never sniffed as something else."""
    attachment, data = attachment_file(session=db_session(), settings=settings(), client=staff().client,
                                       letter_id=letter_id, attachment_id=attachment_id)
    response = Response(data, mimetype=attachment.content_type)
    filename = f"lampiran-{attachment.kind}-{attachment.id.hex[:8]}.{EXTENSIONS[attachment.content_type]}"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@dataclass(frozen=True)
class Requirement:
    """One required document as the letter page lists it: attached (with each upload) or missing."""

    kind: str
    label: str
    attached: list[AttachmentView]


def requirement_rows(letter: Letter, letter_type: LetterType | None) -> list[Requirement]:
    """The type's required documents, in its order, each with the letter's uploads of that kind."""
    views = letter_attachments(session=db_session(), settings=settings(), client=staff().client,
                               letter_id=letter.id)
    return [Requirement(r.kind, r.label, [v for v in views if v.kind == r.kind])
            for r in (letter_type.requirements if letter_type else [])]


def may_upload(letter: Letter) -> bool:
    """Whether the signed-in person may attach documents to the letter now (its post, before a decision)."""
    return letter.client_id == staff().client.id and letter.status in OPEN_STATUSES

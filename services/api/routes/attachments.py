"""A letter's required documents (syarat): the submitting post uploads them; it and the village's officials read."""

from __future__ import annotations

import logging
import uuid

from flask import Blueprint, Response, jsonify, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from services.api.auth import current_client
from services.api.context import db_session, settings
from services.api.problems import problem
from shared.letters.attachments.content import (
    EXTENSIONS,
    MAX_ATTACHMENT_BYTES,
    UPLOAD_BODY_BYTES,
    FileTooLarge,
)
from shared.letters.attachments.documents import (
    add_attachment,
    attachment_file,
    attachment_view,
    letter_attachments,
)

log = logging.getLogger(__name__)
bp = Blueprint("attachments", __name__, url_prefix="/api/v1/letters/<uuid:letter_id>/attachments")


@bp.url_value_preprocessor
def _room_for_uploads(endpoint: str | None, _values: object) -> None:
    # Runs before every before_request (the app receives the body first): an upload may be larger than 1 MB.
    if endpoint == "attachments.upload" and request.method == "POST":
        request.max_content_length = UPLOAD_BODY_BYTES


@bp.before_request
def _authenticate() -> None:
    """A valid token before any input is looked at (401 first)."""
    current_client()


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_error: RequestEntityTooLarge) -> Response:
    error = FileTooLarge()
    return problem(error.status, error.title, error.detail, slug=error.slug,
                   errors=[{"field": e.field, "message": e.message} for e in error.errors])


@bp.post("")
def upload(letter_id: uuid.UUID) -> tuple[Response, int]:
    """Multipart `kind` and `file`: checked by content, images cleaned of metadata; 201 with the attachment."""
    client = current_client()
    data = None
    if file := request.files.get("file"):
        try:
            data = file.stream.read(MAX_ATTACHMENT_BYTES + 1)
        finally:
            file.close()  # a large upload is spooled to a temporary file: closed now, not by the collector
    attachment, letter_type = add_attachment(session=db_session(), settings=settings(), client=client,
                                             letter_id=letter_id, kind=request.form.get("kind"), data=data)
    log.info("attachment %s (%s, %d bytes) added to letter %s", attachment.id, attachment.content_type,
             attachment.size, letter_id)
    response = jsonify(attachment_view(attachment, letter_type).model_dump(mode="json"))
    response.headers["Location"] = url_for("attachments.download", letter_id=letter_id, attachment_id=attachment.id)
    return response, 201


@bp.get("")
def index(letter_id: uuid.UUID) -> Response:
    """The letter's attachments, oldest first (no file names: they are not kept)."""
    views = letter_attachments(session=db_session(), settings=settings(), client=current_client(),
                               letter_id=letter_id)
    return jsonify([view.model_dump(mode="json") for view in views])


@bp.get("/<uuid:attachment_id>")
def download(letter_id: uuid.UUID, attachment_id: uuid.UUID) -> Response:
    """The stored (cleaned) bytes, as a download named by kind and id."""
    attachment, data = attachment_file(session=db_session(), settings=settings(), client=current_client(),
                                       letter_id=letter_id, attachment_id=attachment_id)
    response = Response(data, mimetype=attachment.content_type)
    filename = f"lampiran-{attachment.kind}-{attachment.id.hex[:8]}.{EXTENSIONS[attachment.content_type]}"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response

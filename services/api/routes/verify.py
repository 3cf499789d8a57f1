"""The public verification page a QR code leads to, in HTML for people and JSON for machines."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, render_template, request
from werkzeug.exceptions import RequestEntityTooLarge

from services.api.context import db_session, settings
from services.api.problems import problem
from services.api.security import count_unknown_token, count_upload_check
from shared.errors import DomainError
from shared.letters.signing.verification import check_upload, find_by_token, public_view
from shared.models import Letter, Village

log = logging.getLogger(__name__)
bp = Blueprint("verify", __name__)

# The token lives in the URL: no referrer, no caching (a revoked letter must not show as valid), no framing.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
}
NOT_FOUND = "Surat tidak terdaftar di sistem desa. Surat ini mungkin palsu atau kodenya salah dibaca."


@bp.after_request
def _secure(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    response.vary.add("Accept")
    return response


def _wants_json() -> bool:
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def _letter(token: str) -> tuple[Letter, Village] | None:
    session = db_session()
    letter = find_by_token(session, token)
    village = session.get(Village, letter.village_id) if letter else None
    # End the read now: the page still reads the PDF, and may check an upload, before it answers (on SQLite a
    # POST's transaction holds the write lock, BEGIN IMMEDIATE). The loaded rows stay readable.
    session.close()
    return (letter, village) if letter and village else None


def _not_found() -> Response | tuple[str, int]:
    count_unknown_token()  # only unknown codes count: a genuine one is always answered
    if _wants_json():
        return problem(404, "Surat tidak ditemukan", NOT_FOUND, slug="letter-not-found")
    return render_template("verify/not_found.html", explanation=NOT_FOUND), 404


def _page(letter: Letter, village: Village, status: int = 200, **extra: object) -> tuple[str, int]:
    view = public_view(letter, village, settings())
    return render_template("verify/letter.html", view=view, token=letter.verification_token, **extra), status


@bp.get("/v/<token>")
def page(token: str):
    """The letter's verdict (SAH / DICABUT) and public facts; 404 TIDAK DITEMUKAN for an unknown token."""
    found = _letter(token)
    if found is None:
        return _not_found()
    log.info("verification page shown for letter %s", found[0].id)
    if _wants_json():
        return public_view(*found, settings())
    return _page(*found)


@bp.post("/v/<token>/check")
def check(token: str):
    """Compare an uploaded PDF with the issued letter and check its signature."""
    count_upload_check()  # every upload is parsed and validated: each one counts
    found = _letter(token)
    if found is None:
        return _not_found()
    upload = request.files.get("file")
    try:
        result = check_upload(found[0], upload.read() if upload else None, settings())
    except DomainError as error:
        if _wants_json():
            raise
        return _page(*found, status=error.status, upload_error=error.detail)
    log.info("uploaded file checked against letter %s: identical=%s, signature valid=%s",
             found[0].id, result.identical, result.signature.valid)
    if _wants_json():
        return {**public_view(*found, settings()), "check": result.as_json()}
    return _page(*found, check=result)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_error: RequestEntityTooLarge):
    detail = "Berkas terlalu besar; surat desa berukuran kurang dari 1 MB."
    found = _letter(request.view_args.get("token", "")) if request.view_args else None
    if found is None:
        return _not_found()
    if _wants_json():
        return problem(413, "Berkas terlalu besar", detail)
    return _page(*found, status=413, upload_error=detail)

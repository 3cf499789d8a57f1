"""Errors on the pages are pages, in Indonesian, with the status the API would give."""

from __future__ import annotations

import logging

from flask import Blueprint, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from services.api.problems import HTTP_TITLES
from shared.errors import DomainError

log = logging.getLogger(__name__)
CSRF_EXPIRED = ("Formulir ini sudah kedaluwarsa atau tidak dikirim dari halaman ini. Muat ulang halaman, "
                "lalu kirim lagi.")


def _page(status: int, title: str, detail: str, headers: dict[str, str] | None = None):
    return render_template("web/error.html", title=title, detail=detail, status=status), status, headers or {}


def _domain_error(error: DomainError):
    retry_after = getattr(error, "retry_after", None)  # a rate limit's 429
    return _page(error.status, error.title, error.detail, {"Retry-After": str(retry_after)} if retry_after else None)


def _csrf_error(error: CSRFError):
    log.info("form refused: %s", error.description)
    return _page(400, "Formulir tidak berlaku", CSRF_EXPIRED)


def _http_error(error: HTTPException):
    status = error.code or 500
    title, detail = HTTP_TITLES.get(status, (error.name, error.description or ""))
    return _page(status, title, detail)


def register_page_errors(bp: Blueprint) -> None:
    """Domain and HTTP errors raised by a page render the error page (the app maps the rest to problem+json)."""
    bp.register_error_handler(DomainError, _domain_error)
    bp.register_error_handler(CSRFError, _csrf_error)
    bp.register_error_handler(HTTPException, _http_error)

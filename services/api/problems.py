"""RFC 9457 problem+json responses, and the one place errors become them."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

from shared.db import DATABASE_UNAVAILABLE
from shared.errors import DomainError, ServiceUnavailable, ValidationFailed

log = logging.getLogger(__name__)

HTTP_TITLES = {
    400: ("Permintaan tidak valid", "Permintaan tidak dapat dibaca."),
    401: ("Perlu autentikasi", "Sertakan header Authorization: Bearer <token> yang berlaku."),
    403: ("Tidak diizinkan", "Anda tidak berhak melakukan tindakan ini."),
    404: ("Tidak ditemukan", "Alamat yang diminta tidak ada."),
    405: ("Metode tidak diizinkan", "Metode HTTP ini tidak didukung untuk alamat ini."),
    413: ("Permintaan terlalu besar", "Isi permintaan melebihi batas 1 MB."),
    415: ("Jenis konten tidak didukung", "Kirim isi permintaan sebagai application/json."),
    429: ("Terlalu banyak permintaan", "Terlalu banyak permintaan; coba lagi nanti."),
    500: ("Kesalahan server", "Terjadi kesalahan pada server; permintaan tidak diproses."),
}


def problem(status: int, title: str, detail: str, *, slug: str = "about:blank",
            headers: dict[str, str] | None = None, **extensions: Any) -> Response:
    """A problem+json response; `type` is a stable URI naming the kind of problem."""
    body = {"type": slug if slug == "about:blank" else f"https://suratdesa.id/problems/{slug}",
            "title": title, "status": status, "detail": detail, "instance": request.path, **extensions}
    # ASCII escapes: whatever a client sent and an error echoes (a field name) must still encode.
    response = Response(json.dumps(body, ensure_ascii=True), status=status, mimetype="application/problem+json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _domain_error(error: DomainError) -> Response:
    extensions: dict[str, Any] = {}
    headers = {}
    if isinstance(error, ValidationFailed):
        extensions["errors"] = [{"field": e.field, "message": e.message} for e in error.errors]
    if getattr(error, "retry_after", None):
        headers["Retry-After"] = str(error.retry_after)  # type: ignore[attr-defined]
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="suratdesa"'
    return problem(error.status, error.title, error.detail, slug=error.slug, headers=headers, **extensions)


def _http_error(error: HTTPException) -> Response:
    if error.response is not None:  # already a finished answer
        return error.response  # type: ignore[return-value]
    status = error.code or 500
    title, detail = HTTP_TITLES.get(status, (error.name, error.description or ""))
    headers = {k: v for k, v in error.get_headers() if k.lower() in ("allow", "retry-after")}
    return problem(status, title, detail, headers=headers)


def _database_unavailable(error: Exception) -> Response:
    # Down, restarting or unreachable: nothing was stored, and the pool reconnects once the database is back.
    log.warning("database unavailable on %s %s: %s", request.method, request.path, error)
    return _domain_error(ServiceUnavailable("Basis data sementara tidak dapat dihubungi; coba lagi sebentar lagi."))


def _unexpected(error: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return problem(500, "Kesalahan server", "Terjadi kesalahan pada server; permintaan tidak diproses.")


def register_error_handlers(app: Flask) -> None:
    """Map domain errors, HTTP errors and anything unexpected to problem+json."""
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(HTTPException, _http_error)
    for database_error in DATABASE_UNAVAILABLE:
        app.register_error_handler(database_error, _database_unavailable)
    app.register_error_handler(Exception, _unexpected)

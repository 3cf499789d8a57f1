"""Response headers every answer carries, and rate limits on failed authentication and unknown tokens."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import cast

from flask import Blueprint, Flask, Response, request
from flask_limiter import ApplicationLimit, Limiter, RequestLimit
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

from services.api.problems import problem
from shared.config import Settings

# Pages may set their own, stricter or looser, policy (the verification page does); these are the floor.
BASELINE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
AUTH_FAILURES = ("Terlalu banyak percobaan dengan token yang tidak berlaku dari alamat ini. "
                 "Coba lagi dalam {wait} detik.")
VERIFY_MISSES = ("Terlalu banyak pemeriksaan kode surat yang tidak terdaftar dari alamat ini. "
                 "Coba lagi dalam {wait} detik.")


def _secure_headers(response: Response) -> Response:
    for name, value in BASELINE_HEADERS.items():
        response.headers.setdefault(name, value)
    # A CSP on a PDF can leave browsers' built-in viewers blank; X-Frame-Options still refuses framing.
    if response.mimetype != "application/pdf":
        response.headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")  # letters carry NIKs: never cache them
    return response


def _too_many(detail: str) -> Callable[[RequestLimit], Response]:
    """An on_breach callback answering 429 problem+json with Retry-After."""
    def respond(limit: RequestLimit) -> Response:
        wait = max(1, limit.reset_at - int(time.time()))
        return problem(429, "Terlalu banyak permintaan", detail.format(wait=wait), slug="rate-limited",
                       headers={"Retry-After": str(wait)})
    return respond


def _counts_status(status: int) -> Callable[[Response], bool]:
    return lambda response: response.status_code == status


def make_limiter(app: Flask, settings: Settings) -> Limiter:
    """Flask-Limiter on app: failed authentication app-wide, unknown verification tokens on /v/."""
    # Only a 401 is a failed authentication, and only the API answers 401: one application-wide limit
    # covers every route, present and future. Checked before each request, counted after a 401.
    failed_auth = ApplicationLimit(settings.auth_failure_limit, scope="auth-failure",
                                   deduct_when=_counts_status(401), on_breach=_too_many(AUTH_FAILURES))
    redis = settings.ratelimit_storage.startswith(("redis://", "rediss://"))
    limiter = Limiter(
        get_remote_address, app=app, storage_uri=settings.ratelimit_storage, key_prefix="suratdesa-ratelimit",
        storage_options={"socket_connect_timeout": 1, "socket_timeout": 1} if redis else {},
        application_limits=[failed_auth], headers_enabled=False,
        # Redis down must not take the API down: fall back to per-process counters, and never fail a request.
        in_memory_fallback_enabled=True, swallow_errors=True,
    )
    verify_misses = limiter.shared_limit(settings.verify_miss_limit, scope="verify-miss",
                                         deduct_when=_counts_status(404), on_breach=_too_many(VERIFY_MISSES))
    if "verify" in app.blueprints:  # the public verification pages (services/api/routes/verify.py)
        verify_misses(cast(Blueprint, app.blueprints["verify"]))
    return limiter


def register_security(app: Flask, settings: Settings) -> None:
    """Baseline headers on every response; rate limits; client addresses through trusted proxies."""
    app.after_request(_secure_headers)
    app.extensions["suratdesa.limiter"] = make_limiter(app, settings)
    if settings.trusted_proxy_count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxy_count)  # type: ignore[method-assign]

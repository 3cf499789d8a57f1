"""Response headers every answer carries, and rate limits on failed authentication, unknown tokens, uploads."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter, RequestLimit, RouteLimit
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
VERIFY_CHECKS = ("Terlalu banyak berkas yang diunggah untuk diperiksa dari alamat ini. "
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


@dataclass(frozen=True)
class FailureLimits:
    """Per-address limits on failures (and on uploads to check), counted where they happen."""

    failed_authentication: RouteLimit
    unknown_token: RouteLimit
    upload_check: RouteLimit


def make_limits(app: Flask, settings: Settings) -> FailureLimits:
    """Flask-Limiter on app, and the limits that count failures (and uploads) per client address."""
    # Nothing is checked before a request: a limit checked up front refuses valid tokens and health checks
    # too once an address (a whole office behind carrier-grade NAT) is over it. Each failure is counted
    # where it happens (count_* below), and only a further failure gets 429.
    redis = settings.ratelimit_storage.startswith(("redis://", "rediss://"))
    limiter = Limiter(
        get_remote_address, app=app, storage_uri=settings.ratelimit_storage, key_prefix="suratdesa-ratelimit",
        storage_options={"socket_connect_timeout": 1, "socket_timeout": 1} if redis else {},
        headers_enabled=False,
        # Redis down must not take the API down: fall back to per-process counters, and never fail a request.
        in_memory_fallback_enabled=True, swallow_errors=True,
    )
    return FailureLimits(
        failed_authentication=limiter.shared_limit(settings.auth_failure_limit, scope="auth-failure",
                                                   on_breach=_too_many(AUTH_FAILURES)),
        unknown_token=limiter.shared_limit(settings.verify_miss_limit, scope="verify-miss",
                                           on_breach=_too_many(VERIFY_MISSES)),
        upload_check=limiter.shared_limit(settings.verify_check_limit, scope="verify-check",
                                          on_breach=_too_many(VERIFY_CHECKS)),
    )


def _limits() -> FailureLimits:
    return cast(FailureLimits, current_app.extensions["suratdesa.limits"])


# Each limit is entered on a line of its own: Flask-Limiter files a `with` block's limit under the place
# (file, function, line) it is entered from, so two limits entered from one line could, in threads running
# at once, each be checked as the other.
def count_failed_authentication() -> None:
    """Count a failed authentication from the client's address; 429 once it is over AUTH_FAILURE_LIMIT."""
    with _limits().failed_authentication:
        pass


def count_unknown_token() -> None:
    """Count a lookup of an unknown verification code; 429 once the address is over VERIFY_MISS_LIMIT."""
    with _limits().unknown_token:
        pass


def count_upload_check() -> None:
    """Count a file uploaded for checking (each is parsed and validated); 429 once over VERIFY_CHECK_LIMIT."""
    with _limits().upload_check:
        pass


def register_security(app: Flask, settings: Settings) -> None:
    """Baseline headers on every response; rate limits; client addresses through trusted proxies."""
    app.after_request(_secure_headers)
    app.extensions["suratdesa.limits"] = make_limits(app, settings)
    if settings.trusted_proxy_count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxy_count)  # type: ignore[method-assign]

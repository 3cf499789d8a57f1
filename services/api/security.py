"""Response headers every answer carries, and rate limits on failed authentication, unknown tokens, uploads."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import cast

from flask import Flask, Response, current_app, request
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.middleware.proxy_fix import ProxyFix

from services.api import API_PREFIX
from shared.config import Settings
from shared.errors import DomainError

log = logging.getLogger(__name__)

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
KEY_PREFIX = "suratdesa-ratelimit"  # the counters' keys: LIMITS:LIMITER/suratdesa-ratelimit/<address>/<kind>/...
SHARED_RETRY_S = 30  # after the storage failed, failures are counted in memory this long before it is tried again
REDIS_TIMEOUTS = {"socket_connect_timeout": 1, "socket_timeout": 1}  # a Redis that hangs must not hold a request


def _secure_headers(response: Response) -> Response:
    for name, value in BASELINE_HEADERS.items():
        response.headers.setdefault(name, value)
    # A CSP on a PDF can leave browsers' built-in viewers blank; X-Frame-Options still refuses framing.
    if response.mimetype != "application/pdf":
        response.headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
    if request.path.startswith(API_PREFIX):
        response.headers.setdefault("Cache-Control", "no-store")  # letters carry NIKs: never cache them
    return response


class TooManyFailures(DomainError):
    """An address over one of the failure limits: 429 with Retry-After, until the limit's window ends."""

    status = 429
    title = "Terlalu banyak permintaan"
    slug = "rate-limited"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail.format(wait=retry_after))
        self.retry_after = retry_after


class FailureCounter:
    """Failures per client address and kind, counted in fixed windows (the limits library).

    The counters live in the storage RATELIMIT_STORAGE_URL names (any the limits library knows: by default the
    broker's Redis), shared by every API process; with memory://, and while the storage cannot be reached, in this
    process's memory, the storage being tried again after SHARED_RETRY_S. Counting never fails a request. Nothing
    is checked before a request (no per-request hook): a limit checked up front would refuse valid tokens and
    health checks too once an address (a whole office behind carrier-grade NAT) is over it; each failure is counted
    where it happens (count_* below), and only a further failure gets 429.
    """

    def __init__(self, storage_uri: str) -> None:
        self.local = FixedWindowRateLimiter(MemoryStorage())
        self.shared: FixedWindowRateLimiter | None = None
        if not storage_uri.startswith("memory://"):
            timeouts = REDIS_TIMEOUTS if storage_uri.startswith(("redis://", "rediss://")) else {}
            self.shared = FixedWindowRateLimiter(storage_from_string(storage_uri, **timeouts))
        self.shared_down_until = 0.0

    def count(self, limit: RateLimitItem, kind: str, address: str) -> int:
        """Count one failure of kind from address: 0 while within limit, else the seconds until its window ends."""
        if self.shared is not None and time.monotonic() >= self.shared_down_until:
            try:
                return _count(self.shared, limit, kind, address)
            except Exception as exc:  # whatever the storage's client raises: count in memory for a while
                log.warning("rate-limit storage unreachable, counting in this process for %d s: %s",
                            SHARED_RETRY_S, exc)
                self.shared_down_until = time.monotonic() + SHARED_RETRY_S
        return _count(self.local, limit, kind, address)


def _count(limiter: FixedWindowRateLimiter, limit: RateLimitItem, kind: str, address: str) -> int:
    if limiter.hit(limit, KEY_PREFIX, address, kind):
        return 0
    reset_at = limiter.get_window_stats(limit, KEY_PREFIX, address, kind).reset_time
    return max(1, math.ceil(reset_at - time.time()))


@dataclass(frozen=True)
class FailureLimit:
    """One kind of failure counted per address: its name in the counters' keys, its limit, and the 429's detail."""

    kind: str
    limit: RateLimitItem
    detail: str


@dataclass(frozen=True)
class FailureLimits:
    """Per-address limits on failures (and on uploads to check), and where they are counted."""

    counter: FailureCounter
    failed_authentication: FailureLimit
    unknown_token: FailureLimit
    upload_check: FailureLimit


def make_limits(settings: Settings) -> FailureLimits:
    """The limits that count failures (and uploads) per client address, from settings."""
    return FailureLimits(
        counter=FailureCounter(settings.ratelimit_storage),
        failed_authentication=FailureLimit("auth-failure", parse(settings.auth_failure_limit), AUTH_FAILURES),
        unknown_token=FailureLimit("verify-miss", parse(settings.verify_miss_limit), VERIFY_MISSES),
        upload_check=FailureLimit("verify-check", parse(settings.verify_check_limit), VERIFY_CHECKS),
    )


def _limits() -> FailureLimits:
    return cast(FailureLimits, current_app.extensions["suratdesa.limits"])


def _count_failure(failure: FailureLimit) -> None:
    wait = _limits().counter.count(failure.limit, failure.kind, request.remote_addr or "unknown")
    if wait:
        raise TooManyFailures(failure.detail, retry_after=wait)


def count_failed_authentication() -> None:
    """Count a failed authentication from the client's address; 429 once it is over AUTH_FAILURE_LIMIT."""
    _count_failure(_limits().failed_authentication)


def count_unknown_token() -> None:
    """Count a lookup of an unknown verification code; 429 once the address is over VERIFY_MISS_LIMIT."""
    _count_failure(_limits().unknown_token)


def count_upload_check() -> None:
    """Count a file uploaded for checking (each is parsed and validated); 429 once over VERIFY_CHECK_LIMIT."""
    _count_failure(_limits().upload_check)


def register_security(app: Flask, settings: Settings) -> None:
    """Baseline headers on every response; rate limits; client addresses through trusted proxies."""
    app.after_request(_secure_headers)
    app.extensions["suratdesa.limits"] = make_limits(settings)
    if settings.trusted_proxy_count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxy_count)  # type: ignore[method-assign]

"""One HTTP attempt at a webhook: signed as Standard Webhooks says, sent to the checked address, no redirects."""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

import urllib3
from standardwebhooks import Webhook

from shared.webhooks.addresses import Resolver, Target, UnsafeTarget, checked_address, parse_target, system_resolver

SECRET_PREFIX = "whsec_"
MAX_ANSWER_BYTES = 64 * 1024  # what is read of an answer; its body is never kept
USER_AGENT = "suratdesa-webhooks/1"


def new_secret() -> str:
    """A signing secret: whsec_ and 32 random bytes in base64, as Standard Webhooks receivers expect."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signed_headers(*, secret: str, message_id: str, at: datetime, body: str) -> dict[str, str]:
    """webhook-id, webhook-timestamp and webhook-signature (v1, HMAC-SHA256 of id.timestamp.body)."""
    signature = Webhook(secret).sign(message_id, at, body)
    return {"webhook-id": message_id, "webhook-timestamp": str(int(at.timestamp())), "webhook-signature": signature,
            "content-type": "application/json", "user-agent": USER_AGENT}


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: the answer's status (None: none came), how long it took, what went wrong."""

    status_code: int | None
    duration_ms: int
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _pool(target: Target, address: str, timeout: float) -> urllib3.HTTPConnectionPool:
    limits = urllib3.Timeout(connect=timeout, read=timeout)
    if target.scheme == "https":  # connect to the address, but check the certificate against the name
        return urllib3.HTTPSConnectionPool(address, target.port, timeout=limits, retries=False, maxsize=1,
                                           server_hostname=target.host, assert_hostname=target.host,
                                           cert_reqs="CERT_REQUIRED")
    return urllib3.HTTPConnectionPool(address, target.port, timeout=limits, retries=False, maxsize=1)


def post_webhook(url: str, *, body: str, headers: dict[str, str], allow_private: bool, timeout: float,
                 resolver: Resolver = system_resolver) -> Outcome:
    """POST body to url: its host resolved and checked now, then that address connected to; 3xx is a failure."""
    started = time.monotonic()

    def outcome(status: int | None, error: str | None) -> Outcome:
        return Outcome(status, int((time.monotonic() - started) * 1000), error)

    try:
        target = parse_target(url)
        address = checked_address(target, allow_private=allow_private, resolver=resolver)
    except UnsafeTarget as exc:
        return outcome(None, f"ditolak: {exc}")
    pool = _pool(target, address, timeout)
    try:
        response = pool.urlopen("POST", target.path, body=body.encode(),
                                headers={**headers, "host": target.host_header}, redirect=False, retries=False,
                                preload_content=False, assert_same_host=False)
        response.read(MAX_ANSWER_BYTES)
        response.release_conn()
    except urllib3.exceptions.HTTPError as exc:
        return outcome(None, f"tidak ada jawaban ({type(exc).__name__}: {exc})"[:500])
    finally:
        pool.close()
    status = response.status
    if 200 <= status < 300:
        return outcome(status, None)
    return outcome(status, "pengalihan (3xx) tidak diikuti" if 300 <= status < 400 else f"HTTP {status}")

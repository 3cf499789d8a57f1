"""One attempt at a delivery, as the worker makes it: claim, send with nothing held, record, and plan the next.

The claim is a compare-and-set, so two messages for one delivery (the committing process's and the sweeper's)
make one attempt, and a delivery answered 2xx is never sent again by the system. Failed attempts are retried
with exponential backoff and jitter for webhook_retry_hours; an endpoint that has failed every attempt for
webhook_disable_after_hours is disabled, the reason kept for its owner.
"""

from __future__ import annotations

import json
import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, and_, col, or_, update

from shared.config import Settings
from shared.models import as_utc, utcnow
from shared.webhooks.addresses import Resolver, system_resolver
from shared.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from shared.webhooks.sending import Outcome, post_webhook, signed_headers

log = logging.getLogger(__name__)


def message_id(delivery_id: uuid.UUID) -> str:
    """The webhook-id of a delivery: the same on every attempt, so a receiver can drop repeats."""
    return f"msg_{delivery_id.hex}"


def letter_link(settings: Settings, letter_id: uuid.UUID) -> str:
    """The API resource of the letter (a client reads it with its own token)."""
    return f"{settings.public_base_url.rstrip('/')}/api/v1/letters/{letter_id}"


def message_body(settings: Settings, delivery: WebhookDelivery) -> str:
    """The JSON body sent: the stored payload with the letter's link, the same bytes on every attempt."""
    payload = delivery.payload
    data = {**payload["data"], "link": letter_link(settings, delivery.letter_id)}
    body = {"type": payload["type"], "timestamp": payload["timestamp"], "data": data}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def retry_delay(settings: Settings, attempt: int) -> float:
    """Seconds before the attempt after attempt n: base * 2^(n-1), at most the maximum, jittered to 50-100%."""
    delay = min(settings.webhook_retry_base * 2 ** min(attempt - 1, 40), settings.webhook_retry_max_delay)
    return delay * random.uniform(0.5, 1.0)


def claim_seconds(settings: Settings) -> float:
    """How long an attempt's claim lasts: past it, its worker is taken for dead and the delivery sent again."""
    return 2 * settings.webhook_timeout + 5


@dataclass(frozen=True)
class Claim:
    delivery: WebhookDelivery
    endpoint: WebhookEndpoint
    attempt: int


def claim_delivery(session: Session, settings: Settings, delivery_id: uuid.UUID, now: datetime) -> Claim | None:
    """Take a due delivery for one attempt and commit; None when it is not due (sent, claimed, or not yet)."""
    is_due = or_(and_(col(WebhookDelivery.status) == DeliveryStatus.PENDING.value,
                      col(WebhookDelivery.next_attempt_at) <= now),
                 and_(col(WebhookDelivery.status) == DeliveryStatus.SENDING.value,
                      col(WebhookDelivery.next_attempt_at) < now))
    statement = (update(WebhookDelivery).where(col(WebhookDelivery.id) == delivery_id, is_due)
                 .values(status=DeliveryStatus.SENDING.value, attempts=col(WebhookDelivery.attempts) + 1,
                         next_attempt_at=now + timedelta(seconds=claim_seconds(settings)))
                 .returning(col(WebhookDelivery.attempts)))
    attempt = session.exec(statement).scalar_one_or_none()
    if attempt is None:
        session.rollback()
        return None
    delivery = session.get(WebhookDelivery, delivery_id, populate_existing=True)
    assert delivery is not None
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
    assert endpoint is not None
    session.commit()
    return Claim(delivery, endpoint, int(attempt))


def deliver(*, session: Session, settings: Settings, delivery_id: uuid.UUID,
            resolver: Resolver = system_resolver) -> Outcome | None:
    """Make one attempt at a due delivery and record it; its outcome, or None when there was nothing to do."""
    claim = claim_delivery(session, settings, delivery_id, utcnow())
    if claim is None:
        return None
    endpoint, delivery = claim.endpoint, claim.delivery
    if endpoint.disabled_at is not None or endpoint.deleted_at is not None:
        outcome = Outcome(None, 0, "tujuan webhook dinonaktifkan atau dihapus; tidak dikirim")
        record_outcome(session, settings, claim, outcome, started=utcnow())
        return outcome
    started = utcnow()
    body = message_body(settings, delivery)
    headers = signed_headers(secret=endpoint.secret, message_id=message_id(delivery.id), at=started, body=body)
    session.close()  # nothing is held while the receiver answers
    outcome = post_webhook(endpoint.url, body=body, headers=headers, allow_private=settings.webhook_allow_private,
                           timeout=settings.webhook_timeout, resolver=resolver)
    record_outcome(session, settings, claim, outcome, started=started)
    return outcome


def record_outcome(session: Session, settings: Settings, claim: Claim, outcome: Outcome, *,
                   started: datetime) -> None:
    """Log the attempt, then mark the delivery delivered, due again later, or failed; and keep the endpoint's
    failing streak (a success ends it; one too long disables the endpoint)."""
    now = utcnow()
    session.add(WebhookAttempt(delivery_id=claim.delivery.id, at=started, status_code=outcome.status_code,
                               duration_ms=outcome.duration_ms, error=outcome.error))
    endpoint = session.get(WebhookEndpoint, claim.endpoint.id, populate_existing=True)
    assert endpoint is not None
    if outcome.delivered:
        values: dict[str, object] = {"status": DeliveryStatus.DELIVERED.value, "delivered_at": now}
        endpoint.failing_since = None
    else:
        values = _after_failure(settings, claim, endpoint, outcome, now)
    session.add(endpoint)
    session.exec(update(WebhookDelivery)
                 .where(col(WebhookDelivery.id) == claim.delivery.id, col(WebhookDelivery.attempts) == claim.attempt,
                        col(WebhookDelivery.status) == DeliveryStatus.SENDING.value).values(**values))
    session.commit()
    log.info("webhook delivery %s attempt %d: %s in %d ms -> %s", claim.delivery.id, claim.attempt,
             outcome.status_code or "no answer", outcome.duration_ms, values["status"])


def _after_failure(settings: Settings, claim: Claim, endpoint: WebhookEndpoint, outcome: Outcome,
                   now: datetime) -> dict[str, object]:
    failed: dict[str, object] = {"status": DeliveryStatus.FAILED.value}
    if endpoint.disabled_at is not None or endpoint.deleted_at is not None:
        return failed
    if endpoint.failing_since is None:
        endpoint.failing_since = now
    failing_for = now - as_utc(endpoint.failing_since)
    if failing_for >= timedelta(hours=settings.webhook_disable_after_hours):
        endpoint.disabled_at = now
        endpoint.disabled_reason = (f"Dinonaktifkan otomatis: semua pengiriman gagal sejak "
                                    f"{as_utc(endpoint.failing_since):%Y-%m-%d %H:%M} UTC "
                                    f"({failing_for.total_seconds() / 3600:.0f} jam); kesalahan terakhir: "
                                    f"{outcome.error}")[:500]
        log.warning("webhook endpoint %s disabled after failing for %s", endpoint.id, failing_for)
        return failed
    if now - as_utc(claim.delivery.created_at) >= timedelta(hours=settings.webhook_retry_hours):
        return failed
    return {"status": DeliveryStatus.PENDING.value,
            "next_attempt_at": now + timedelta(seconds=retry_delay(settings, claim.attempt))}

"""A client's webhook endpoints: register (the secret shown once), list, delete, their deliveries, a retry.

Each client manages only the endpoints it registered; another client's endpoint is NotFound.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlmodel import Session, col, select, update

from shared.config import Settings
from shared.db import saved_id
from shared.errors import FieldError, NotFound, ValidationFailed, WrongStatus
from shared.letters.intake.schemas import field_errors
from shared.models import Client, utcnow
from shared.webhooks.addresses import UnsafeTarget, checked_address, parse_target
from shared.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from shared.webhooks.outbox import to_send_after_commit
from shared.webhooks.sending import new_secret


class WebhookCreate(BaseModel):
    """The body of POST /api/v1/webhooks: where to send, and which events (at least one, none twice)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000)
    events: list[WebhookEvent] = Field(min_length=1, max_length=len(WebhookEvent),
                                       json_schema_extra={"uniqueItems": True})

    @field_validator("events")
    @classmethod
    def _no_repeats(cls, events: list[WebhookEvent]) -> list[WebhookEvent]:
        if len(set(events)) != len(events):
            raise ValueError("peristiwa yang sama disebut dua kali")
        return events


class DeliveryQuery(BaseModel):
    """The query string of GET /api/v1/webhooks/<id>/deliveries: the newest `limit` deliveries."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=20, ge=1, le=100)


def checked_request(body: Any) -> WebhookCreate:
    """The registration body, checked; 422 naming each field at fault."""
    if not isinstance(body, dict):
        raise ValidationFailed([FieldError("(body)", "isi permintaan harus berupa objek JSON")])
    try:
        return WebhookCreate.model_validate(body)
    except ValidationError as exc:
        raise ValidationFailed(field_errors(exc)) from exc


def register_endpoint(*, session: Session, settings: Settings, client: Client, body: Any) -> WebhookEndpoint:
    """Check the URL (its host must resolve to allowed addresses now) and store the endpoint with a new secret."""
    request = checked_request(body)
    try:
        checked_address(parse_target(request.url), allow_private=settings.webhook_allow_private)
    except UnsafeTarget as exc:
        raise ValidationFailed([FieldError("url", str(exc))]) from exc
    endpoint = WebhookEndpoint(client_id=saved_id(client), village_id=client.village_id, url=request.url,
                               events=[event.value for event in request.events], secret=new_secret())
    session.add(endpoint)
    session.commit()
    return endpoint


def client_endpoints(session: Session, client: Client) -> list[WebhookEndpoint]:
    """The endpoints client registered and has not deleted, oldest first."""
    query = (select(WebhookEndpoint).where(col(WebhookEndpoint.client_id) == client.id,
                                           col(WebhookEndpoint.deleted_at).is_(None))
             .order_by(col(WebhookEndpoint.created_at)))
    return list(session.exec(query).all())


def own_endpoint(session: Session, client: Client, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    """The endpoint if client registered it and it is not deleted; else NotFound."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.client_id != client.id or endpoint.deleted_at is not None:
        raise NotFound("webhook tidak ditemukan")
    return endpoint


def delete_endpoint(*, session: Session, client: Client, endpoint_id: uuid.UUID) -> None:
    """Stop sending to the endpoint; its deliveries stay as history, those not yet delivered are given up."""
    endpoint = own_endpoint(session, client, endpoint_id)
    endpoint.deleted_at = utcnow()
    session.add(endpoint)
    session.exec(update(WebhookDelivery).where(col(WebhookDelivery.endpoint_id) == endpoint.id,
                                               col(WebhookDelivery.status) == DeliveryStatus.PENDING.value)
                 .values(status=DeliveryStatus.FAILED.value))
    session.commit()


def enable_endpoint(*, session: Session, client: Client, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    """Send to a disabled endpoint again once its receiver is mended, with the same URL and secret: from the next
    event on, its failing streak begun afresh. The deliveries given up meanwhile stay failed; each can be sent
    again (retry_delivery). An endpoint that is not disabled is left as it is."""
    endpoint = own_endpoint(session, client, endpoint_id)
    if endpoint.disabled_at is not None:
        endpoint.disabled_at = endpoint.disabled_reason = endpoint.failing_since = None
        session.add(endpoint)
        session.commit()
    return endpoint


def endpoint_deliveries(session: Session, client: Client, endpoint_id: uuid.UUID,
                        limit: int = 20) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
    """The endpoint's newest deliveries, each with its attempts (oldest first)."""
    endpoint = own_endpoint(session, client, endpoint_id)
    deliveries = list(session.exec(
        select(WebhookDelivery).where(col(WebhookDelivery.endpoint_id) == endpoint.id)
        .order_by(col(WebhookDelivery.created_at).desc(), col(WebhookDelivery.id).desc()).limit(limit)).all())
    attempts = delivery_attempts(session, [delivery.id for delivery in deliveries])
    return [(delivery, attempts[delivery.id]) for delivery in deliveries]


def delivery_attempts(session: Session, delivery_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[WebhookAttempt]]:
    """The attempts at each delivery, oldest first."""
    attempts: dict[uuid.UUID, list[WebhookAttempt]] = {delivery_id: [] for delivery_id in delivery_ids}
    if delivery_ids:
        for attempt in session.exec(select(WebhookAttempt).where(col(WebhookAttempt.delivery_id).in_(delivery_ids))
                                    .order_by(col(WebhookAttempt.id))).all():
            attempts[attempt.delivery_id].append(attempt)
    return attempts


def retry_delivery(*, session: Session, client: Client, endpoint_id: uuid.UUID,
                   delivery_id: uuid.UUID) -> WebhookDelivery:
    """Send a delivery again now (after the commit); 409 while an attempt runs or when the endpoint is disabled."""
    endpoint = own_endpoint(session, client, endpoint_id)
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise NotFound("pengiriman webhook tidak ditemukan")
    if endpoint.disabled_at is not None:
        raise WrongStatus("Webhook ini dinonaktifkan; aktifkan lagi (POST .../enable) setelah penerimanya diperbaiki.")
    if delivery.status == DeliveryStatus.SENDING:
        raise WrongStatus("Pengiriman ini sedang dicoba; tunggu hasilnya.")
    now = utcnow()
    delivery.status, delivery.next_attempt_at, delivery.enqueued_at = DeliveryStatus.PENDING.value, now, now
    session.add(delivery)
    to_send_after_commit(session, [delivery.id])
    session.commit()
    return delivery

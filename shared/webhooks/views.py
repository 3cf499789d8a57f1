"""Endpoints and deliveries as their owner sees them: one model for the JSON answer and the OpenAPI description."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, field_validator

from shared.models import as_utc
from shared.webhooks.delivery import message_id
from shared.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


class _Moments(BaseModel):
    @field_validator("*", mode="after")
    @classmethod
    def _utc(cls, value: Any) -> Any:
        return as_utc(value) if isinstance(value, datetime) else value  # SQLite hands back naive times


class WebhookEndpointView(_Moments):
    """An endpoint; `disabled_reason` says why it no longer receives anything. The secret is not shown again."""

    id: uuid.UUID
    url: str
    events: list[str]
    created_at: datetime
    failing_since: datetime | None
    disabled_at: datetime | None
    disabled_reason: str | None


class WebhookEndpointCreated(WebhookEndpointView):
    """A new endpoint with its signing secret (`whsec_...`), shown this once only."""

    secret: str


class WebhookAttemptView(_Moments):
    """One attempt: when, the receiver's status code (null: no answer), how long, and what went wrong."""

    at: datetime
    status_code: int | None
    duration_ms: int
    error: str | None


class WebhookDeliveryView(_Moments):
    """One event for the endpoint: its webhook-id, status, the next attempt if one is planned, every attempt."""

    id: uuid.UUID
    webhook_id: str
    event: str
    letter_id: uuid.UUID
    status: str
    created_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime | None
    attempts: list[WebhookAttemptView]


class WebhookEndpointList(BaseModel):
    items: list[WebhookEndpointView]


class WebhookDeliveryPage(BaseModel):
    """The endpoint's newest deliveries, newest first."""

    items: list[WebhookDeliveryView]


def endpoint_view(endpoint: WebhookEndpoint) -> WebhookEndpointView:
    return WebhookEndpointView.model_validate(endpoint, from_attributes=True)


def created_view(endpoint: WebhookEndpoint) -> WebhookEndpointCreated:
    return WebhookEndpointCreated.model_validate(endpoint, from_attributes=True)


def delivery_view(delivery: WebhookDelivery, attempts: list[WebhookAttempt]) -> WebhookDeliveryView:
    planned = delivery.next_attempt_at if delivery.status == "pending" else None
    return WebhookDeliveryView(id=delivery.id, webhook_id=message_id(delivery.id), event=delivery.event,
                               letter_id=delivery.letter_id, status=delivery.status, created_at=delivery.created_at,
                               delivered_at=delivery.delivered_at, next_attempt_at=planned,
                               attempts=[WebhookAttemptView.model_validate(a, from_attributes=True)
                                         for a in attempts])

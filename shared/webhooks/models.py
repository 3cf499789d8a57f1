"""Webhook tables: a client's endpoints, the outbox of deliveries to them, and every attempt at one."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, String
from sqlmodel import Field, SQLModel

from shared.models import _timestamp, utcnow


class WebhookEvent(enum.StrEnum):
    """What an endpoint can subscribe to: a letter reaching one of these statuses."""

    AWAITING_APPROVAL = "letter.awaiting_approval"
    ISSUED = "letter.issued"
    REJECTED = "letter.rejected"
    REVOKED = "letter.revoked"
    FAILED = "letter.failed"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # due at next_attempt_at
    SENDING = "sending"  # an attempt claimed it; next_attempt_at is when that claim runs out (its worker died)
    DELIVERED = "delivered"
    FAILED = "failed"  # retried for webhook_retry_hours without a 2xx, or its endpoint was disabled


class WebhookEndpoint(SQLModel, table=True):
    """A URL a client registered, the events it hears, and the secret its deliveries are signed with."""

    __tablename__ = "webhook_endpoint"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    village_id: int = Field(foreign_key="village.id", index=True)
    url: str = Field(max_length=2000)
    events: list[str] = Field(sa_column=Column(JSON, nullable=False))
    secret: str = Field(max_length=100)  # whsec_...: HMAC needs the secret itself; shown to the client once
    created_at: datetime = _timestamp(nullable=False, default=utcnow)
    # set at the first failed attempt after a success; an endpoint failing that long is disabled
    failing_since: datetime | None = _timestamp(nullable=True)
    disabled_at: datetime | None = _timestamp(nullable=True)
    disabled_reason: str | None = Field(default=None, max_length=500)
    deleted_at: datetime | None = _timestamp(nullable=True)


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint (the outbox row), written in the transaction of the letter's change."""

    __tablename__ = "webhook_delivery"
    # An endpoint's deliveries newest first, a page at a time, read straight off the index (one on the endpoint
    # alone made the database fetch and sort every delivery the endpoint ever had, a few a letter, for 20 of them).
    __table_args__ = (Index("ix_webhook_delivery_endpoint_id_created_at", "endpoint_id", "created_at", "id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)  # webhook-id: msg_<hex>
    endpoint_id: uuid.UUID = Field(foreign_key="webhook_endpoint.id")
    letter_id: uuid.UUID = Field(foreign_key="letter.id", index=True)
    event: str = Field(max_length=40)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # {type, timestamp, data} less link
    status: str = Field(sa_column=Column(String(16), nullable=False, index=True))
    attempts: int = 0
    next_attempt_at: datetime = _timestamp(nullable=False, index=True)
    # when a task message was last sent for it (by the committing process or the sweeper); None: none yet
    enqueued_at: datetime | None = _timestamp(nullable=True)
    created_at: datetime = _timestamp(nullable=False, default=utcnow)
    delivered_at: datetime | None = _timestamp(nullable=True)


class WebhookAttempt(SQLModel, table=True):
    """One try at a delivery: when, the answer's status code (None: no answer), how long, and what went wrong."""

    __tablename__ = "webhook_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: uuid.UUID = Field(foreign_key="webhook_delivery.id", index=True)
    at: datetime = _timestamp(nullable=False, default=utcnow)
    status_code: int | None = None
    duration_ms: int
    error: str | None = Field(default=None, max_length=500)

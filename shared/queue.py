"""The Celery configuration both sides share, and enqueuing from the API."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES
from kombu.transport.sqlalchemy import Transport as SQLAlchemyTransport

from shared.config import Settings

log = logging.getLogger(__name__)

RENDER_DRAFT = "suratdesa.render_draft"
ISSUE_LETTER = "suratdesa.issue_letter"


class EmbeddedBrokerTransport(SQLAlchemyTransport):
    """kombu's SQLAlchemy transport, polling five times a second instead of once.

    It cannot take `polling_interval` as a transport option: it hands every option to create_engine.
    At one poll a second the embedded broker issues about one letter a second; at five, several.
    """

    polling_interval = 0.2


TRANSPORT_ALIASES["suratdesa-sqla"] = f"{__name__}:EmbeddedBrokerTransport"


def broker_url(settings: Settings) -> str:
    """The broker URL Celery gets: sqla+ URLs use the faster-polling embedded transport."""
    url = settings.broker
    return "suratdesa-sqla+" + url.removeprefix("sqla+") if url.startswith("sqla+") else url


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery settings: JSON only, late acks, one message at a time, bounded task time."""
    return {
        "broker_url": broker_url(settings),
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_backend": None,
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": settings.task_soft_time_limit,
        "task_time_limit": settings.task_time_limit,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": settings.enqueue_timeout,
        "broker_transport_options": _transport_options(settings),
        "worker_hijack_root_logger": False,
        "broker_pool_limit": 4,
    }


def _transport_options(settings: Settings) -> dict[str, Any]:
    if not settings.broker.startswith(("redis://", "rediss://")):
        return {}  # kombu's SQLAlchemy transport hands these to create_engine, which knows none of them
    # A message not acked within the visibility timeout is redelivered by Redis: it must outlast the
    # hard time limit, or a long task would run twice while it is still running.
    return {
        "visibility_timeout": settings.task_time_limit * 4,
        "socket_connect_timeout": settings.enqueue_timeout,
        "socket_timeout": max(settings.enqueue_timeout, 5.0),
        "max_retries": 1,
    }


def make_celery(settings: Settings, *, name: str = "suratdesa") -> Celery:
    """A Celery app configured from settings."""
    app = Celery(name)
    app.conf.update(celery_config(settings))
    return app


class TaskQueue:
    """Sends task messages (ids only, never personal data); failure to send is reported, not raised."""

    def __init__(self, settings: Settings) -> None:
        self.app = make_celery(settings, name="suratdesa-producer")

    def enqueue(self, task_name: str, letter_id: uuid.UUID) -> bool:
        try:
            self.app.send_task(task_name, args=[str(letter_id)], retry=False)
        except Exception as exc:  # the broker is down or unreachable; the sweeper sends it later
            log.warning("enqueue %s for letter %s failed: %s", task_name, letter_id, exc)
            return False
        return True

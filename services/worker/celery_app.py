"""The Celery app of the worker, built from the same settings as the API."""

from __future__ import annotations

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger, worker_process_init

from shared.config import Settings, get_settings
from shared.db import dispose_engines
from shared.logs import redact_handlers
from shared.queue import TaskQueue, make_celery
from shared.webhooks.outbox import send_after_commit


def create_celery(settings: Settings | None = None) -> Celery:
    """A Celery app with the suratdesa tasks registered; the webhook deliveries its tasks' commits add are sent
    as they commit."""
    settings = settings or get_settings()
    app = make_celery(settings)
    app.conf.include = ["services.worker.tasks"]
    send_after_commit(TaskQueue(settings))
    return app


@worker_process_init.connect
def _fresh_connections(**_kwargs: object) -> None:
    # A forked child must not share the parent's database connections.
    dispose_engines()


@after_setup_logger.connect
@after_setup_task_logger.connect
def _redacted_logs(logger: object, **_kwargs: object) -> None:
    # Exceptions can carry user data in their messages; no NIK may reach a worker log.
    redact_handlers(logger)  # type: ignore[arg-type]

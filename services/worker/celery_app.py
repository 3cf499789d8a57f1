"""The Celery app of the worker, built from the same settings as the API."""

from __future__ import annotations

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger, worker_process_init, worker_ready

from shared.config import Settings, get_settings
from shared.db import dispose_engines
from shared.logs import redact_handlers
from shared.queue import TaskQueue, make_celery
from shared.startup import freeze_loaded_objects
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
def _child_started(**_kwargs: object) -> None:
    dispose_engines()  # a forked child must not share the parent's database connections
    freeze_loaded_objects()  # what the child inherited (the tasks and everything they import) lives as long as it


@worker_ready.connect
def _loaded(**_kwargs: object) -> None:
    freeze_loaded_objects()  # the main process: its pool replaces children from it, frozen as it is


@after_setup_logger.connect
@after_setup_task_logger.connect
def _redacted_logs(logger: object, **_kwargs: object) -> None:
    # Exceptions can carry user data in their messages; no NIK may reach a worker log.
    redact_handlers(logger)  # type: ignore[arg-type]

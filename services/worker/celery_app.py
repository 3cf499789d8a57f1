"""The Celery app of the worker, built from the same settings as the API."""

from __future__ import annotations

from celery import Celery
from celery.signals import worker_process_init

from shared.config import Settings, get_settings
from shared.db import dispose_engines
from shared.queue import make_celery


def create_celery(settings: Settings | None = None) -> Celery:
    """A Celery app with the suratdesa tasks registered."""
    app = make_celery(settings or get_settings())
    app.conf.include = ["services.worker.tasks"]
    return app


@worker_process_init.connect
def _fresh_connections(**_kwargs: object) -> None:
    # A forked child must not share the parent's database connections.
    dispose_engines()

"""Per-request resources: settings, one database session, the task queue."""

from __future__ import annotations

from flask import Flask, current_app, g, request
from sqlmodel import Session

from shared.config import Settings
from shared.db import get_engine, read_only_bind
from shared.queue import TaskQueue
from shared.webhooks.outbox import send_after_commit


def settings() -> Settings:
    """The app's settings."""
    return current_app.extensions["suratdesa.settings"]


def task_queue() -> TaskQueue:
    """The app's task producer."""
    return current_app.extensions["suratdesa.queue"]


def db_session() -> Session:
    """The request's session, opened on first use and closed when the request ends.

    GET and HEAD only read: on SQLite their transactions begin deferred, beside the writer (shared.db)."""
    if "db_session" not in g:
        reads_only = request.method in ("GET", "HEAD")
        bind = read_only_bind(settings()) if reads_only else get_engine(settings())
        g.db_session = Session(bind, expire_on_commit=False)
    return g.db_session


def _close_session(_error: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def register_context(app: Flask, settings: Settings) -> None:
    """Attach settings and the queue to the app (which also sends the webhook deliveries a request's commit
    adds), and close sessions after each request."""
    app.extensions["suratdesa.settings"] = settings
    app.extensions["suratdesa.queue"] = queue = TaskQueue(settings)
    send_after_commit(queue)
    app.teardown_appcontext(_close_session)

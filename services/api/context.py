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


BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def receive_body() -> None:
    """Receive the request's whole body before anything reads the database (the app's first before_request).

    A hamlet post on a slow rural connection may take seconds to send its body. Read when the route asked for it,
    after the token had been checked in the request's session, those seconds passed inside that session's
    transaction: on SQLite it holds the write lock (every write begins IMMEDIATE), so other posts' submissions
    and the worker's steps queued behind a stranger's upload until they failed; on PostgreSQL a pooled connection
    sat idle in its transaction. The body is kept (Werkzeug parses a form from it); one over the route's limit
    (request.max_content_length, which an upload route raises in a url_value_preprocessor) is left unread: the
    route refuses it (413) after checking the caller, without receiving it."""
    if request.method not in BODY_METHODS:
        return
    limit, length = request.max_content_length, request.content_length
    if limit is not None and length is not None and length > limit:
        return
    request.get_data(cache=True)


def _close_session(_error: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def register_context(app: Flask, settings: Settings) -> None:
    """Attach settings and the queue to the app (which also sends the webhook deliveries a request's commit
    adds), receive each request's body before its first statement, and close sessions after each request."""
    app.extensions["suratdesa.settings"] = settings
    app.extensions["suratdesa.queue"] = queue = TaskQueue(settings)
    send_after_commit(queue)
    app.before_request(receive_body)
    app.teardown_appcontext(_close_session)

"""Liveness and readiness."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from sqlalchemy import text

from services.api.context import db_session, task_queue
from shared.errors import ServiceUnavailable

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process answers."""
    return jsonify(status="ok")


def _database_ok() -> bool:
    try:
        db_session().exec(text("SELECT 1"))  # type: ignore[call-overload]
        return True
    except Exception as exc:
        log.warning("readiness: database check failed: %s", exc)
        return False


def _broker_ok() -> bool:
    try:
        with task_queue().app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception as exc:
        log.warning("readiness: broker check failed: %s", exc)
        return False


@bp.get("/readyz")
def readyz():
    """The database and the broker both answer; 503 naming what does not."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    if not all(checks.values()):
        down = ", ".join(name for name, ok in checks.items() if not ok)
        raise ServiceUnavailable(f"Komponen tidak tersedia: {down}.")
    return jsonify(status="ok", checks={name: "ok" for name in checks})

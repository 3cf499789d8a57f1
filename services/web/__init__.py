"""The pages for people (Flask blueprints, Jinja templates, a stylesheet and a few lines of script), served by
the same app as the JSON API. Sign-in with a session cookie; every form carries a CSRF token (Flask-WTF).

No business logic lives here: pages parse forms and call the same domain functions as the API.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from shared.config import Settings

IDLE_LIFETIME = timedelta(hours=8)
csrf = CSRFProtect()


def secret_key(settings: Settings) -> str:
    """SECRET_KEY, or in development a random key kept under home, shared by every API process."""
    if settings.secret_key and settings.secret_key.get_secret_value():
        return settings.secret_key.get_secret_value()
    path: Path = settings.home / "session-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".session-secret-")  # mode 0600
        with os.fdopen(handle, "w", encoding="ascii") as out:
            out.write(secrets.token_urlsafe(48))
        try:
            os.link(temporary, path)  # never replaces: the first API process to start decides the key, whole
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    return path.read_text(encoding="ascii").strip()


def register_web(app: Flask, settings: Settings) -> None:
    """Sessions, CSRF and the page blueprints on the API's app."""
    from services.web.pages import web
    from services.web.session import IdleSessionInterface

    app.config.update(
        SECRET_KEY=secret_key(settings),
        SESSION_COOKIE_NAME="suratdesa_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_base_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=IDLE_LIFETIME,
        SESSION_REFRESH_EACH_REQUEST=True,  # the 8 hours count from the last request: an idle timeout
        # CSRF is checked by the page blueprints (services.web.session), not on the bearer-token API
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session that holds it
    )
    app.session_interface = IdleSessionInterface()
    csrf.init_app(app)
    app.register_blueprint(web)


def is_page(endpoint: str | None) -> bool:
    """Whether an endpoint is one of the pages (not the JSON API nor the verification page)."""
    return bool(endpoint) and str(endpoint).startswith("web.")

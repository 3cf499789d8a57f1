"""The HTTP intake API (Flask): routes, auth, error mapping; the app also serves the pages of services.web.
No business logic lives here."""

from __future__ import annotations

import logging

from flask import Flask

from shared.config import Settings, get_settings

MAX_BODY_BYTES = 1024 * 1024
API_PREFIX = "/api/"  # the JSON API's paths: bearer tokens, no cookie session, never cached


def register_blueprints(app: Flask) -> None:
    """Attach every route module."""
    from services.api.routes import attachments, health, letter_types, letters, openapi, records, verify, webhooks

    for module in (health, letter_types, letters, attachments, openapi, records, verify, webhooks):
        app.register_blueprint(module.bp)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the API for settings (read from the environment when not given)."""
    from services.api.context import register_context
    from services.api.problems import register_error_handlers
    from services.api.security import register_security
    from services.web import register_web

    settings = settings or get_settings()
    app = Flask(__name__, static_folder=None)  # static files are the pages' (services/web/static)
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY_BYTES, JSON_SORT_KEYS=False)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    register_context(app, settings)
    register_error_handlers(app)
    register_blueprints(app)
    register_web(app, settings)  # the pages for people, on the same app and URL (services/web)
    register_security(app, settings)
    logging.getLogger("suratdesa").setLevel(logging.INFO)
    return app

"""GET /api/v1/openapi.json: the API description, for any client holding a token."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from services.api.auth import current_client
from services.api.context import settings
from services.api.openapi import openapi_document
from shared.letters.intake.catalog import load_catalog

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")


@bp.get("/openapi.json")
def describe():
    """The OpenAPI 3.1 description, built once per process from the catalog's models."""
    current_client()
    cache = current_app.extensions.setdefault("suratdesa.openapi", {})
    if "document" not in cache:
        cache["document"] = openapi_document(load_catalog(settings().templates_dir))
    return jsonify(cache["document"])

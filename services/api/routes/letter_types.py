"""The catalog of letter types, with each type's field schema and a valid example."""

from __future__ import annotations

from flask import Blueprint, jsonify

from services.api.auth import current_client
from services.api.context import settings
from shared.letters.intake.catalog import load_catalog
from shared.letters.intake.validation import example_request

bp = Blueprint("letter_types", __name__, url_prefix="/api/v1")


@bp.get("/letter-types")
def list_letter_types():
    """Every letter type: code, title, fields, required documents and a complete valid request body."""
    current_client()
    catalog = load_catalog(settings().templates_dir)
    return jsonify([
        {"code": t.code, "title": t.title, "classification": t.classification, "approval": t.approval,
         "validity_months": t.validity_months,
         "fields": [f.model_dump(exclude_defaults=False) for f in t.fields],
         "requirements": [r.model_dump() for r in t.requirements],
         "example": example_request(t)}
        for t in catalog.types.values()
    ])

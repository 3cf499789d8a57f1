"""The outgoing-letter register (buku agenda surat keluar) for a village's officials: JSON, CSV, XLSX or PDF."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from services.api.auth import current_client, require_official
from services.api.context import db_session, settings
from services.api.payloads import checked_query
from shared.db import get_existing
from shared.letters.intake.catalog import load_catalog
from shared.letters.records.exports import register_file
from shared.letters.records.register import RegisterQuery, outgoing_register
from shared.models import Village

bp = Blueprint("register", __name__, url_prefix="/api/v1")


@bp.get("/register")
def show_register() -> Response:
    """The official's own village's register for ?year= (and &month=), as ?format=json|csv|xlsx|pdf."""
    current_client()  # 401 before the query string is read
    official = require_official()
    query = checked_query(RegisterQuery, request.args)
    session, catalog = db_session(), load_catalog(settings().templates_dir)
    village = get_existing(session, Village, official.village_id)
    if query.format == "json":
        return jsonify(outgoing_register(session, village=village, catalog=catalog, year=query.year,
                                         month=query.month).model_dump(mode="json"))
    download = register_file(session, village=village, catalog=catalog, year=query.year, month=query.month,
                             file_format=query.format)
    response = Response(download.data, mimetype=download.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{download.filename}"'
    return response

"""A village office's records for its officials: the outgoing-letter register (JSON, CSV, XLSX, PDF), reports."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from services.api.auth import current_client, require_official
from services.api.context import db_session, settings
from services.api.payloads import checked_query
from shared.db import get_existing
from shared.errors import NotFound
from shared.letters.intake.catalog import load_catalog
from shared.letters.records.charts import CHARTS
from shared.letters.records.exports import register_file
from shared.letters.records.register import RegisterQuery, outgoing_register
from shared.letters.records.reports import ReportQuery, letter_report
from shared.models import Village

bp = Blueprint("records", __name__, url_prefix="/api/v1")


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


@bp.get("/reports")
def show_reports() -> Response:
    """The official's own village's report for ?year=: per type and month, per post, outcomes, durations."""
    current_client()
    official = require_official()
    query = checked_query(ReportQuery, request.args)
    report = letter_report(db_session(), catalog=load_catalog(settings().templates_dir), year=query.year,
                           village_ids=[official.village_id])
    return jsonify(report.model_dump(mode="json"))


# Inline styles only: no script, no fetch, no framing, even if the chart is opened on its own.
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"


@bp.get("/reports/charts/<name>.svg")
def show_chart(name: str) -> Response:
    """One of the report's charts for ?year= as SVG, for an <img> on the reports page (officials)."""
    current_client()
    official = require_official()
    query = checked_query(ReportQuery, request.args)
    if name not in CHARTS:
        raise NotFound(f"grafik tidak dikenal; pilih salah satu dari: {', '.join(CHARTS)}")
    report = letter_report(db_session(), catalog=load_catalog(settings().templates_dir), year=query.year,
                           village_ids=[official.village_id])
    response = Response(CHARTS[name](report), mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = SVG_CSP
    return response

"""The officials' reports page: a year's letters as charts (SVG, shown with <img>) with the numbers beneath, and
the outgoing-letter register of that year to download. Session-authenticated twins of the API's records routes."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from pydantic import ValidationError

from services.api.context import db_session, settings
from services.api.routes.records import SVG_CSP
from services.web.session import signed_in, staff
from shared.db import get_existing
from shared.errors import FieldError, NotFound, ValidationFailed
from shared.letters.intake.catalog import load_catalog
from shared.letters.intake.schemas import field_errors
from shared.letters.records.charts import CHARTS, MONTHS
from shared.letters.records.exports import register_file
from shared.letters.records.reports import LetterReport, ReportQuery, letter_report
from shared.models import Role, Village
from shared.villages import village_today

bp = Blueprint("reports", __name__, url_prefix="/petugas/laporan")
CHART_TEXT = {"by-type-and-month": "Grafik batang bertumpuk: surat diajukan per bulan menurut jenis surat",
              "by-post": "Grafik batang: surat diajukan, terbit dan ditolak per pos pelayanan",
              "durations": "Grafik batang: median dan persentil 90 lama proses surat"}
REGISTER_FORMATS = ("xlsx", "pdf", "csv")


def _village() -> Village:
    return get_existing(db_session(), Village, staff().client.village_id)


def _year() -> int:
    """?tahun=, or the village's current year; ValidationFailed naming `tahun` when it is not a year we keep."""
    raw = request.args.get("tahun", "").strip()
    if not raw:
        return village_today(_village()).year
    try:
        return ReportQuery.model_validate({"year": raw}).year
    except ValidationError as exc:
        message = field_errors(exc)[0].message
        raise ValidationFailed([FieldError("tahun", message)], f"Tahun tidak valid: {message}.") from None


def _report(year: int) -> LetterReport:
    return letter_report(db_session(), catalog=load_catalog(settings().templates_dir), year=year,
                         village_ids=[staff().client.village_id])


def span(seconds: float | None) -> str:
    """A duration as people say it: "2 hari 3 jam", "45 menit", "12 detik"; "-" when no letter went through the step."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{int(seconds)} detik"
    minutes = round(seconds / 60)
    days, hours, minutes = minutes // 1440, minutes % 1440 // 60, minutes % 60
    parts = [f"{n} {unit}" for n, unit in ((days, "hari"), (hours, "jam"), (minutes, "menit")) if n]
    return " ".join(parts[:2])


def per_type_rows(report: LetterReport) -> list[tuple[str, list[int], int, int]]:
    """(type title, submitted per month 1-12, submitted in the year, issued in the year), per letter type."""
    rows: dict[str, tuple[str, list[int], int, int]] = {}
    for row in report.by_type_and_month:
        title, months, submitted, issued = rows.get(row.type, (row.title, [0] * 12, 0, 0))
        months[row.month - 1] += row.submitted
        rows[row.type] = (title, months, submitted + row.submitted, issued + row.issued)
    return list(rows.values())


@bp.get("")
@signed_in(Role.OFFICIAL)
def show():
    """The year's charts and tables, and the register's downloads; a bad year is said beside its field."""
    try:
        year = _year()
    except ValidationFailed as error:
        return render_template("web/reports.html", year=request.args.get("tahun", "")[:10], report=None,
                               year_error=error.errors[0].message), 422
    return render_template("web/reports.html", year=year, report=_report(year), year_error=None, charts=CHART_TEXT,
                           months=MONTHS, per_type=per_type_rows, span=span, formats=REGISTER_FORMATS)


@bp.get("/grafik/<name>.svg")
@signed_in(Role.OFFICIAL)
def chart(name: str) -> Response:
    """One chart of the year as SVG for the page's <img>: inline styles only, no script."""
    if name not in CHARTS:
        raise NotFound(f"grafik tidak dikenal; pilih salah satu dari: {', '.join(CHARTS)}")
    response = Response(CHARTS[name](_report(_year())), mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = SVG_CSP
    return response


@bp.get("/agenda.<file_format>")
@signed_in(Role.OFFICIAL)
def register(file_format: str) -> Response:
    """The village's outgoing-letter register of the year as XLSX, PDF or CSV."""
    if file_format not in REGISTER_FORMATS:
        raise NotFound(f"format tidak dikenal; pilih salah satu dari: {', '.join(REGISTER_FORMATS)}")
    year = _year()
    download = register_file(db_session(), village=_village(), catalog=load_catalog(settings().templates_dir),
                             year=year, month=None, file_format=file_format)
    response = Response(download.data, mimetype=download.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{download.filename}"'
    return response

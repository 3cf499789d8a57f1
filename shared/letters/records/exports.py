"""The register as files an office opens: CSV and a real XLSX spreadsheet (openpyxl), headed in Indonesian."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from babel.dates import format_date
from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlmodel import Session

from shared.letters.documents.compose import letterhead
from shared.letters.documents.register_pdf import render_register_pdf
from shared.letters.intake.catalog import Catalog
from shared.letters.records.register import RegisterRow, register_rows
from shared.models import Village
from shared.villages import village_emblem, village_profile

STATUS_LABELS = {"issued": "Terbit", "revoked": "Dicabut"}
# (heading, spreadsheet column width in characters)
COLUMNS = (("No.", 6), ("Tanggal", 12), ("Nomor Surat", 30), ("Kode Klasifikasi", 10), ("Perihal", 40),
           ("Nama Pemohon", 30), ("Penanda Tangan", 34), ("Status", 10), ("Tanggal Dicabut", 14),
           ("Alasan Pencabutan", 40))
DATE_FORMAT = "DD/MM/YYYY"


def row_values(row: RegisterRow) -> list[Any]:
    """A row's cells in column order; dates stay dates."""
    return [row.running_number, row.letter_date, row.number, row.classification, row.title, row.applicant_name,
            row.signer, STATUS_LABELS[row.status], row.revoked_on, row.revocation_reason or ""]


def register_csv(rows: Iterable[RegisterRow]) -> bytes:
    """UTF-8 CSV with a byte-order mark (so spreadsheet programs read the accents), dates as YYYY-MM-DD."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([heading for heading, _ in COLUMNS])
    for row in rows:
        writer.writerow(["" if value is None else value for value in row_values(row)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _cell(sheet: Any, value: Any, *, bold: bool = False) -> Cell:
    cell = WriteOnlyCell(sheet, value=value)
    if bold:
        cell.font = Font(bold=True)
    if isinstance(value, date):
        cell.number_format = DATE_FORMAT
    return cell


def register_xlsx(rows: Iterable[RegisterRow], *, title: str) -> bytes:
    """A spreadsheet: a bold, frozen header row, column widths, typed dates; written streaming."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])  # Excel's limit for a sheet name
    sheet.freeze_panes = "A2"
    for index, (_, width) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.append([_cell(sheet, heading, bold=True) for heading, _ in COLUMNS])
    for row in rows:
        sheet.append([_cell(sheet, value) for value in row_values(row)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@dataclass(frozen=True)
class RegisterFile:
    """A register ready to download."""

    data: bytes
    mimetype: str
    filename: str


MIMETYPES = {"csv": "text/csv; charset=utf-8", "pdf": "application/pdf",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def register_period(year: int, month: int | None) -> str:
    """How the register names its period: "Tahun 2026" or "Bulan Desember 2026"."""
    return f"Bulan {format_date(date(year, month, 1), 'MMMM y', locale='id')}" if month else f"Tahun {year}"


def register_file(session: Session, *, village: Village, catalog: Catalog, year: int, month: int | None,
                  file_format: str) -> RegisterFile:
    """The village's register for the period as a CSV, XLSX or PDF file."""
    rows = register_rows(session, village=village, catalog=catalog, year=year, month=month)
    period = register_period(year, month)
    if file_format == "csv":
        data = register_csv(rows)
    elif file_format == "xlsx":
        data = register_xlsx(rows, title=f"Agenda {year}" + (f"-{month:02d}" if month else ""))
    else:
        # The layout needs every row before it draws one, and takes seconds for thousands: read them all, then
        # end the read (PostgreSQL ends a transaction left idle for IDLE_IN_TRANSACTION_TIMEOUT_MS) and lay out.
        head, paper = letterhead(village, village_emblem(village, session)), village_profile(village).paper
        all_rows = list(rows)
        session.commit()
        data = render_register_pdf(all_rows, letterhead=head, paper=paper, period=period)
    stem = re.sub(r"[^A-Za-z0-9]+", "-", village.code).strip("-").lower()
    name = f"buku-agenda-surat-keluar-{stem}-{year}" + (f"-{month:02d}" if month else "")
    return RegisterFile(data=data, mimetype=MIMETYPES[file_format], filename=f"{name}.{file_format}")

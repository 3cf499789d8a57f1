"""The outgoing-letter register as a PDF: landscape on the village's paper, under its letterhead, page-numbered."""

from __future__ import annotations

import io
from collections.abc import Iterable
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import landscape
from reportlab.lib.units import mm
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

from shared.letters.documents.document import Letterhead
from shared.letters.documents.rendering import FONT, PAPER_SIZES, NumberedCanvas, letterhead_flowables, paragraph_style
from shared.letters.documents.wording import format_indonesian_date
from shared.letters.records.register import RegisterRow

MARGIN = 12 * mm
TITLE = paragraph_style("register-title", 13, bold=True, align=TA_CENTER)
PERIOD = paragraph_style("register-period", 10.5, align=TA_CENTER, spaceAfter=8)
CELL = paragraph_style("register-cell", 8.5, leading=10.5)
HEAD = paragraph_style("register-head", 8.5, bold=True, align=TA_CENTER, leading=10.5)
# (heading, share of the table's width)
COLUMNS = (("No.", 0.04), ("Tanggal", 0.10), ("Nomor Surat", 0.17), ("Kode", 0.06), ("Perihal", 0.19),
           ("Nama Pemohon", 0.15), ("Penanda Tangan", 0.15), ("Keterangan", 0.14))
EMPTY = "Tidak ada surat keluar pada periode ini."


def _p(text: str, style: object = CELL) -> Paragraph:
    return Paragraph(escape(text), style)


def _status(row: RegisterRow) -> str:
    if row.status == "issued":
        return "Terbit"
    when = format_indonesian_date(row.revoked_on) if row.revoked_on else ""
    return " ".join(part for part in ("DICABUT", when, f"({row.revocation_reason})" if row.revocation_reason
                                      else "") if part)


def _cells(row: RegisterRow) -> list[Paragraph]:
    return [_p(str(row.running_number)), _p(format_indonesian_date(row.letter_date)), _p(row.number),
            _p(row.classification), _p(row.title), _p(row.applicant_name), _p(row.signer), _p(_status(row))]


def _table(rows: Iterable[RegisterRow], width: float) -> LongTable:
    data = [[_p(heading, HEAD) for heading, _ in COLUMNS]]
    data += [_cells(row) for row in rows] or [[_p(EMPTY), *[""] * (len(COLUMNS) - 1)]]
    table = LongTable(data, colWidths=[share * width for _, share in COLUMNS], repeatRows=1)
    style = [("GRID", (0, 0), (-1, -1), 0.4, colors.black), ("VALIGN", (0, 0), (-1, -1), "TOP"),
             ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8"))]
    if len(data) == 2 and data[1][1] == "":
        style.append(("SPAN", (0, 1), (-1, 1)))
    table.setStyle(TableStyle(style))
    return table


def render_register_pdf(rows: Iterable[RegisterRow], *, letterhead: Letterhead, paper: str, period: str) -> bytes:
    """The register's rows under the village's letterhead, landscape on paper (F4 or A4), pages numbered."""
    buffer = io.BytesIO()
    template = SimpleDocTemplate(buffer, pagesize=landscape(PAPER_SIZES[paper]), leftMargin=MARGIN,
                                 rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=MARGIN,
                                 title=f"Buku Agenda Surat Keluar {period}", creator="suratdesa", invariant=True,
                                 lang="id", initialFontName=FONT)
    story = [*letterhead_flowables(letterhead, template.width), _p("BUKU AGENDA SURAT KELUAR", TITLE),
             _p(period, PERIOD), Spacer(1, 2 * mm), _table(rows, template.width)]
    template.build(story, canvasmaker=NumberedCanvas)
    return buffer.getvalue()

"""Lay out a LetterDocument as PDF bytes: kop surat, title, data tables, statement, signer and QR code."""

from __future__ import annotations

import io
import math
import re
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
)
from reportlab.platypus.paragraph import cleanBlockQuotedText, textTransformFrags
from reportlab.platypus.paraparser import ParaParser

from shared.letters.documents import pdf_names, slots
from shared.letters.documents.document import LetterDocument, Letterhead, PeopleTable, Section, SignerBlock
from shared.letters.documents.emblem import EmblemImage, prepared_emblem
from shared.letters.documents.fonts import FONT, FONT_BOLD
from shared.letters.documents.layout import Band, Cell, Padding, Rows
from shared.letters.documents.qr import qr_operators
from shared.letters.documents.wording import format_indonesian_date

__all__ = ["PAPER_SIZES", "format_indonesian_date", "render_letter_pdf"]

PAPER_SIZES = {"F4": (215 * mm, 330 * mm), "A4": A4}
MARGIN_X, MARGIN_Y = 25 * mm, 15 * mm
LOGO_SIZE, LOGO_COLUMN = 22 * mm, 26 * mm
LABEL_INDENT, COLON_WIDTH = 8 * mm, 4 * mm
LABEL_WIDTHS = (40 * mm, 62 * mm)  # the label column fits the longest label, within these bounds
SIGNER_COLUMN = 78 * mm
SIGNATURE_SPACE = 20 * mm
WATERMARK = "KONSEP"


# PDF is binary anyway: ASCII85 on top of Flate makes each page stream a quarter bigger and costs about
# half a millisecond per page to encode in ReportLab's pure-Python fallback (a process-wide setting)
rl_config.useA85 = 0
pdf_names.install()  # names and short strings encoded once per process, not once per letter


def paragraph_style(name: str, size: float, *, bold: bool = False, align: int = TA_LEFT,
                    **kw: Any) -> ParagraphStyle:
    """A paragraph style in the letter's typeface (the register PDF uses it too)."""
    kw.setdefault("leading", size * 1.3)
    kw.setdefault("bulletFontName", FONT)
    return ParagraphStyle(name, fontName=FONT_BOLD if bold else FONT, fontSize=size, alignment=align, **kw)


HEAD_LINE = paragraph_style("head", 13, bold=True, align=TA_CENTER)
HEAD_MAIN = paragraph_style("head-main", 16, bold=True, align=TA_CENTER)
ADDRESS = paragraph_style("address", 9.5, align=TA_CENTER)
TITLE = paragraph_style("title", 13, bold=True, align=TA_CENTER, underlineWidth=0.8, underlineOffset=-2.5)
NUMBER_SPACE_AFTER = 14
BODY = paragraph_style("body", 11.5, align=TA_JUSTIFY, spaceAfter=6, leading=15.5)
CELL = paragraph_style("cell", 11.5)
HEADING = paragraph_style("heading", 11.5, spaceAfter=3)  # a lead-in line such as "Dari seorang ibu:"
TABLE_CELL = paragraph_style("table-cell", 10.5, leading=13)
TABLE_HEAD = paragraph_style("table-head", 10.5, bold=True, align=TA_CENTER, leading=13)
SIGNER = paragraph_style("signer", 11.5, align=TA_CENTER)


def render_letter_pdf(doc: LetterDocument) -> bytes:
    """Lay out `doc` as a PDF; the same document always gives the same bytes."""
    buffer = io.BytesIO()
    template = SimpleDocTemplate(
        buffer,
        pagesize=_page_size(doc.paper),
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_Y,
        bottomMargin=MARGIN_Y,
        title=doc.title,
        creator="suratdesa",
        author=" ".join(doc.letterhead.lines[-1:]),
        invariant=True,
        lang="id",
        initialFontName=FONT,
    )
    pages = {"onFirstPage": _watermark_slot, "onLaterPages": _watermark_slot} if doc.is_draft else {}
    template.build(_story(doc, template.width), canvasmaker=NumberedCanvas, **pages)
    return buffer.getvalue()


def _page_size(paper: str) -> tuple[float, float]:
    try:
        return PAPER_SIZES[paper.upper()]
    except KeyError:
        raise ValueError(f"unknown paper {paper!r}; expected one of {sorted(PAPER_SIZES)}") from None


def _story(doc: LetterDocument, width: float) -> list[Flowable]:
    label_width = _label_width(doc.sections)
    return [
        *letterhead_flowables(doc.letterhead, width),
        _text(doc.title.upper(), TITLE, markup="<u>{}</u>"),
        NumberSlot(doc, width),
        _text(doc.opening, BODY),
        *[flowable for section in doc.sections for flowable in _block(section, width, label_width)],
        *[_text(paragraph, BODY) for paragraph in doc.statement],
        _ending(doc, width),
    ]


def _label_width(sections: tuple[Section | PeopleTable, ...]) -> float:
    # one width for every table of the letter, so all the colons stand in one column
    labels = [label for s in sections if isinstance(s, Section) for label, _value in s.rows]
    widest = max((pdfmetrics.stringWidth(label, FONT, CELL.fontSize) for label in labels), default=0)
    return min(max(widest + 3 * mm, LABEL_WIDTHS[0]), LABEL_WIDTHS[1])


def _block(block: Section | PeopleTable, width: float, label_width: float) -> list[Flowable]:
    if isinstance(block, PeopleTable):
        return _people_table(block, width)
    return _section(block, width, label_width)


def _text(text: str, style: ParagraphStyle, markup: str = "{}") -> Paragraph:
    # Paragraph parses an XML-like markup: escaping makes every typed character print as itself
    source = markup.format(escape(text))
    parsed_style, fragments = _parsed(source, style)
    return Paragraph(source, parsed_style, frags=fragments)


@lru_cache(maxsize=256)  # a few hundred kB: the worker's footprint is bounded too (tests/worker/test_footprint.py)
def _parsed(source: str, style: ParagraphStyle) -> tuple[ParagraphStyle, list[Any]]:
    """A paragraph's markup as ReportLab parses it, once per process: a village's letters repeat most of their
    paragraphs (the address, the title, the column titles, the closing); ReportLab only reads the fragments after."""
    parsed_style, fragments, _bullet = ParaParser().parse(cleanBlockQuotedText(source), style)
    if fragments is None:
        raise ValueError(f"unparsable paragraph markup: {source[:30]!r}")
    textTransformFrags(fragments, parsed_style)
    return parsed_style, fragments


def letterhead_flowables(head: Letterhead, width: float) -> list[Flowable]:
    """The kop surat (lines, emblem, address, the double rule) as flowables, for letters and the register."""
    styles = [HEAD_LINE] * (len(head.lines) - 1) + [HEAD_MAIN]
    lines = [CentredLine(line.upper(), style) for line, style in zip(head.lines, styles, strict=False)]
    image = _logo_image(head)
    logo = [EmblemImage(prepared_emblem(image, LOGO_SIZE), LOGO_SIZE)] if image else []
    # an empty column the logo's width on the right keeps the text centred on the page
    side = LOGO_COLUMN if image else 0
    text = [*lines, _text(head.address, ADDRESS)]
    band = Band([logo, text, []], [side, width - 2 * side, side], valign="MIDDLE")
    return [band, Spacer(1, 2 * mm), DoubleRule(width), Spacer(1, 4 * mm)]


def _logo_image(head: Letterhead) -> bytes | None:
    if head.logo:
        return head.logo
    return Path(head.logo_path).read_bytes() if head.logo_path else None


class CentredLine(Flowable):
    """A short line centred on its width, set as a centred one-line Paragraph sets it, without the markup parse and
    line breaking a Paragraph costs; a text too long for one line is left to a Paragraph."""

    def __init__(self, text: str, style: ParagraphStyle) -> None:
        super().__init__()
        self.text, self.style = " ".join(text.split()), style  # spaces collapse as a Paragraph collapses them
        self.paragraph: Paragraph | None = None

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        if pdfmetrics.stringWidth(self.text, self.style.fontName, self.style.fontSize) > availWidth:
            self.paragraph = _text(self.text, self.style)
            return self.paragraph.wrap(availWidth, availHeight)
        self.paragraph, self.width, self.height = None, availWidth, self.style.leading
        return self.width, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        return self.paragraph.split(availWidth, availHeight) if self.paragraph else []

    def draw(self) -> None:
        if self.paragraph is not None:
            self.paragraph.drawOn(self.canv, 0, 0)
            return
        self.canv.setFont(self.style.fontName, self.style.fontSize)
        # where a Paragraph puts its first baseline: one font size below the top
        self.canv.drawCentredString(self.width / 2, self.height - self.style.fontSize, self.text)


class DoubleRule(Flowable):
    """The kop surat's rule: a thick line with a thin one under it."""

    def __init__(self, width: float) -> None:
        super().__init__()
        self.width, self.height = width, 4

    def draw(self) -> None:
        self.canv.setLineWidth(2.2)
        self.canv.line(0, 3.9, self.width, 3.9)
        self.canv.setLineWidth(0.7)
        self.canv.line(0, 0.35, self.width, 0.35)


def _section(section: Section, width: float, label_width: float) -> list[Flowable]:
    heading = [_text(section.heading, HEADING)] if section.heading else []
    if not section.rows:
        return heading
    value_width = width - LABEL_INDENT - label_width - COLON_WIDTH
    rows = [["", _cell(label, CELL, label_width), ":", _cell(value, CELL, value_width)]
            for label, value in section.rows]
    # a point under each row, between one row's descenders and the next row's capitals
    table = Rows(rows, [LABEL_INDENT, label_width, COLON_WIDTH, value_width], CELL, padding=Padding(bottom=1))
    return [*heading, table, Spacer(1, 6)]


def _people_table(block: PeopleTable, width: float) -> list[Flowable]:
    heading = [_text(block.heading, HEADING)] if block.heading else []
    head = [_text(title, TABLE_HEAD) for title in ("No.", *block.columns)]
    widths = _people_columns(block.columns, width - LABEL_INDENT)
    body = [[_cell(text, TABLE_CELL, w - 2 * PEOPLE_PADDING) for text, w in zip((f"{i}.", *row), widths, strict=True)]
            for i, row in enumerate(block.rows, 1)]
    padding = Padding(top=2, right=PEOPLE_PADDING, bottom=3, left=PEOPLE_PADDING)
    table = Rows([head, *body], widths, TABLE_CELL, padding=padding, rule=0.5, repeat=1, align="RIGHT")
    return [*heading, table, Spacer(1, 8)]


def _cell(text: str, style: ParagraphStyle, width: float) -> Cell:
    # a value that fits on one line is drawn as a plain string, as typed: a Paragraph would cost a markup
    # parse and a line-breaking pass for the same ink. Spaces collapse as a Paragraph collapses them.
    line = " ".join(text.split())
    if pdfmetrics.stringWidth(line, style.fontName, style.fontSize) <= width:
        return line
    return _text(text, style)


PEOPLE_PADDING = 3
# fixed widths for the columns whose content has a known length; the name takes what is left
PEOPLE_COLUMN_WIDTHS = {"NIK": 36 * mm, "Tanggal Lahir": 32 * mm, "L/P": 10 * mm, "Hubungan": 28 * mm}


def _people_columns(columns: tuple[str, ...], width: float) -> list[float]:
    fixed = [10 * mm, *[PEOPLE_COLUMN_WIDTHS.get(c, 0) for c in columns]]
    rest = width - sum(fixed)
    return [w or rest for w in fixed]


def _validity_line(until: date, document_name: str) -> Paragraph:
    name = document_name[:1].upper() + document_name[1:]
    return _text(f"{name} ini berlaku sampai dengan {format_indonesian_date(until)}.", BODY)


def _ending(doc: LetterDocument, width: float) -> Flowable:
    # the closing goes with the signature: a page must never hold a signer block alone
    validity = [_validity_line(doc.validity_until, doc.document_name)] if doc.validity_until else []
    return KeepTogether([*validity, _text(doc.closing, BODY), *_signature_band(doc, width)])


def _signature_band(doc: LetterDocument, width: float) -> list[Flowable]:
    gap = width - slots.QR_COLUMN - SIGNER_COLUMN
    band = Band([[QrSlot(doc)], [], _signer_lines(doc)], [slots.QR_COLUMN, gap, SIGNER_COLUMN], valign="BOTTOM")
    return [Spacer(1, 5 * mm), band]


class NumberSlot(Flowable):
    """The line "Nomor: ..." centred on the text width, drawn as the number slot: dots on a draft."""

    def __init__(self, doc: LetterDocument, width: float) -> None:
        super().__init__()
        self.doc, self.width, self.height = doc, width, slots.NUMBER_LEADING
        self.spaceAfter = NUMBER_SPACE_AFTER

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        canvas, name = self.canv, slots.number_slot(self.doc)
        canvas.beginForm(name, 0, 0, self.width, self.height)
        canvas.setFont(FONT, slots.NUMBER_SIZE)
        canvas.drawCentredString(self.width / 2, slots.number_baseline(), slots.number_text(self.doc))
        canvas.endForm()
        canvas.doForm(name)


class QrSlot(Flowable):
    """The QR code over its caption, drawn as the QR slot: empty on a draft, which is not yet valid."""

    def __init__(self, doc: LetterDocument) -> None:
        super().__init__()
        self.url = None if doc.is_draft else doc.verification_url
        self.width, self.height = slots.QR_COLUMN, slots.qr_slot_height()

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        canvas.beginForm(slots.QR_SLOT, 0, 0, self.width, self.height)
        if self.url:
            _draw_qr_slot(canvas, self.url)
        canvas.endForm()
        canvas.doForm(slots.QR_SLOT)


def _draw_qr_slot(canvas: Canvas, url: str) -> None:
    """What the QR slot of an issued letter holds, drawn in the slot's space (finishing writes the same)."""
    canvas.saveState()
    canvas.translate(*slots.qr_origin())
    canvas.addLiteral(qr_operators(url, slots.QR_SIZE))
    canvas.restoreState()
    canvas.setFont(FONT, slots.CAPTION_SIZE)
    for line, baseline in zip(slots.caption_lines(), slots.caption_baselines(), strict=True):
        canvas.drawCentredString(slots.QR_COLUMN / 2, baseline, line)


def _signer_lines(doc: LetterDocument) -> list[Flowable]:
    signer = doc.signer
    staff = [CentredLine(_staff_number(signer), SIGNER)] if signer.staff_number else []
    return [
        CentredLine(f"{doc.place}, {format_indonesian_date(doc.letter_date)}", SIGNER),
        *[CentredLine(line, SIGNER) for line in signer.on_behalf],
        CentredLine(signer.position, SIGNER),
        Spacer(1, SIGNATURE_SPACE),
        _text(signer.name, SIGNER, markup="<b><u>{}</u></b>"),
        *staff,
    ]


def _staff_number(signer: SignerBlock) -> str:
    # a bare number is a NIP; "NIPD. ..." or "NIP. ..." as typed is printed unchanged
    number = signer.staff_number or ""
    return f"NIP. {number}" if re.match(r"\d", number) else number


def _watermark_slot(canvas: Canvas, template: SimpleDocTemplate) -> None:
    # drawn when the page begins, so the letter's text lies on top of it; defined with the first page
    if not canvas.hasForm(slots.WATERMARK_SLOT):
        page_width, page_height = template.pagesize
        canvas.beginForm(slots.WATERMARK_SLOT, 0, 0, page_width, page_height)
        _draw_watermark(canvas, page_width, page_height)
        canvas.endForm()
    canvas.doForm(slots.WATERMARK_SLOT)


def _draw_watermark(canvas: Canvas, page_width: float, page_height: float) -> None:
    size = 0.55 * math.hypot(page_width, page_height) / pdfmetrics.stringWidth(WATERMARK, FONT_BOLD, 1)
    canvas.saveState()
    canvas.setFillColor(colors.Color(0.86, 0.86, 0.86))
    canvas.setFont(FONT_BOLD, size)
    canvas.translate(page_width / 2, page_height / 2)
    canvas.rotate(math.degrees(math.atan2(page_height, page_width)))
    canvas.drawCentredString(0, -0.35 * size, WATERMARK)  # capitals' middle sits about 0.35 em up
    canvas.restoreState()


class NumberedCanvas(Canvas):
    """Holds pages back until the end, so a footer can say "Halaman 1 dari 2"."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._page_states: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._page_states.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        """Write every held page, each with its footer when the letter has more than one."""
        total = len(self._page_states)
        for number, state in enumerate(self._page_states, start=1):
            self.__dict__.update(state)
            if total > 1:
                self._draw_footer(number, total)
            super().showPage()
        super().save()

    def _draw_footer(self, number: int, total: int) -> None:
        self.setFont(FONT, 9)
        self.drawCentredString(self._pagesize[0] / 2, MARGIN_Y / 2, f"Halaman {number} dari {total}")

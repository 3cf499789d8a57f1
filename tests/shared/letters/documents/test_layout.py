"""The letter's sections, people tables, letterhead and signature band are drawn by two small flowables (`layout.py`)
in place of ReportLab Tables: the reference here is the Table layout they replace, and not one pixel may differ."""

from __future__ import annotations

from dataclasses import replace
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image, ImageChops
from reportlab.lib import colors
from reportlab.lib.pagesizes import A5
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from shared.letters.documents import rendering, slots
from shared.letters.documents.document import LetterDocument, Letterhead, PeopleTable, Section, SignerBlock
from shared.letters.documents.emblem import EmblemImage, prepared_emblem
from shared.letters.documents.layout import Band, Rows
from shared.letters.documents.rendering import (
    CELL,
    COLON_WIDTH,
    LABEL_INDENT,
    LOGO_COLUMN,
    LOGO_SIZE,
    PEOPLE_PADDING,
    SIGNER_COLUMN,
    TABLE_CELL,
    render_letter_pdf,
)
from tests.shared.letters.documents.test_emblem import scanned_emblem
from tests.shared.letters.documents.test_finishing import pages
from tests.shared.letters.documents.test_rendering import LONG_STATEMENT

LONG_VALUE = ("Kampung Cijengkol RT 002 RW 005, Desa Cijengkol, Kecamatan Caringin, Kabupaten Sukabumi, "
              "Provinsi Jawa Barat, di belakang balai desa, sebelah utara masjid jami'")
LONG_LABEL = "Nama Lengkap Orang Tua atau Wali Sebagaimana Tercantum dalam Kartu Keluarga"


def grid(valign: str, bottom_padding: float = 0) -> TableStyle:
    """The style the Tables had: no padding but the one under each row, no lines."""
    return TableStyle([("VALIGN", (0, 0), (-1, -1), valign), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                       ("RIGHTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 0),
                       ("BOTTOMPADDING", (0, 0), (-1, -1), bottom_padding)])


def table_section(section: Section, width: float, label_width: float) -> list[Flowable]:
    heading = [rendering._text(section.heading, rendering.HEADING)] if section.heading else []
    if not section.rows:
        return heading
    value_width = width - LABEL_INDENT - label_width - COLON_WIDTH
    rows = [["", rendering._cell(label, CELL, label_width), ":", rendering._cell(value, CELL, value_width)]
            for label, value in section.rows]
    table = Table(rows, colWidths=[LABEL_INDENT, label_width, COLON_WIDTH, value_width])
    table.setStyle(grid("TOP", bottom_padding=1))
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), CELL.fontName, CELL.fontSize, CELL.leading)]))
    return [*heading, table, Spacer(1, 6)]


def table_people(block: PeopleTable, width: float) -> list[Flowable]:
    heading = [rendering._text(block.heading, rendering.HEADING)] if block.heading else []
    head = [rendering._text(title, rendering.TABLE_HEAD) for title in ("No.", *block.columns)]
    widths = rendering._people_columns(block.columns, width - LABEL_INDENT)
    body = [[rendering._cell(text, TABLE_CELL, w - 2 * PEOPLE_PADDING)
             for text, w in zip((f"{i}.", *row), widths, strict=True)] for i, row in enumerate(block.rows, 1)]
    table = Table([head, *body], colWidths=widths, repeatRows=1, hAlign="RIGHT")
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                               ("LEFTPADDING", (0, 0), (-1, -1), PEOPLE_PADDING),
                               ("RIGHTPADDING", (0, 0), (-1, -1), PEOPLE_PADDING)]))
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), TABLE_CELL.fontName, TABLE_CELL.fontSize,
                                TABLE_CELL.leading)]))
    return [*heading, table, Spacer(1, 8)]


def table_letterhead(head: Letterhead, width: float) -> list[Flowable]:
    styles = [rendering.HEAD_LINE] * (len(head.lines) - 1) + [rendering.HEAD_MAIN]
    lines = [rendering.CentredLine(line.upper(), style) for line, style in zip(head.lines, styles, strict=False)]
    image = rendering._logo_image(head)
    logo = EmblemImage(prepared_emblem(image, LOGO_SIZE), LOGO_SIZE) if image else ""
    side = LOGO_COLUMN if image else 0
    text = [*lines, rendering._text(head.address, rendering.ADDRESS)]
    table = Table([[logo, text, ""]], colWidths=[side, width - 2 * side, side])
    table.setStyle(grid("MIDDLE"))
    return [table, Spacer(1, 2 * mm), rendering.DoubleRule(width), Spacer(1, 4 * mm)]


def table_signature_band(doc: LetterDocument, width: float) -> list[Flowable]:
    gap = width - slots.QR_COLUMN - SIGNER_COLUMN
    table = Table([[rendering.QrSlot(doc), "", rendering._signer_lines(doc)]],
                  colWidths=[slots.QR_COLUMN, gap, SIGNER_COLUMN])
    table.setStyle(grid("BOTTOM"))
    return [Spacer(1, 5 * mm), table]


def laid_out_with_tables(doc: LetterDocument, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """The letter as the Tables laid it out: the same cells, in the Tables these flowables replaced."""
    with monkeypatch.context() as patched:
        patched.setattr(rendering, "_section", table_section)
        patched.setattr(rendering, "_people_table", table_people)
        patched.setattr(rendering, "_signature_band", table_signature_band)
        patched.setattr(rendering, "letterhead_flowables", table_letterhead)
        return render_letter_pdf(doc)


def many_rows(count: int) -> Section:
    return Section(rows=tuple((f"Anggota {i}", LONG_VALUE if i % 7 == 0 else f"Nama anggota ke-{i}")
                              for i in range(1, count + 1)), heading="Daftar anggota keluarga:")


def family(count: int) -> PeopleTable:
    relations = ("Istri", "Anak", "Anak Angkat", "Orang Tua")
    rows = tuple((LONG_LABEL if i % 5 == 0 else f"Anggota Keluarga Ke-{i}", f"32020945069{i:05d}", "5 Juni 1990",
                  "P" if i % 2 else "L", relations[i % 4]) for i in range(1, count + 1))
    return PeopleTable(columns=("Nama", "NIK", "Tanggal Lahir", "L/P", "Hubungan"), rows=rows,
                       heading="Anggota Keluarga:")


def letters(sktm: LetterDocument, final_sktm: LetterDocument) -> dict[str, LetterDocument]:
    logo = scanned_emblem(3)
    wrapping = (Section(rows=(("Nama", "Siti Nur'aini"), ("Alamat", LONG_VALUE), (LONG_LABEL, "Ahmad"),
                              ("Keterangan", ""))),)
    signer = SignerBlock(name="Dedi Kurniawan", position="Sekretaris Desa", staff_number="198705122010011003",
                         on_behalf=("a.n. Kepala Desa Cijengkol",))
    return {
        "draft": sktm,
        "final": final_sktm,
        "emblem, wrapping values and labels": replace(
            final_sktm, letterhead=replace(final_sktm.letterhead, logo=logo), sections=wrapping, signer=signer),
        "a section over pages": replace(sktm, sections=(*sktm.sections, many_rows(60))),
        "a people table": replace(final_sktm, sections=(*sktm.sections, family(3))),
        "a people table over pages": replace(sktm, sections=(*sktm.sections, family(40))),
        "an address over two lines": replace(final_sktm, letterhead=replace(
            final_sktm.letterhead, address=LONG_VALUE, logo=logo)),
    }


@pytest.mark.parametrize("case", ["draft", "final", "emblem, wrapping values and labels", "a section over pages",
                                  "a people table", "a people table over pages", "an address over two lines"])
def test_the_letter_is_drawn_pixel_for_pixel_as_its_table_layout_drew_it(sktm, final_sktm, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch,
                                                                         case: str) -> None:
    doc = letters(sktm, final_sktm)[case]
    ours = pages(render_letter_pdf(doc), tmp_path, "ours")
    theirs = pages(laid_out_with_tables(doc, monkeypatch), tmp_path, "tables")
    assert len(ours) == len(theirs) == {"a section over pages": 3, "a people table over pages": 3}.get(case, 1)
    for page, expected in zip(ours, theirs, strict=True):
        assert ImageChops.difference(page, expected).getbbox() is None  # not one pixel differs


def test_rows_split_between_rows_and_never_inside_one() -> None:
    rows = [["", "Nama", ":", "Siti"], ["", "Alamat", ":", "Cijengkol"], ["", "Agama", ":", "Islam"]]
    section = Rows(rows, [LABEL_INDENT, 40 * mm, COLON_WIDTH, 90 * mm], CELL)
    row = CELL.leading
    assert section.split(400, row - 0.5) == []  # not even one row fits: the section goes to the next page
    assert section.split(400, 3 * row) == [section]
    first, rest = section.split(400, 2 * row + 0.5)
    assert isinstance(first, Rows) and isinstance(rest, Rows)
    assert (first.rows, rest.rows) == (rows[:2], rows[2:])


def test_a_header_row_is_repeated_on_the_next_page_and_never_left_alone() -> None:
    rows = [["No.", "Nama"], ["1.", "Euis"], ["2.", "Dewi"], ["3.", "Asep"]]
    table = Rows(rows, [30, 200], TABLE_CELL, repeat=1)
    row = TABLE_CELL.leading
    assert table.split(400, 1.5 * row) == []  # the header alone would end the page: all of it goes on
    first, rest = table.split(400, 2.5 * row)
    assert isinstance(first, Rows) and isinstance(rest, Rows)
    assert (first.rows, rest.rows) == (rows[:2], [rows[0], *rows[2:]])


def test_an_emblem_sits_in_the_middle_of_the_letterhead_band() -> None:
    emblem = EmblemImage(prepared_emblem(scanned_emblem(3), LOGO_SIZE), LOGO_SIZE)
    band = Band([[emblem], [Spacer(1, 100)], []], [LOGO_COLUMN, 300, LOGO_COLUMN], valign="MIDDLE")
    assert band.wrap(500, 800) == (300 + 2 * LOGO_COLUMN, 100)
    # a band of small things is still as tall as an empty Table cell
    assert Band([[Spacer(1, 5)], []], [10, 10], valign="BOTTOM").wrap(500, 800) == (20, 12)
    with pytest.raises(ValueError, match="TOP"):
        Band([[emblem]], [LOGO_COLUMN], valign="TOP")


def drawn(story: list[Flowable], tmp_path: Path, name: str) -> list[Image.Image]:
    out = BytesIO()
    SimpleDocTemplate(out, pagesize=A5, invariant=True).build(story)
    return pages(out.getvalue(), tmp_path, name)


@pytest.mark.parametrize("valign", ["MIDDLE", "BOTTOM"])
def test_a_band_of_spaced_paragraphs_draws_as_a_table_draws_it(tmp_path: Path, valign: str) -> None:
    spaced = ParagraphStyle("spaced", parent=CELL, spaceBefore=7, spaceAfter=5)

    def columns() -> list[list[Flowable]]:
        return [[Paragraph("Satu", spaced), Paragraph(LONG_VALUE, spaced), Paragraph("Tiga", CELL)], [],
                [Paragraph("Empat", spaced)]]

    widths = [60 * mm, 10 * mm, 40 * mm]
    reference = Table([[cells or "" for cells in columns()]], colWidths=widths)
    reference.setStyle(grid(valign))
    ours, theirs = drawn([Band(columns(), widths, valign)], tmp_path, "band"), drawn([reference], tmp_path, "table")
    assert ImageChops.difference(ours[0], theirs[0]).getbbox() is None


def test_paragraphs_parsed_once_lay_out_every_later_letter_as_the_first(final_sktm) -> None:
    rendering._parsed.cache_clear()
    doc = replace(final_sktm, statement=LONG_STATEMENT)  # paragraphs broken into lines and split across pages
    first = render_letter_pdf(doc)
    hits = rendering._parsed.cache_info().hits
    assert render_letter_pdf(doc) == first  # the parsed fragments were only read by the first letter's layout
    assert rendering._parsed.cache_info().hits > hits


def test_a_text_parsed_in_one_style_is_parsed_again_in_another() -> None:
    head, cell = rendering._text("Nama", rendering.TABLE_HEAD), rendering._text("Nama", TABLE_CELL)
    assert [f.fontName for f in head.frags] == [rendering.TABLE_HEAD.fontName] != [TABLE_CELL.fontName]
    assert [f.fontName for f in cell.frags] == [TABLE_CELL.fontName]

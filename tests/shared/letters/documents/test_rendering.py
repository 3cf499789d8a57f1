"""The letter PDF, read back the way a person or a scanner would: text, page size, QR code, fonts."""

from __future__ import annotations

import pickle
import re
import subprocess
import sys
from dataclasses import replace
from datetime import date
from functools import partial
from hashlib import sha256
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import TTFont, TTFontFace

from shared.letters.documents.document import LetterDocument, Section, SignerBlock
from shared.letters.documents.fonts import (
    FONT,
    FONT_BOLD,
    SubsetOnceFont,
    _make_to_unicode_map,
    _to_unicode_map,
    compressed,
    formatted_numbers,
)
from shared.letters.documents.rendering import format_indonesian_date, render_letter_pdf
from tests.shared.letters.documents.conftest import NUMBER, VERIFICATION_URL

LONG_STATEMENT = ("Orang tersebut benar warga Desa Cijengkol yang tergolong keluarga tidak mampu. " * 12,) * 4


def write_pdf(doc: LetterDocument, tmp_path: Path, name: str = "letter.pdf") -> Path:
    path = tmp_path / name
    path.write_bytes(render_letter_pdf(doc))
    return path


def run(*command: str | Path) -> str:
    return subprocess.run([str(part) for part in command], check=True, capture_output=True, text=True).stdout


def layout_text(pdf: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return run("pdftotext", "-layout", *pages, pdf, "-")


def raw_text(pdf: Path, page: int | None = None) -> str:
    # the diagonal watermark comes out one letter per line in reading order; joining lines restores it
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return run("pdftotext", "-raw", *pages, pdf, "-").replace("\n", "")


def decoded_qr_codes(pdf: Path, tmp_path: Path) -> list[str]:
    run("pdftoppm", "-r", "150", "-png", "-singlefile", pdf, tmp_path / "page")
    with Image.open(tmp_path / "page.png") as image:
        return [barcode.text for barcode in zxingcpp.read_barcodes(image)]


def image_count(pdf: Path) -> int:
    listing = run("pdfimages", "-list", pdf).splitlines()
    return len(listing) - 2  # two header lines


def pdfinfo(pdf: Path) -> dict[str, str]:
    pairs = (line.split(":", 1) for line in run("pdfinfo", pdf).splitlines() if ":" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def page_size_mm(pdf: Path) -> tuple[float, float]:
    width, height = re.findall(r"[\d.]+", pdfinfo(pdf)["Page size"])[:2]
    return float(width) * 25.4 / 72, float(height) * 25.4 / 72


def test_draft_shows_konsep_and_dotted_number_and_no_qr(sktm, tmp_path):
    draft = replace(sktm, verification_url=VERIFICATION_URL)  # a url on a draft must still give no QR
    pdf = write_pdf(draft, tmp_path)
    text = layout_text(pdf)
    assert "SURAT KETERANGAN TIDAK MAMPU" in text
    assert "Siti Nur'aini" in text
    assert "Nomor: ......" in text
    assert "Cijengkol, 27 November 2026" in text
    assert "KONSEP" in raw_text(pdf)
    assert decoded_qr_codes(pdf, tmp_path) == []


def test_final_shows_number_and_a_decodable_vector_qr(final_sktm, tmp_path):
    pdf = write_pdf(final_sktm, tmp_path)
    text = layout_text(pdf)
    assert f"Nomor: {NUMBER}" in text
    assert "KONSEP" not in raw_text(pdf)
    assert "Pindai untuk memeriksa" in text and "keaslian surat" in text
    assert decoded_qr_codes(pdf, tmp_path) == [VERIFICATION_URL]
    assert image_count(pdf) == 0  # drawn as rectangles, not embedded as a picture


def test_the_qr_code_keeps_error_correction_m(final_sktm, tmp_path):
    # a higher level would pack the same link into smaller modules, harder to read from a worn print
    run("pdftoppm", "-r", "150", "-png", "-singlefile", write_pdf(final_sktm, tmp_path), tmp_path / "page")
    with Image.open(tmp_path / "page.png") as image:
        assert [(code.text, code.ec_level) for code in zxingcpp.read_barcodes(image)] == [(VERIFICATION_URL, "M")]


def test_the_qr_code_reads_the_same_with_another_decoder(final_sktm, tmp_path):
    # zxing-cpp makes the code and reads it in the other tests: ZBar, a decoder of its own lineage, must agree,
    # so the code is standard and not one only its own library reads
    run("pdftoppm", "-r", "150", "-png", "-singlefile", write_pdf(final_sktm, tmp_path), tmp_path / "page")
    assert run("zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", tmp_path / "page.png") \
        == VERIFICATION_URL + "\n"


def test_single_page_letter_has_no_page_footer(final_sktm, tmp_path):
    pdf = write_pdf(final_sktm, tmp_path)
    assert pdfinfo(pdf)["Pages"] == "1"
    assert "Halaman" not in layout_text(pdf)


def test_markup_in_user_text_is_printed_literally(final_sktm, tmp_path):
    markup = "<b>bold</b> & <font size=40>x</font> &amp;"
    person = Section(rows=(("Nama", f"Budi {markup}"), ("Keperluan", f"Melamar {markup}")))
    doc = replace(final_sktm, sections=(person,), statement=(f"Pernyataan {markup}",))
    text = layout_text(write_pdf(doc, tmp_path))
    assert f"Budi {markup}" in text
    assert f"Melamar {markup}" in text
    assert f"Pernyataan {markup}" in text


def test_a_long_value_wraps_in_its_column(final_sktm, tmp_path):
    address = "Kampung Cijengkol RT 002 RW 005, Desa Cijengkol, Kecamatan Caringin, Kabupaten Sukabumi, Jawa Barat"
    rows = (("Nama", "Siti Nur'aini"), ("Alamat", address), ("Agama", "Islam"))
    lines = layout_text(write_pdf(replace(final_sktm, sections=(Section(rows=rows),)), tmp_path)).splitlines()
    first = next(i for i, line in enumerate(lines) if line.strip().startswith("Alamat"))
    value_column = lines[first].index("Kampung")
    assert lines[first + 1][:value_column].strip() == ""  # the second line starts under the first
    assert " ".join(line[value_column:].strip() for line in lines[first:first + 2]) == address


def test_runs_of_spaces_in_a_value_print_as_one_space(final_sktm, tmp_path):
    def word_left(name: str) -> float:
        doc = replace(final_sktm, sections=(Section(rows=(("Nama", name),)),))
        boxes = run("pdftotext", "-bbox", write_pdf(doc, tmp_path), "-")
        words = re.findall(r'<word xMin="([\d.]+)"[^>]*>([^<]*)</word>', boxes)
        return next(float(x) for x, word in words if word == "Nur&apos;aini")

    assert word_left("Siti   Nur'aini") == word_left("Siti Nur'aini")


def test_non_ascii_and_apostrophe_names_print_correctly(final_sktm, tmp_path):
    names = ("Ñoño Thérèse", "Nur'aini Siti-Rahmah", "Şükrü Łukasz")  # Ş and Ł are outside Latin-1
    rows = tuple(("Nama", name) for name in names)
    signer = replace(final_sktm.signer, name="Thérèse Nur'aini")
    pdf = write_pdf(replace(final_sktm, sections=(Section(rows=rows),), signer=signer), tmp_path)
    text = layout_text(pdf)
    for name in (*names, "Thérèse Nur'aini"):
        assert name in text
    fonts = run("pdffonts", pdf)
    assert re.search(r"SourceSerifPro-Regular\s+TrueType.*yes\s+yes\s+yes", fonts)
    assert re.search(r"SourceSerifPro-Bold\s+TrueType.*yes\s+yes\s+yes", fonts)


PAPERS = [(None, (215, 330)), ("F4", (215, 330)), ("A4", (210, 297))]


@pytest.mark.parametrize(("paper", "expected_mm"), PAPERS)
def test_paper_is_f4_by_default_and_a4_on_request(final_sktm, tmp_path, paper, expected_mm):
    doc = final_sktm if paper is None else replace(final_sktm, paper=paper)
    width, height = page_size_mm(write_pdf(doc, tmp_path))
    assert width == pytest.approx(expected_mm[0], abs=0.2)
    assert height == pytest.approx(expected_mm[1], abs=0.2)


def test_unknown_paper_is_refused(final_sktm):
    with pytest.raises(ValueError, match="Letter"):
        render_letter_pdf(replace(final_sktm, paper="Letter"))


def test_long_statement_flows_onto_numbered_pages(final_sktm, tmp_path):
    pdf = write_pdf(replace(final_sktm, statement=LONG_STATEMENT), tmp_path)
    assert pdfinfo(pdf)["Pages"] == "2"
    first, last = layout_text(pdf, page=1), layout_text(pdf, page=2)
    assert "Halaman 1 dari 2" in first
    assert "Halaman 2 dari 2" in last
    assert "Hendra Saputra" in last and "Cijengkol, 27 November 2026" in last
    assert decoded_qr_codes(pdf, tmp_path) == []  # -singlefile renders page 1; the QR sits with the signer
    run("pdftoppm", "-r", "150", "-png", "-f", "2", "-l", "2", "-singlefile", pdf, tmp_path / "last")
    with Image.open(tmp_path / "last.png") as image:
        assert [barcode.text for barcode in zxingcpp.read_barcodes(image)] == [VERIFICATION_URL]


def test_draft_watermark_is_on_every_page(sktm, tmp_path):
    pdf = write_pdf(replace(sktm, statement=LONG_STATEMENT), tmp_path)
    assert pdfinfo(pdf)["Pages"] == "2"
    assert "KONSEP" in raw_text(pdf, page=1)
    assert "KONSEP" in raw_text(pdf, page=2)


def test_validity_on_behalf_lines_and_staff_number_appear(final_sktm, tmp_path):
    signer = SignerBlock(
        name="Hendra Saputra",
        position="Kasi Pelayanan",
        staff_number="19800512 200901 1 004",
        on_behalf=("a.n. Kepala Desa Cijengkol", "u.b. Sekretaris Desa"),
    )
    doc = replace(final_sktm, signer=signer, validity_until=date(2027, 2, 27))
    text = layout_text(write_pdf(doc, tmp_path))
    assert "Surat keterangan ini berlaku sampai dengan 27 Februari 2027." in text
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    signer_lines = ["a.n. Kepala Desa Cijengkol", "u.b. Sekretaris Desa", "Kasi Pelayanan", "Hendra Saputra"]
    positions = [next(i for i, line in enumerate(lines) if line.endswith(wanted)) for wanted in signer_lines]
    assert positions == sorted(positions)
    assert "NIP. 19800512 200901 1 004" in text


def test_staff_number_with_its_own_prefix_is_printed_as_typed(final_sktm, tmp_path):
    doc = replace(final_sktm, signer=replace(final_sktm.signer, staff_number="NIPD. 3202.15.2019.007"))
    text = layout_text(write_pdf(doc, tmp_path))
    assert "NIPD. 3202.15.2019.007" in text
    assert "NIP. NIPD" not in text


def test_no_validity_line_without_validity_date(final_sktm, tmp_path):
    assert "berlaku sampai dengan" not in layout_text(write_pdf(final_sktm, tmp_path))


def test_data_table_colons_are_aligned(final_sktm, tmp_path):
    text = layout_text(write_pdf(final_sktm, tmp_path))
    labels = ("Nama", "NIK", "Tempat/Tanggal Lahir", "Status Perkawinan", "Keperluan")
    rows = [line for line in text.splitlines() if line.strip().startswith(labels) and " : " in line]
    assert len(rows) >= len(labels)
    assert len({row.index(" : ") for row in rows}) == 1


def test_logo_is_embedded_and_metadata_is_set(final_sktm, tmp_path):
    logo = tmp_path / "logo.png"
    Image.new("RGB", (120, 140), (20, 110, 50)).save(logo)
    doc = replace(final_sktm, letterhead=replace(final_sktm.letterhead, logo_path=str(logo)))
    pdf = write_pdf(doc, tmp_path)
    assert image_count(pdf) == 1
    info = pdfinfo(pdf)
    assert info["Title"] == "Surat Keterangan Tidak Mampu"
    assert info["Creator"] == "suratdesa"
    assert decoded_qr_codes(pdf, tmp_path) == [VERIFICATION_URL]


def test_streams_are_binary_not_ascii85(final_sktm):
    pdf = render_letter_pdf(final_sktm)
    assert b"/FlateDecode" in pdf and b"/ASCII85Decode" not in pdf


def test_same_document_renders_the_same_bytes(final_sktm):
    assert render_letter_pdf(final_sktm) == render_letter_pdf(final_sktm)


def test_dates_are_written_in_indonesian():
    assert format_indonesian_date(date(2026, 11, 27)) == "27 November 2026"
    assert format_indonesian_date(date(2027, 2, 7)) == "7 Februari 2027"
    assert format_indonesian_date(date(2026, 8, 17)) == "17 Agustus 2026"


def rendered_in_a_new_process(doc: LetterDocument) -> bytes:
    """The PDF a process that has rendered nothing before makes of doc."""
    script = ("import pickle, sys; from shared.letters.documents.rendering import render_letter_pdf; "
              "sys.stdout.buffer.write(render_letter_pdf(pickle.loads(sys.stdin.buffer.read())))")
    return subprocess.run([sys.executable, "-c", script], input=pickle.dumps(doc), capture_output=True,
                          check=True).stdout


def test_a_letter_renders_the_same_bytes_whatever_the_process_rendered_before(final_sktm):
    # each face's subsets are made once per process: a letter with other characters must get its own
    plain = final_sktm
    accented = replace(final_sktm, signer=replace(final_sktm.signer, name="Thérèse Łukasz"))
    other = replace(final_sktm, signer=replace(final_sktm.signer, name="Ñoño Şükrü"))
    in_this_process = [render_letter_pdf(doc) for doc in (plain, accented, other, accented, plain)]
    assert in_this_process[1] != in_this_process[2]
    assert in_this_process == [rendered_in_a_new_process(doc) for doc in (plain, accented, other, accented, plain)]


def test_a_font_subset_is_made_and_compressed_once_for_letters_of_the_same_characters(final_sktm):
    face = pdfmetrics.getFont(FONT).face
    render_letter_pdf(final_sktm)
    subsets, compressions = face._subset.cache_info(), compressed.cache_info()
    other = replace(final_sktm, sections=(Section(rows=(("Nama", "Budi Santoso"), ("NIK", "3202150101800001"))),))
    render_letter_pdf(other)  # other words, all of them ASCII: the same first subset of each face
    assert (face._subset.cache_info().hits, face._subset.cache_info().misses) == (subsets.hits + 1, subsets.misses)
    # the regular and the bold face's subsets and their ToUnicode maps, all four compressed before
    assert (compressed.cache_info().hits, compressed.cache_info().misses) == (
        compressions.hits + 4, compressions.misses)


def test_a_subsets_widths_and_map_written_once_are_the_bytes_reportlab_writes(final_sktm, monkeypatch):
    docs = [final_sktm, replace(final_sktm, signer=replace(final_sktm.signer, name="Thérèse Łukasz")),
            replace(final_sktm, signer=replace(final_sktm.signer, name="Ñoño Şükrü"))]
    ours = [sha256(render_letter_pdf(doc)).hexdigest() for doc in docs * 2]  # the second time from the caches
    widths, maps = formatted_numbers.cache_info(), _to_unicode_map.cache_info()
    # ReportLab's own, every time anew
    monkeypatch.setattr(SubsetOnceFont, "addObjects", TTFont.addObjects)
    monkeypatch.setattr(ttfonts, "makeToUnicodeCMap", _make_to_unicode_map)
    for face in {pdfmetrics.getFont(name).face for name in (FONT, FONT_BOLD)}:
        monkeypatch.setattr(face, "getCharWidth", partial(TTFontFace.getCharWidth, face))
    assert [sha256(render_letter_pdf(doc)).hexdigest() for doc in docs * 2] == ours
    # the reference run did not go through the caches
    assert (formatted_numbers.cache_info(), _to_unicode_map.cache_info()) == (widths, maps)


def test_text_split_into_font_subsets_without_reportlabs_walk_is_what_reportlab_writes(final_sktm, monkeypatch):
    # printable ASCII skips ReportLab's walk character by character; anything else (a no-break space, a tab, the
    # last ASCII code, letters outside ASCII) must still take it, before and after ASCII text in the same letter
    names = ["Budi Santoso", "Siti\u00a0Aminah", "Thérèse Łukasz", "Ahmad\tYani", "Dewi~Lestari\x7f", "Ñoño Şükrü"]
    docs = [replace(final_sktm, signer=replace(final_sktm.signer, name=name),
                    sections=(Section(rows=(("Nama", names[(i + 1) % len(names)]), ("Alamat", "Jl. Mawar 3"))),))
            for i, name in enumerate(names)]
    ours = [render_letter_pdf(doc) for doc in docs]
    monkeypatch.setattr(SubsetOnceFont, "splitString", TTFont.splitString)  # ReportLab's own walk
    assert [render_letter_pdf(doc) for doc in docs] == ours

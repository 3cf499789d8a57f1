"""An issued letter made from its draft's slots, read back against the same letter laid out anew:
the same pixels on every page, the same text, the QR code read from pixels, the draft kept as the first revision."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from datetime import date
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from shared.letters.documents.document import LetterDocument, SignerBlock
from shared.letters.documents.finishing import finish_draft
from shared.letters.documents.rendering import render_letter_pdf
from tests.pdftools import pdf_text, pdf_text_flat, qr_codes
from tests.shared.letters.documents.conftest import NUMBER, VERIFICATION_URL
from tests.shared.letters.documents.test_rendering import LONG_STATEMENT


def finished(draft: LetterDocument, final: LetterDocument) -> bytes | None:
    writer = finish_draft(render_letter_pdf(draft), final)
    if writer is None:
        return None
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def pages(pdf: bytes, tmp_path: Path, name: str) -> list[Image.Image]:
    """Every page at 100 dpi, in grey."""
    (tmp_path / f"{name}.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "100", "-gray", tmp_path / f"{name}.pdf", tmp_path / name], check=True)
    images = []
    for path in sorted(tmp_path.glob(f"{name}-*.pgm")):
        with Image.open(path) as image:  # read now and closed: an open file left to the collector is a warning
            images.append(image.copy())
    return images


@pytest.mark.parametrize("statement", [None, LONG_STATEMENT], ids=["one page", "two pages"])
def test_a_letter_finished_from_its_draft_is_the_letter_laid_out_anew(sktm, final_sktm, tmp_path, statement):
    draft, final = (replace(doc, statement=statement or doc.statement) for doc in (sktm, final_sktm))
    from_draft, anew = finished(draft, final), render_letter_pdf(final)
    assert from_draft is not None
    assert from_draft.startswith(render_letter_pdf(draft))  # the approved draft, byte for byte, then an update
    ours, theirs = pages(from_draft, tmp_path, "from-draft"), pages(anew, tmp_path, "anew")
    assert len(ours) == len(theirs) == (2 if statement else 1)
    for page, expected in zip(ours, theirs, strict=True):
        assert ImageChops.difference(page, expected).getbbox() is None  # not one pixel differs
    assert pdf_text(from_draft) == pdf_text(anew)
    assert f"Nomor: {NUMBER}" in pdf_text(from_draft)
    # the diagonal watermark reads letter by letter
    assert "KONSEP" in pdf_text_flat(render_letter_pdf(draft)).replace(" ", "")
    assert "KONSEP" not in pdf_text_flat(from_draft).replace(" ", "")


def test_the_qr_code_of_a_letter_finished_from_its_draft_scans(sktm, final_sktm):
    pdf = finished(sktm, final_sktm)
    assert pdf is not None
    assert qr_codes(pdf) == [VERIFICATION_URL]
    assert "Pindai untuk memeriksa" in pdf_text(pdf)
    assert qr_codes(render_letter_pdf(sktm)) == [] and "Pindai" not in pdf_text(render_letter_pdf(sktm))


CHANGES = {
    "another date": {"letter_date": date(2026, 11, 28)},
    "another signer": {"signer": SignerBlock(name="Asep Sunandar", position="Sekretaris Desa")},
    "another statement": {"statement": ("Orang tersebut benar warga Desa Cijengkol.",)},
    "another paper": {"paper": "A4"},
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_a_draft_that_is_not_the_letters_layout_is_left_to_a_new_layout(sktm, final_sktm, change):
    assert finished(sktm, replace(final_sktm, **change)) is None
    assert finished(replace(sktm, **change), replace(final_sktm, **change)) is not None


def test_a_draft_with_another_logo_is_left_to_a_new_layout(sktm, final_sktm):
    buffer = BytesIO()
    Image.new("RGB", (40, 40), "green").save(buffer, "PNG")
    with_logo = replace(sktm.letterhead, logo=buffer.getvalue())
    assert finished(sktm, replace(final_sktm, letterhead=with_logo)) is None
    assert finished(replace(sktm, letterhead=with_logo), replace(final_sktm, letterhead=with_logo)) is not None


def test_a_number_outside_ascii_is_left_to_a_new_layout(sktm, final_sktm):
    # the draft's font subset holds ASCII at its own codes; other characters need the layout's own subset
    assert finished(sktm, replace(final_sktm, number="474/12/Désa/2026")) is None
    assert "474/12/Désa/2026" in pdf_text(render_letter_pdf(replace(final_sktm, number="474/12/Désa/2026")))


def test_a_file_that_is_no_draft_of_ours_is_left_to_a_new_layout(final_sktm):
    assert finish_draft(render_letter_pdf(final_sktm), final_sktm) is None  # an issued letter has no watermark
    assert finish_draft(b"%PDF-1.4 not really", final_sktm) is None
    assert finish_draft(b"", final_sktm) is None

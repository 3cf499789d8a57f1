"""The village emblem: prepared once per image, printed at 300 dpi whatever the size of the file it came from."""

from __future__ import annotations

import io
import random
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from shared.letters.documents import emblem as emblem_module
from shared.letters.documents.document import LetterDocument
from shared.letters.documents.rendering import LOGO_SIZE, render_letter_pdf
from tests.shared.letters.documents.conftest import NUMBER, VERIFICATION_URL
from tests.shared.letters.documents.test_rendering import decoded_qr_codes, layout_text, run

MM_PER_POINT = 25.4 / 72


def photo_emblem(seed: int) -> bytes:
    """A JPEG of about 300 kB (noise compresses badly), like a scanned coat of arms."""
    rng = random.Random(seed)
    image = Image.frombytes("RGB", (340, 310), rng.randbytes(340 * 310 * 3)).resize((680, 620))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def scanned_emblem(seed: int) -> bytes:
    """A PNG of about 300 kB: a round scan on a transparent background, lossless and heavy."""
    rng = random.Random(seed)
    scan = Image.frombytes("RGB", (48, 48), rng.randbytes(48 * 48 * 3)).resize((410, 410), Image.Resampling.BILINEAR)
    disc = Image.new("L", scan.size, 0)
    ImageDraw.Draw(disc).ellipse((0, 0, *scan.size), fill=255)
    image = scan.convert("RGBA")
    image.putalpha(disc)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def with_emblem(doc: LetterDocument, image: bytes) -> LetterDocument:
    return replace(doc, letterhead=replace(doc.letterhead, logo=image))


def images(pdf: bytes, tmp_path: Path) -> list[dict[str, str]]:
    """pdfimages -list as rows: type (image, smask), width, height, x-ppi, y-ppi."""
    path = tmp_path / "emblem.pdf"
    path.write_bytes(pdf)
    rows = [line.split() for line in run("pdfimages", "-list", path).splitlines()[2:]]
    return [{"type": r[2], "width": r[3], "height": r[4], "x-ppi": r[12], "y-ppi": r[13]} for r in rows]


@pytest.mark.parametrize("make", [photo_emblem, scanned_emblem])
def test_a_300_kb_emblem_is_printed_at_300_dpi_and_keeps_the_letter_small(final_sktm, tmp_path, make):
    image = make(1)
    assert 280 * 1024 <= len(image) <= 512 * 1024  # what a profile may hold (MAX_LOGO_BYTES)
    bare = render_letter_pdf(final_sktm)
    pdf = render_letter_pdf(with_emblem(final_sktm, image))
    assert len(pdf) - len(bare) < 100 * 1024  # before: the whole file again, 380 kB per letter
    [picture, *mask] = images(pdf, tmp_path)
    assert abs(int(picture["x-ppi"]) - 300) <= 1 and abs(int(picture["y-ppi"]) - 300) <= 1
    printed_mm = max(int(picture["width"]) / int(picture["x-ppi"]), int(picture["height"]) / int(picture["y-ppi"]))
    assert printed_mm * 25.4 == pytest.approx(LOGO_SIZE * MM_PER_POINT, abs=0.3)
    assert [m["type"] for m in mask] == (["smask"] if make is scanned_emblem else [])  # transparency kept
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdf)
    assert "DESA CIJENGKOL" in layout_text(path)
    assert decoded_qr_codes(path, tmp_path) == [VERIFICATION_URL]


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every image PIL is asked to open from now on, counted by wrapping PIL's own Image.open."""
    opened: list[object] = []
    real_open = emblem_module.Image.open

    def counting_open(*args: Any, **kwargs: Any) -> Image.Image:
        opened.append(args[0])
        return real_open(*args, **kwargs)

    monkeypatch.setattr(emblem_module.Image, "open", counting_open)  # PIL's: ReportLab's decoder reaches it too
    return opened


def test_an_emblem_is_decoded_once_for_all_the_letters_of_its_village(sktm, decodes):
    image = photo_emblem(2)  # not seen by this process before
    draft = render_letter_pdf(with_emblem(sktm, image))
    final = render_letter_pdf(with_emblem(replace(sktm, number=NUMBER, verification_url=VERIFICATION_URL),
                                          bytes(bytearray(image))))  # equal content, another object
    assert len(decodes) == 1
    assert _image_stream(draft) == _image_stream(final)
    render_letter_pdf(with_emblem(sktm, photo_emblem(3)))  # another village's emblem is its own
    assert len(decodes) == 2


def test_a_palette_emblem_smaller_than_its_print_size_is_kept_as_it_is(final_sktm, tmp_path):
    logo = Path(__file__).parents[4] / "templates" / "villages" / "cijengkol-logo.png"
    with Image.open(logo) as source:
        size = source.size
    [picture] = images(render_letter_pdf(with_emblem(final_sktm, logo.read_bytes())), tmp_path)
    assert (int(picture["width"]), int(picture["height"])) == size  # smoothing it down would make it heavier


def _image_stream(pdf: bytes) -> bytes:
    match = re.search(rb"/Subtype /Image.*?stream\r?\n(.*?)endstream", pdf, re.S)
    assert match is not None
    return match.group(1)


def test_the_cache_is_bounded_and_keeps_the_emblems_used_last(decodes, monkeypatch):
    monkeypatch.setattr(emblem_module, "_CACHE_SIZE", 2)
    monkeypatch.setattr(emblem_module, "_prepared", {})
    a, b, c = (_small_png(color) for color in ((200, 0, 0), (0, 200, 0), (0, 0, 200)))
    for image in (a, b, a, c):  # c pushes out b, unused since a was used again
        emblem_module.prepared_emblem(image, LOGO_SIZE)
    assert len(decodes) == 3 and len(emblem_module._prepared) == 2
    emblem_module.prepared_emblem(a, LOGO_SIZE)
    assert len(decodes) == 3
    emblem_module.prepared_emblem(b, LOGO_SIZE)
    assert len(decodes) == 4


def _small_png(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 40), color).save(out, "PNG")
    return out.getvalue()

"""`suratdesa samples DIR`: one signed, numbered PDF per letter type, each showing its title."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

from shared.config import Settings
from shared.letters.documents.samples import write_samples
from shared.letters.intake.catalog import load_catalog
from tests.conftest import run_cli
from tests.pdftools import pdf_text, pdfsig, qr_codes


def test_samples_writes_nine_letters_named_by_code(tmp_path: Path) -> None:
    home, out = tmp_path / "home", tmp_path / "samples"
    run_cli({**os.environ, "SURATDESA_HOME": str(home)}, "samples", str(out))
    types = load_catalog(Settings().templates_dir).types
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{code}.pdf" for code in types)
    for code, letter_type in types.items():
        pdf = (out / f"{code}.pdf").read_bytes()
        text = pdf_text(pdf)
        assert letter_type.title.upper() in text, code
        assert re.search(rf"Nomor: {re.escape(letter_type.classification)}/001/Ds\.Cjk/[IVX]+/\d{{4}}", text), code
    sktm = (out / "sktm.pdf").read_bytes()
    assert "Signature is Valid." in pdfsig(sktm)
    assert "/v/" in qr_codes(sktm)[0]
    assert not home.exists()  # a development key made for the occasion, not left in the home


def test_samples_are_dated_the_villages_today(tmp_path: Path) -> None:
    half_past_midnight_wib = datetime(2026, 12, 31, 17, 30, tzinfo=UTC)  # still 2026 on a UTC server
    [sktm] = [p for p in write_samples(tmp_path, Settings(suratdesa_home=tmp_path / "home"),
                                       now=half_past_midnight_wib) if p.name == "sktm.pdf"]
    text = pdf_text(sktm.read_bytes())
    assert "Nomor: 401/001/Ds.Cjk/I/2027" in text and "Cijengkol, 1 Januari 2027" in text

"""`suratdesa samples DIR`: one signed, numbered PDF per letter type, each showing its title."""

from __future__ import annotations

import os
import re
from pathlib import Path

from shared.config import Settings
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

"""Reading PDFs back the way a person or another program would: text, QR from pixels, signature."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import zxingcpp
from PIL import Image


def _with_file(pdf: bytes, *command: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "letter.pdf"
        path.write_bytes(pdf)
        result = subprocess.run([*command, str(path), *([] if command[0] == "pdfsig" else ["-"])],
                                capture_output=True, text=True, timeout=60)
        return result.stdout + result.stderr


def pdf_text(pdf: bytes) -> str:
    """The text of every page, as pdftotext -layout lays it out."""
    return _with_file(pdf, "pdftotext", "-layout")


def pdf_text_flat(pdf: bytes) -> str:
    """The text with line breaks removed (drafts' diagonal watermark scatters -layout output)."""
    return " ".join(_with_file(pdf, "pdftotext", "-raw").split())


def pdfsig(pdf: bytes) -> str:
    """poppler's independent signature report (chain not checked: our CA is not in its NSS store)."""
    return _with_file(pdf, "pdfsig", "-nocert")


def qr_codes(pdf: bytes, dpi: int = 150) -> list[str]:
    """The QR codes zxing-cpp reads from a dpi rendering of the first page."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "letter.pdf"
        path.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-singlefile", str(path), str(Path(tmp) / "page")],
                       check=True, timeout=60)
        with Image.open(Path(tmp) / "page.png") as image:
            return [code.text for code in zxingcpp.read_barcodes(image)]

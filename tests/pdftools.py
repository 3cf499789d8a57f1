"""Reading PDFs back the way a person or another program would: text, QR from pixels, signature."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import zxingcpp
from asn1crypto import cms
from PIL import Image


def _with_file(pdf: bytes, *command: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "letter.pdf"
        path.write_bytes(pdf)
        result = subprocess.run([*command, str(path), *(["-"] if command[0] == "pdftotext" else [])],
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


def image_count(pdf: bytes) -> int:
    """How many images pdfimages lists (alpha masks not counted): a letter's emblem; its QR code is vectors."""
    listing = _with_file(pdf, "pdfimages", "-list").splitlines()[2:]
    return sum(1 for line in listing if line.split()[2] == "image")


def qr_codes(pdf: bytes, dpi: int = 150) -> list[str]:
    """The QR codes zxing-cpp reads from a dpi rendering of the first page."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "letter.pdf"
        path.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-singlefile", str(path), str(Path(tmp) / "page")],
                       check=True, timeout=60)
        with Image.open(Path(tmp) / "page.png") as image:
            return [code.text for code in zxingcpp.read_barcodes(image)]


def forge_signature_value(pdf: bytes) -> bytes:
    """The signed PDF with one bit of the signer's ECDSA signature value flipped inside the CMS in /Contents.

    The signed bytes and the message digest in the signed attributes stay as they were: the document digest
    still matches, only the signature over it is false.
    """
    contents = re.search(rb"/Contents\s*<([0-9A-Fa-f]+)>", pdf)
    assert contents is not None, "no signature /Contents in the PDF"
    signed_data = cms.ContentInfo.load(bytes.fromhex(contents.group(1).decode()), strict=False)["content"]
    value = signed_data["signer_infos"][0]["signature"].native.hex().encode()
    at = contents.start(1) + contents.group(1).lower().index(value) + len(value) - 2  # the value's last byte
    return pdf[:at] + b"%02X" % (int(pdf[at:at + 2], 16) ^ 0x01) + pdf[at + 2:]

"""An uploaded document checked and cleaned: JPEG, PNG or PDF by its content, images re-encoded without metadata.

The type comes from the bytes (magic numbers, then Pillow or pyHanko reading them), never from the file name or
the declared content type. Images are decoded and encoded again from their pixels alone, so EXIF (GPS, camera,
time), XMP, ICC profiles, comments and PNG text chunks never reach storage. A PDF is kept as sent once it parses.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from dataclasses import dataclass
from io import BytesIO

from PIL import Image, ImageOps
from pyhanko.pdf_utils.reader import PdfFileReader

from shared.errors import FieldError, ValidationFailed

log = logging.getLogger(__name__)

MAX_ATTACHMENT_BYTES = 2 * 1024 * 1024
# What an upload's request body may weigh: the file, and its multipart boundaries, part headers and small fields
# (`kind`, a page's CSRF token) around it. The API's and the pages' upload routes raise their limit to this.
UPLOAD_BODY_BYTES = MAX_ATTACHMENT_BYTES + 64 * 1024
MAX_PIXELS = 40_000_000  # a 300 dpi scan of an F4 page is about 10 megapixels; more is a decompression bomb
JPEG, PNG, PDF = "image/jpeg", "image/png", "application/pdf"
MAGIC = ((b"\xff\xd8\xff", JPEG), (b"\x89PNG\r\n\x1a\n", PNG), (b"%PDF-", PDF))
PILLOW_FORMATS = {JPEG: "JPEG", PNG: "PNG"}
EXTENSIONS = {JPEG: "jpg", PNG: "png", PDF: "pdf"}


@dataclass(frozen=True)
class CleanFile:
    """What is stored: the bytes (images re-encoded), their type and digest."""

    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def refused(message: str, detail: str) -> ValidationFailed:
    """A 422 naming `file`."""
    return ValidationFailed([FieldError("file", message)], detail)


def sniffed_type(data: bytes) -> str:
    """The content type the first bytes show; ValidationFailed unless JPEG, PNG or PDF."""
    for magic, content_type in MAGIC:
        if data.startswith(magic):
            return content_type
    raise refused("berkas harus berupa JPEG, PNG atau PDF",
                  "Jenis berkas tidak diterima. Unggah foto atau pindaian (JPEG/PNG) atau PDF.")


def cleaned(data: bytes) -> CleanFile:
    """data checked and, for an image, re-encoded without metadata; ValidationFailed (`file`) otherwise."""
    if not data:
        raise refused("wajib diisi", "Tidak ada berkas yang diunggah.")
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise FileTooLarge()
    content_type = sniffed_type(data)
    if content_type == PDF:
        checked_pdf(data)
        return CleanFile(PDF, data)
    return CleanFile(content_type, reencoded(data, PILLOW_FORMATS[content_type]))


class FileTooLarge(ValidationFailed):
    """The file is over MAX_ATTACHMENT_BYTES: 413, naming `file`."""

    status = 413
    title = "Berkas terlalu besar"
    slug = "file-too-large"

    def __init__(self) -> None:
        super().__init__([FieldError("file", "paling besar 2 MB")],
                         "Berkas lebih dari 2 MB. Pindai dengan resolusi lebih rendah atau kecilkan fotonya.")


def _broken(kind: str, error: Exception) -> ValidationFailed:
    # The sender's mistake, not ours: one line without a traceback, nothing of the file's content.
    log.warning("uploaded %s is not readable (%s)", kind, type(error).__name__)
    return refused("berkas rusak, terpotong atau tidak dapat dibaca",
                   "Berkas tidak dapat dibaca. Pindai atau foto ulang dokumennya, lalu unggah lagi.")


def _open_image(data: bytes, expected: str) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = Image.open(BytesIO(data), formats=[expected])
        if image.width * image.height > MAX_PIXELS:
            raise Image.DecompressionBombError(f"{image.width}x{image.height}")
        image.load()
    return image


def reencoded(data: bytes, expected: str) -> bytes:
    """The image's pixels, upright, in a new file of the same format with no metadata at all."""
    try:
        image = _open_image(data, expected)
        ImageOps.exif_transpose(image, in_place=True)  # keep what the camera meant, then drop its EXIF
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
        raise _broken(expected, error) from None
    if expected == "JPEG":
        pixels = image if image.mode in ("L", "RGB", "CMYK") else image.convert("RGB")
    else:
        transparent = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        keep = ("L", "RGB", "RGBA", "LA")
        pixels = image if image.mode in keep else image.convert("RGBA" if transparent else "RGB")
    pixels.info.clear()  # Pillow writes some info (comments, ICC, XMP, text) back out unless it is gone
    out = BytesIO()
    if expected == "JPEG":
        pixels.save(out, "JPEG", quality=90, optimize=True)
    else:
        pixels.save(out, "PNG", optimize=True)
    return out.getvalue()


def checked_pdf(data: bytes) -> None:
    """ValidationFailed (`file`) unless pyHanko reads the PDF and every page of its page tree."""
    try:
        reader = PdfFileReader(BytesIO(data))
        pages = reader.root["/Pages"]
        count = int(pages["/Count"])
        if count < 1:
            raise ValueError("no pages")
        for number in range(count):
            reader.find_page_for_modification(number)
    except Exception as error:  # pyHanko raises many types on malformed input (and PdfDecodeLimitError on bombs)
        raise _broken("PDF", error) from None

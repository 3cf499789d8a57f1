"""The draft's first page as an image, for a phone that cannot show a PDF inline: rendered with PDFium once
per draft and kept beside the stored PDFs."""

from __future__ import annotations

import io
import os
import tempfile
import uuid
from pathlib import Path

import pypdfium2 as pdfium

from shared.config import Settings
from shared.storage import LetterFiles

PREVIEW_WIDTH = 900  # pixels: legible on a phone zoomed in, about 100 kB as grey PNG


def render_preview(pdf: bytes, *, width: int = PREVIEW_WIDTH) -> bytes:
    """The first page of pdf as a greyscale PNG width pixels wide."""
    document = pdfium.PdfDocument(pdf)
    try:
        page = document[0]
        image = page.render(scale=width / page.get_width(), grayscale=True).to_pil()
        out = io.BytesIO()
        image.convert("L").save(out, format="PNG", optimize=True)
        return out.getvalue()
    finally:
        document.close()


def _preview_path(settings: Settings, letter_id: uuid.UUID) -> Path:
    return settings.home / "previews" / f"{letter_id}.png"


def draft_preview(settings: Settings, letter_id: uuid.UUID) -> bytes | None:
    """The stored draft's preview, rendered on first use and cached (a draft is stored once, never replaced)."""
    path = _preview_path(settings, letter_id)
    if path.exists():
        return path.read_bytes()
    draft = LetterFiles(settings).read(letter_id, "draft")
    if draft is None:
        return None
    image = render_preview(draft)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(handle, "wb") as out:
        out.write(image)
    os.replace(temporary, path)  # two requests rendering at once both write the same image
    return image

"""Documents as a hamlet post's phone or scanner makes them: a KTP photo with GPS in its EXIF, a PNG with text
chunks, a one-page PDF, and files that only pretend to be one of these."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from PIL import Image, PngImagePlugin
from reportlab.pdfgen import canvas

GPS_IFD = 0x8825
GPS = {1: "S", 2: (6.0, 48.0, 30.0), 3: "E", 4: (106.0, 47.0, 12.0)}  # Caringin, Sukabumi
SECRET_TEXT = "Lokasi rumah pemohon"


def ktp_photo(size: tuple[int, int] = (640, 400)) -> bytes:
    """A JPEG like a phone's: EXIF with camera, time and a GPS position, an ICC profile and a comment."""
    image = Image.new("RGB", size, (30, 90, 160))
    exif = Image.Exif()
    exif[0x010F] = "Contoh Ponsel"  # Make
    exif[0x0132] = "2026:11:30 09:15:00"  # DateTime
    exif[GPS_IFD] = GPS
    out = BytesIO()
    image.save(out, "JPEG", exif=exif, icc_profile=b"\0" * 128, comment=SECRET_TEXT.encode())
    return out.getvalue()


def kk_scan_png() -> bytes:
    """A PNG with tEXt/iTXt chunks (a scanner's software and a comment) and XMP."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", SECRET_TEXT)
    info.add_itxt("XML:com.adobe.xmp", f"<x:xmpmeta>{SECRET_TEXT}</x:xmpmeta>")
    out = BytesIO()
    Image.new("L", (300, 200), 200).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def one_page_pdf() -> bytes:
    """A small PDF, as a scanner app writes a pengantar from the RT."""
    out = BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, "Surat Pengantar RT 002 / RW 005")
    page.save()
    return out.getvalue()


def broken_pdf() -> bytes:
    """A PDF header with nothing readable behind it (a download cut off early)."""
    return one_page_pdf()[:200]


def image_metadata(data: bytes) -> dict[str, dict[Any, Any]]:
    """What Pillow finds in an image besides its pixels: EXIF tags, GPS, info keys (ICC, comments, text)."""
    image = Image.open(BytesIO(data))
    exif = image.getexif()
    return {"exif": dict(exif), "gps": dict(exif.get_ifd(GPS_IFD)), "info": dict(image.info),
            "text": dict(getattr(image, "text", {}) or {})}

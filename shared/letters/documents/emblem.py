"""The village emblem, prepared once per image: decoded, scaled to its printed size and compressed for PDF."""

from __future__ import annotations

import hashlib
import io
import threading
import zlib
from dataclasses import dataclass

from PIL import Image
from reportlab.pdfbase.pdfdoc import PDFImageXObject
from reportlab.platypus import Flowable

EMBLEM_DPI = 300  # print resolution; a larger image only makes every letter heavier
JPEG_QUALITY = 90
_CACHE_SIZE = 64  # villages whose emblem a worker process keeps ready
_prepared: dict[bytes, PreparedEmblem] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class PreparedEmblem:
    """An emblem as a PDF image stream: pixel size, colour space, filter, the encoded samples and soft mask."""

    digest: str  # of the original image: the XObject's name, the same in every letter
    width: int
    height: int
    color_space: str  # DeviceRGB or DeviceGray
    pdf_filter: str  # DCTDecode (JPEG) or FlateDecode (lossless)
    data: bytes
    alpha: bytes | None = None  # Flate-compressed 8-bit soft mask, for images with transparency


def prepared_emblem(image: bytes, box: float) -> PreparedEmblem:
    """The emblem fitted into a square `box` points wide, prepared on first use and then kept by content."""
    key = hashlib.sha256(image).digest() + str(box).encode()
    with _lock:
        found = _prepared.pop(key, None)
        if found is not None:
            _prepared[key] = found  # to the end: the first entries are the emblems unused the longest
            return found
    emblem = prepare_emblem(image, box)  # outside the lock: another village's letters need not wait
    with _lock:
        if len(_prepared) >= _CACHE_SIZE:
            del _prepared[next(iter(_prepared))]
        _prepared[key] = emblem
    return emblem


def prepare_emblem(image: bytes, box: float) -> PreparedEmblem:
    """Decode a PNG or JPEG, scale it down to `box` points at EMBLEM_DPI and encode it as PDF wants it."""
    pixels = round(box / 72 * EMBLEM_DPI)
    with Image.open(io.BytesIO(image)) as source:
        is_jpeg = source.format == "JPEG"
        if is_jpeg:  # a JPEG decodes at a fraction of its size at once, far cheaper than decoding it whole
            source.draft(source.mode, (pixels, pixels))
        picture = _flattened(source)
    digest = hashlib.sha256(image).hexdigest()[:32]
    scaled = picture.copy()
    scaled.thumbnail((pixels, pixels), Image.Resampling.LANCZOS)  # keeps the aspect ratio, never enlarges
    lossy = _encoded(scaled, digest, jpeg=True)
    if is_jpeg:
        return lossy
    lossless = [_encoded(scaled, digest)]
    if max(picture.size) <= 2 * pixels:  # smoothing adds colours: a small palette logo may be lighter as it is
        lossless.append(_encoded(picture, digest))
    best = min(lossless, key=_weight)
    # drawn art stays lossless; a photo or scan saved as PNG would weigh several times its JPEG
    return lossy if 2 * _weight(lossy) < _weight(best) else best


def _weight(emblem: PreparedEmblem) -> int:
    return len(emblem.data) + len(emblem.alpha or b"")


def _encoded(picture: Image.Image, digest: str, *, jpeg: bool = False) -> PreparedEmblem:
    alpha = picture.getchannel("A") if picture.mode.endswith("A") else None
    mask = zlib.compress(alpha.tobytes(), 9) if alpha is not None else None
    picture = picture.convert("L" if picture.mode.startswith("L") else "RGB")
    space = "DeviceGray" if picture.mode == "L" else "DeviceRGB"
    if jpeg:
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=JPEG_QUALITY)
        return PreparedEmblem(digest, picture.width, picture.height, space, "DCTDecode", out.getvalue(), mask)
    return PreparedEmblem(digest, picture.width, picture.height, space, "FlateDecode",
                          zlib.compress(picture.tobytes(), 9), mask)


def _flattened(source: Image.Image) -> Image.Image:
    # palette, bilevel, CMYK and 16-bit images become L or RGB; any transparency becomes an alpha channel
    if "transparency" in source.info:
        return source.convert("RGBA")
    if source.mode in ("L", "RGB", "LA", "RGBA"):
        return source.copy()
    return source.convert("RGBA" if source.mode in ("PA", "La", "RGBa") else "RGB")


class EmblemImage(Flowable):
    """A prepared emblem drawn within a square box, proportionally, without decoding it again."""

    def __init__(self, emblem: PreparedEmblem, box: float) -> None:
        super().__init__()
        self.emblem = emblem
        scale = min(box / emblem.width, box / emblem.height)
        self.drawWidth, self.drawHeight = emblem.width * scale, emblem.height * scale

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return self.drawWidth, self.drawHeight

    def draw(self) -> None:
        canvas, name = self.canv, f"emblem-{self.emblem.digest}"
        document = canvas._doc  # ReportLab's own drawImage registers images this way
        registered = document.getXObjectName(name)
        if registered not in document.idToObject:
            image = _image_object(name, self.emblem)
            if self.emblem.alpha is not None:
                mask = _mask_object(f"{name}-mask", self.emblem)
                image.smask = document.Reference(mask, document.getXObjectName(mask.name))
            document.Reference(image, registered)
            document.addForm(name, image)
        canvas._currentPageHasImages = 1
        canvas.saveState()
        canvas.scale(self.drawWidth, self.drawHeight)
        canvas._code.append(f"/{registered} Do")
        canvas.restoreState()
        canvas._formsinuse.append(name)


def _image_object(name: str, emblem: PreparedEmblem) -> PDFImageXObject:
    image = PDFImageXObject(name)
    image.width, image.height, image.bitsPerComponent = emblem.width, emblem.height, 8
    image.colorSpace, image._filters, image.streamContent = emblem.color_space, (emblem.pdf_filter,), emblem.data
    image.mask = None
    return image


def _mask_object(name: str, emblem: PreparedEmblem) -> PDFImageXObject:
    mask = PDFImageXObject(name)
    mask.width, mask.height, mask.bitsPerComponent = emblem.width, emblem.height, 8
    mask.colorSpace, mask._filters, mask.streamContent = "DeviceGray", ("FlateDecode",), emblem.alpha or b""
    mask.mask, mask._decode = None, [0, 1]
    return mask

"""The letters' typeface: Source Serif, registered once per process, each embedded subset made once."""

from __future__ import annotations

import zlib
from functools import lru_cache
from importlib import resources
from typing import Any

from reportlab.pdfbase import pdfdoc, pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import TTFont, TTFontFace

__all__ = ["FONT", "FONT_BOLD"]

# distinct subsets kept per face: one per set of non-ASCII characters seen lately (~21 kB each)
SUBSETS_KEPT = 16


@lru_cache(maxsize=4 * SUBSETS_KEPT)  # both faces' subsets and their ToUnicode maps
def compressed(data: bytes | str) -> bytes:
    """zlib's compression of data, remembered: a font subset and its ToUnicode map repeat from letter to letter.

    A subset's key is its bytes as the face's cache returns them, the same object each time, so a repeat costs a
    hash already computed and an identity test; a map (3 kB of text, made anew per letter) costs a hash and a
    comparison, some microseconds against a compression's 0.15 ms."""
    return zlib.compress(data.encode("utf8") if isinstance(data, str) else data)


class _FlateOnce:
    """ReportLab's Flate filter, through `compressed`."""

    pdfname = "FlateDecode"

    @staticmethod
    def encode(data: bytes) -> bytes:
        return compressed(data)


FLATE_ONCE = _FlateOnce()


def compress_once(doc: Any, name: str) -> None:
    """The stream ReportLab added to doc under name, when it compresses, compressed through `compressed`."""
    stream = doc.idToObject.get(name)
    if stream is not None and doc.compression:
        stream.filters = [FLATE_ONCE]


_make_to_unicode_map = ttfonts.makeToUnicodeCMap


@lru_cache(maxsize=2 * SUBSETS_KEPT)  # both faces' subsets' maps
def _to_unicode_map(name: str, codes: tuple[int, ...]) -> str:
    return _make_to_unicode_map(name, list(codes))


def to_unicode_map(name: str, subset: list[int]) -> str:
    """ReportLab's ToUnicode map of a subset, made once per process: 3 kB of text written a line per character."""
    return _to_unicode_map(name, tuple(subset))


ttfonts.makeToUnicodeCMap = to_unicode_map  # TTFont.addObjects calls it by its global name


class SubsetOnceFace(TTFontFace):
    """A TrueType face that makes, and compresses, each distinct subset once per process.

    Every PDF embeds the subset of the font its text uses, and ReportLab makes it anew for each document: about
    0.4 ms to build and 0.45 ms to compress, per face, per letter. ReportLab's first subset always holds all of
    ASCII at its own codes (asciiReadable) and only a letter's few other characters are added, in the order
    they first appear; so most letters ask for the very subset the one before asked for."""

    def __init__(self, filename: str) -> None:
        super().__init__(filename)
        self._subset = lru_cache(maxsize=SUBSETS_KEPT)(self._make_subset)
        widths = _Widths(self.charWidths, default=self.defaultWidth)
        self.getCharWidth = widths.__getitem__  # ReportLab's, called once per character of every subset, in C

    def _make_subset(self, codes: tuple[int, ...]) -> bytes:
        return super().makeSubset(list(codes))

    def makeSubset(self, subset: list[int]) -> bytes:  # noqa: N802 (ReportLab's name)
        return self._subset(tuple(subset))

    def addSubsetObjects(self, doc: Any, fontname: str, subset: list[int]) -> Any:  # noqa: N802
        descriptor = super().addSubsetObjects(doc, fontname, subset)
        compress_once(doc, f"fontFile:{self.filename}({fontname})")  # the name ReportLab gives it
        return descriptor


class _Widths(dict[int, int]):
    """A face's widths by character code, the face's default for a code it has no glyph for."""

    def __init__(self, widths: dict[int, int], *, default: int) -> None:
        super().__init__(widths)
        self.default = default

    def __missing__(self, code: int) -> int:
        return self.default


class FormattedArray(pdfdoc.PDFArray):
    """A PDF array of numbers written as formatted once: a subset's widths repeat from letter to letter."""

    def __init__(self, numbers: tuple[int, ...]) -> None:
        super().__init__(numbers)
        self.formatted = formatted_numbers(numbers)

    def format(self, document: Any, IND: bytes = b"\n ") -> bytes:  # noqa: N803 (ReportLab's name)
        return self.formatted


@lru_cache(maxsize=2 * SUBSETS_KEPT)  # both faces' subsets' widths
def formatted_numbers(numbers: tuple[int, ...]) -> bytes:
    return pdfdoc.PDFArray(numbers).format(None)  # numbers are formatted without the document


class SubsetOnceFont(TTFont):
    """A TrueType font whose face is a SubsetOnceFace, and whose subsets' widths and ToUnicode maps are written
    once per process too: about 0.5 ms to format 256 widths and 0.15 ms to compress the map, per subset, per letter
    (the map itself is made once, see to_unicode_map; the widths are looked up in C, see SubsetOnceFace)."""

    def __init__(self, name: str, filename: str) -> None:
        super().__init__(name, filename)
        self.face = SubsetOnceFace(filename)
        # ReportLab's asciiReadable first subset codes printable ASCII as itself, where the face has the glyph
        self._ascii_as_itself = self._asciiReadable and all(code in self.face.charToGlyph for code in range(32, 127))

    def splitString(self, text: str | bytes, doc: Any, encoding: str = "utf-8") -> list[tuple[int, bytes]]:  # noqa: N802
        """ReportLab's split of text into (subset, codes) runs, without its walk character by character for text of
        printable ASCII only, most of a letter: all of it is in the first subset at its own codes, which the
        document's font state holds from the start (a fourteenth of a draft's instructions). The state must
        be made here first: one ReportLab makes elsewhere does not ask the face which codes it has."""
        if (self._ascii_as_itself and isinstance(text, str) and text.isascii() and text.isprintable()
                and doc in self.state):
            return [(0, text.encode("ascii"))] if text else []
        return super().splitString(text, doc, encoding)

    def addObjects(self, doc: Any) -> None:  # noqa: N802 (ReportLab's name)
        fonts = doc.idToObject["BasicFonts"].dict
        before = set(fonts)
        super().addObjects(doc)
        for name in fonts.keys() - before:  # this font's subsets, just added
            font = fonts[name]
            font.Widths = FormattedArray(tuple(font.Widths.sequence))
            compress_once(doc, f"toUnicodeCMap:{font.BaseFont}")  # the name ReportLab gives it


def _register_fonts() -> tuple[str, str]:
    """Register the serif TrueType pair once per process, so every letter embeds the same font."""
    try:
        files = resources.files("font_source_serif_pro") / "files"
    except ModuleNotFoundError:  # the standard faces print Latin-1 only, but a letter still renders
        return "Times-Roman", "Times-Bold"
    pdfmetrics.registerFont(SubsetOnceFont("SuratSerif", str(files / "SourceSerifPro-Regular.ttf")))
    pdfmetrics.registerFont(SubsetOnceFont("SuratSerif-Bold", str(files / "SourceSerifPro-Bold.ttf")))
    # Paragraph's <b> looks the bold face up through the family
    pdfmetrics.registerFontFamily("SuratSerif", normal="SuratSerif", bold="SuratSerif-Bold")
    return "SuratSerif", "SuratSerif-Bold"


FONT, FONT_BOLD = _register_fonts()

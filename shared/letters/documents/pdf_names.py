"""PDF names and short strings written and read once per process, not once per character.

ReportLab escapes each name character by character (`PDFName`) and encodes each short string it writes (names,
numbers, keywords) through a codec written in Python (`pdfdocEnc`); pyHanko writes a name one byte per stream
write and reads one back a byte at a time. A letter writes the same hundred-odd names and numbers every time
(/Type, /Font, /Resources, its coordinates), and finishing and signing read and write them again: together 12% of
a draft's instructions and 15% of the final's and signature's (callgrind, the `sktm` example).

Each of the four is a pure function of a short string and gives an immutable one (str or bytes), so its answer is
remembered here and the library's own function is called only for what is new. Inputs longer than a name may be
(127 bytes, ISO 32000's implementation limit; counted in characters for a str) go to the library's function
unremembered: a PDF uploaded to be checked cannot fill the memory with names. Errors are not remembered either: a
bad name fails as the library fails. `install()` puts the four in place for the whole process; rendering, finishing
and signing call it when they are imported.
"""

from __future__ import annotations

from functools import lru_cache
from io import BytesIO
from typing import Any

from pyhanko.pdf_utils import generic
from reportlab.pdfbase import pdfdoc

LONGEST = 127  # bytes of a name, as ISO 32000's implementation limits put it
REMEMBERED = 2048  # answers kept per function: a letter uses a few hundred, its numbers among them

# the libraries' own functions, which the remembered ones call for what they have not seen
ORIGINAL_PDF_NAME = pdfdoc.PDFName
ORIGINAL_PDFDOC_ENC = pdfdoc.pdfdocEnc
ORIGINAL_WRITE_NAME = generic.NameObject.write_to_stream
ORIGINAL_DECODE_NAME = generic._decode_name


def pdf_name(data: str, lo: str = chr(0x21), hi: str = chr(0x7E)) -> str:
    """ReportLab's PDFName: "/" and data, escaped."""
    if len(data) > LONGEST or (lo, hi) != (chr(0x21), chr(0x7E)):
        return ORIGINAL_PDF_NAME(data, lo, hi)
    return _pdf_name(data)


@lru_cache(maxsize=REMEMBERED)
def _pdf_name(data: str) -> str:
    return ORIGINAL_PDF_NAME(data)


def pdfdoc_enc(x: Any) -> Any:
    """ReportLab's pdfdocEnc: a str in its PDFDocEncoding, anything else unchanged."""
    if type(x) is str and len(x) <= LONGEST:
        return _pdfdoc_enc(x)
    return ORIGINAL_PDFDOC_ENC(x)


@lru_cache(maxsize=REMEMBERED)
def _pdfdoc_enc(text: str) -> bytes:
    return ORIGINAL_PDFDOC_ENC(text)


def write_name(self: generic.NameObject, stream: Any, handler: Any = None, container_ref: Any = None) -> None:
    """pyHanko's NameObject.write_to_stream, in one write."""
    if len(self) > LONGEST:
        ORIGINAL_WRITE_NAME(self, stream, handler, container_ref)
        return
    stream.write(_written_name(str(self)))  # a plain str: the cache must not keep the object (and what it came from)


@lru_cache(maxsize=REMEMBERED)
def _written_name(name: str) -> bytes:
    out = BytesIO()
    ORIGINAL_WRITE_NAME(generic.NameObject(name), out)
    return out.getvalue()


def decode_name(name_bytes: bytes) -> generic.NameObject:
    """pyHanko's _decode_name: a name read from a file (after its "/"), escapes expanded; a new object each time,
    as the reader sets it its container."""
    if len(name_bytes) > LONGEST:
        return ORIGINAL_DECODE_NAME(name_bytes)
    return generic.NameObject(_decoded_name(name_bytes))


@lru_cache(maxsize=REMEMBERED)
def _decoded_name(name_bytes: bytes) -> str:
    return str(ORIGINAL_DECODE_NAME(name_bytes))


def install() -> None:
    """Put the remembering functions in the libraries' place (ReportLab's module calls its own by their global
    names; pyHanko's reader calls _decode_name by its global name)."""
    pdfdoc.PDFName = pdf_name
    pdfdoc.pdfdocEnc = pdfdoc_enc
    generic.NameObject.write_to_stream = write_name  # type: ignore[method-assign]
    generic._decode_name = decode_name


"""An issued letter made from its approved draft: the slots filled in, nothing laid out again.

The draft's PDF stays as it was, byte for byte; an incremental update (the one the signature then closes) points
each page's slots at new forms: an empty watermark, the number after "Nomor:", the QR code over its caption.
That costs a parse of the draft and a few kilobytes of operators, where a layout costs several milliseconds. It
applies only where the draft is the layout of this very letter (its number slot carries the layout key) and the
texts to write are ASCII, which the font's first subset holds at their own codes; otherwise issuing lays the
letter out anew.
"""

from __future__ import annotations

import re
from io import BytesIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from reportlab.lib.rl_accel import fp_str
from reportlab.pdfbase import pdfmetrics

from shared.letters.documents import pdf_names, slots
from shared.letters.documents.document import LetterDocument
from shared.letters.documents.fonts import FONT
from shared.letters.documents.qr import qr_operators

FORM_PREFIX = "/FormXob."  # how ReportLab names a form among a page's resources

pdf_names.install()  # pyHanko reads and writes each name once per process, not byte by byte per letter


def finish_draft(draft: bytes, doc: LetterDocument) -> IncrementalPdfFileWriter | None:
    """The draft with doc's number and QR code in its slots and no watermark, as a writer ready to be signed;
    None when the draft is not this letter's layout, or the texts cannot be written into it."""
    if doc.is_draft or doc.verification_url is None or not _writable(slots.number_text(doc)):
        return None
    try:
        writer = IncrementalPdfFileWriter(BytesIO(draft))
        # each page's resources (inherited ones included), as pyHanko finds them for an incremental update
        pages = [writer.find_page_for_modification(index)[1] for index in range(int(writer.root["/Pages"]["/Count"]))]
        forms = _slot_forms(pages)
        number_name = FORM_PREFIX + slots.number_slot(doc)
        if not {number_name, FORM_PREFIX + slots.WATERMARK_SLOT, FORM_PREFIX + slots.QR_SLOT} <= forms.keys():
            return None  # another letter's layout, or one laid out before slots
        # only the number slot is read (each object read costs a quarter of a millisecond): its box gives the
        # line's width, its resources the fonts, its operators the font's name
        number = forms[number_name].get_object()
        font = _font_resource(number)
        if font is None:
            return None
        resources = number.raw_get("/Resources")
        replacements = {
            FORM_PREFIX + slots.WATERMARK_SLOT: _form((0, 0, 0, 0), resources, b""),
            number_name: _form(tuple(float(edge) for edge in number["/BBox"]), resources,
                               _number_operators(font, number, doc)),
            FORM_PREFIX + slots.QR_SLOT: _form((0, 0, slots.QR_COLUMN, slots.qr_slot_height()), resources,
                                               _qr_operators(font, doc.verification_url)),
        }
    except (PdfError, KeyError, TypeError, ValueError):  # not a PDF this service made: lay the letter out
        return None
    refs = {name: writer.add_object(form) for name, form in replacements.items()}
    for resources in pages:
        xobjects = resources["/XObject"]
        for name, ref in refs.items():
            if pdf_name(name) in xobjects:
                xobjects[pdf_name(name)] = ref
        writer.update_container(xobjects)
    return writer


def _writable(text: str) -> bool:
    # the font's first subset holds all of ASCII at its own codes (ReportLab's asciiReadable), in every letter
    return text.isascii() and text.isprintable()


def _slot_forms(pages: list[generic.DictionaryObject]) -> dict[str, generic.IndirectObject]:
    forms: dict[str, generic.IndirectObject] = {}
    for resources in pages:
        xobjects = resources.get("/XObject") or generic.DictionaryObject()
        for name in xobjects:
            if name.startswith(FORM_PREFIX + "slot."):
                forms[name] = xobjects.raw_get(name)
    return forms


def _font_resource(form: generic.StreamObject) -> str | None:
    """The name of the font the draft's number slot is set in: the letter's regular face, its first subset."""
    # read from the slot's own few operators: resolving the fonts themselves would parse their width tables
    found = re.search(rb"(/[^\s/]+) [\d.]+ Tf", form.data)
    return found.group(1).decode("ascii") if found else None


def _form(box: tuple[float, ...], resources: generic.PdfObject, content: bytes) -> generic.StreamObject:
    """A form XObject with this bounding box and resources, drawing content."""
    form = generic.StreamObject({pdf_name("/Type"): pdf_name("/XObject"), pdf_name("/Subtype"): pdf_name("/Form"),
                                 pdf_name("/FormType"): generic.NumberObject(1),
                                 pdf_name("/BBox"): generic.ArrayObject(generic.FloatObject(edge) for edge in box),
                                 pdf_name("/Resources"): resources}, stream_data=content)
    form.compress()
    return form


def _text_operators(font: str, size: float, centre: float, baseline: float, text: str) -> str:
    """Text centred on `centre`, as ReportLab's drawCentredString sets it."""
    x = centre - 0.5 * pdfmetrics.stringWidth(text, FONT, size)
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return f"BT 1 0 0 1 {fp_str(x, baseline)} Tm {font} {fp_str(size)} Tf ({escaped}) Tj ET"


def _number_operators(font: str, form: generic.StreamObject, doc: LetterDocument) -> bytes:
    left, _bottom, right, _top = (float(edge) for edge in form["/BBox"])  # the text's width
    return _text_operators(font, slots.NUMBER_SIZE, (left + right) / 2, slots.number_baseline(),
                           slots.number_text(doc)).encode("ascii")


def _qr_operators(font: str, url: str) -> bytes:
    lines = [f"q 1 0 0 1 {fp_str(*slots.qr_origin())} cm", qr_operators(url, slots.QR_SIZE), "Q"]
    lines += [_text_operators(font, slots.CAPTION_SIZE, slots.QR_COLUMN / 2, baseline, line)
              for line, baseline in zip(slots.caption_lines(), slots.caption_baselines(), strict=True)]
    return "\n".join(lines).encode("ascii")

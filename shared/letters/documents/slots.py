"""The slots of a letter PDF: the parts a draft and its issued letter do not share, drawn as named forms.

A letter is laid out once, as its draft. What issuing adds or takes away (the KONSEP watermark, the number after
"Nomor:", the QR code with its caption) is each drawn as a PDF form XObject, a slot, wherever the layout put it;
issuing then fills the slots of the approved draft (shared.letters.documents.finishing) instead of laying the
letter out again, so the letter issued is the very layout the official approved. The slots' names, texts and
geometry are here, for both ways of making an issued letter: ReportLab's (shared.letters.documents.rendering)
and the slots filled in (shared.letters.documents.finishing), which must draw the same pixels.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit

from shared.letters.documents.document import LetterDocument
from shared.letters.documents.fonts import FONT

WATERMARK_SLOT, NUMBER_SLOT, QR_SLOT = "slot.watermark", "slot.number", "slot.qr"
# bump when what a slot holds, or where, changes: a draft laid out before is then laid out anew at issue
LAYOUT_VERSION = "1"

NUMBER_SIZE, NUMBER_LEADING = 11.5, 11.5 * 1.3
QR_SIZE, QR_COLUMN = 30 * mm, 42 * mm
QR_CAPTION = "Pindai untuk memeriksa keaslian surat"
CAPTION_SIZE, CAPTION_LEADING = 8, 8 * 1.3


def layout_key(doc: LetterDocument) -> str:
    """What fixes the draft's layout: everything in the document but the number and the QR code's URL."""
    head = doc.letterhead
    logo = hashlib.sha256(head.logo).hexdigest() if head.logo else None
    fixed = replace(doc, number=None, verification_url=None, letterhead=replace(head, logo=None))
    return hashlib.sha256(f"{LAYOUT_VERSION}|{logo}|{fixed!r}".encode()).hexdigest()[:20]


def number_slot(doc: LetterDocument) -> str:
    """The number slot's form name, which carries the layout key of the draft it belongs to."""
    return f"{NUMBER_SLOT}.{layout_key(doc)}"


def number_text(doc: LetterDocument) -> str:
    """The number line: dots on a draft."""
    return f"Nomor: {doc.number if doc.number is not None else '......'}"


def number_baseline() -> float:
    """The number line's baseline in its slot: one font size below the top, where a Paragraph puts it."""
    return NUMBER_LEADING - NUMBER_SIZE


def caption_lines() -> list[str]:
    """The QR code's caption, broken to the QR column's width."""
    return simpleSplit(QR_CAPTION, FONT, CAPTION_SIZE, QR_COLUMN)


def qr_slot_height() -> float:
    """The QR slot holds the code over its caption."""
    return QR_SIZE + len(caption_lines()) * CAPTION_LEADING


def qr_origin() -> tuple[float, float]:
    """Where the QR code's bottom left corner sits in its slot: centred, over the caption."""
    return (QR_COLUMN - QR_SIZE) / 2, qr_slot_height() - QR_SIZE


def caption_baselines() -> list[float]:
    """The caption's lines' baselines, top line first, in the QR slot's space."""
    lines = len(caption_lines())
    return [(lines - 1 - i) * CAPTION_LEADING + CAPTION_LEADING - CAPTION_SIZE for i in range(lines)]

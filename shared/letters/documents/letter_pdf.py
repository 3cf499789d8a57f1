"""A letter of a village as a PDF: its signer, its document and the render, the same for drafts and issues."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from shared.letters.documents.compose import build_document, signer_for
from shared.letters.documents.finishing import finish_draft
from shared.letters.documents.rendering import render_letter_pdf
from shared.letters.intake.catalog import LetterType
from shared.models import Village

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderedLetter:
    """The unsigned PDF and who signs it, as the letter row keeps the signer."""

    pdf: bytes
    signer: dict[str, Any]


@dataclass(frozen=True)
class FinalLetter:
    """The issued letter before its signature, and who signs it."""

    pdf: IncrementalPdfFileWriter | bytes  # the approved draft with its slots filled, or the letter laid out anew
    signer: dict[str, Any]


def render_letter(*, letter_type: LetterType, village: Village, emblem: bytes | None, applicant: dict[str, Any],
                  fields: dict[str, Any], letter_date: date, number: str | None = None,
                  verification_url: str | None = None) -> RenderedLetter:
    """The letter dated letter_date, signed by whom the village's profile names for its type; no number: a draft.
    emblem: the village's, as village_emblem reads it."""
    signer = signer_for(village, letter_type.code)
    document = build_document(letter_type=letter_type, village=village, emblem=emblem, applicant=applicant,
                              fields=fields, signer=signer, letter_date=letter_date, number=number,
                              verification_url=verification_url)
    return RenderedLetter(pdf=render_letter_pdf(document), signer=signer)


def final_letter(*, letter_type: LetterType, village: Village, emblem: bytes | None, applicant: dict[str, Any],
                 fields: dict[str, Any], letter_date: date, number: str, verification_url: str,
                 draft: bytes | None) -> FinalLetter:
    """The numbered letter: the draft with its number and QR code filled in where the draft is still this letter's
    layout (the common case), else laid out anew (the date, the village's profile or the signer changed since)."""
    signer = signer_for(village, letter_type.code)
    document = build_document(letter_type=letter_type, village=village, emblem=emblem, applicant=applicant,
                              fields=fields, signer=signer, letter_date=letter_date, number=number,
                              verification_url=verification_url)
    finished = finish_draft(draft, document) if draft is not None else None
    if finished is not None:
        return FinalLetter(pdf=finished, signer=signer)
    log.info("letter %s laid out anew: its draft is not the layout of the letter as issued", number)
    return FinalLetter(pdf=render_letter_pdf(document), signer=signer)

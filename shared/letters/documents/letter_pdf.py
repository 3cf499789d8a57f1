"""A letter of a village as a PDF: its signer, its document and the render, the same for drafts and issues."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.letters.documents.compose import build_document, signer_for
from shared.letters.documents.rendering import render_letter_pdf
from shared.letters.intake.catalog import LetterType
from shared.models import Village


@dataclass(frozen=True)
class RenderedLetter:
    """The unsigned PDF and who signs it, as the letter row keeps the signer."""

    pdf: bytes
    signer: dict[str, Any]


def render_letter(*, letter_type: LetterType, village: Village, applicant: dict[str, Any], fields: dict[str, Any],
                  letter_date: date, number: str | None = None, verification_url: str | None = None) -> RenderedLetter:
    """The letter dated letter_date, signed by whom the village's profile names for its type; no number: a draft."""
    signer = signer_for(village, letter_type.code)
    document = build_document(letter_type=letter_type, village=village, applicant=applicant, fields=fields,
                              signer=signer, letter_date=letter_date, number=number,
                              verification_url=verification_url)
    return RenderedLetter(pdf=render_letter_pdf(document), signer=signer)

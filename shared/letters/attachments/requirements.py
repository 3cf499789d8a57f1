"""Approving with documents missing: the official confirms each was seen in person ("diperiksa langsung")."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from shared.errors import FieldError, ValidationFailed
from shared.letters.intake.catalog import Catalog, LetterType, RequiredDocument
from shared.models import Attachment, Letter

FIELD = "checked_in_person"
# built once, with a bound parameter: building a query and its cache key anew cost more CPU than running it
ATTACHED_KINDS = select(Attachment.kind).where(col(Attachment.letter_id) == bindparam("letter_id"))


def missing_documents(session: Session, letter: Letter, letter_type: LetterType) -> list[RequiredDocument]:
    """The type's required documents of which the letter has no attachment, in the type's order."""
    attached = set(session.execute(ATTACHED_KINDS, {"letter_id": letter.id}).scalars())
    return [r for r in letter_type.requirements if r.kind not in attached]


def _named(documents: list[RequiredDocument]) -> str:
    return "; ".join(f"{document.label} ({document.kind})" for document in documents)


def confirmed_in_person(session: Session, letter: Letter, letter_type: LetterType,
                        checked_in_person: Collection[str]) -> list[str]:
    """The missing kinds, each confirmed by checked_in_person; ValidationFailed naming `checked_in_person` when a
    kind is not one of the type's requirements or a missing one is not confirmed."""
    unknown = sorted({kind for kind in checked_in_person if letter_type.requirement(kind) is None})
    if unknown:
        raise ValidationFailed([FieldError(FIELD, f"bukan syarat surat ini: {', '.join(unknown)}")])
    missing = missing_documents(session, letter, letter_type)
    unconfirmed = [document for document in missing if document.kind not in checked_in_person]
    if unconfirmed:
        raise ValidationFailed(
            [FieldError(FIELD, f"belum dilampirkan dan belum dinyatakan diperiksa langsung: {_named(unconfirmed)}")],
            f"Syarat belum lengkap: {_named(unconfirmed)}. Lampirkan dokumennya, atau nyatakan bahwa dokumen "
            "asli telah diperiksa langsung.")
    return [document.kind for document in missing]


def missing_by_letter(session: Session, letters: Sequence[Letter],
                      catalog: Catalog) -> dict[uuid.UUID, list[RequiredDocument]]:
    """missing_documents for many letters at once (one query): an inbox's worth."""
    attached: dict[uuid.UUID, set[str]] = {letter.id: set() for letter in letters}
    if attached:
        rows = session.exec(select(Attachment.letter_id, Attachment.kind)
                            .where(col(Attachment.letter_id).in_(list(attached))))
        for letter_id, kind in rows:
            attached[letter_id].add(kind)
    types = catalog.types
    return {letter.id: [r for r in (types[letter.type].requirements if letter.type in types else [])
                        if r.kind not in attached[letter.id]] for letter in letters}

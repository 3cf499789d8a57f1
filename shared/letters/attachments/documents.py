"""Attaching required documents to a letter, listing them and reading one back, for whoever may see it."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, field_validator
from sqlmodel import Session, col, func, select, update

from shared.config import Settings
from shared.errors import FieldError, Forbidden, NotFound, ValidationFailed, WrongStatus
from shared.letters.attachments.content import cleaned
from shared.letters.attachments.files import read_attachment, store_attachment
from shared.letters.intake.catalog import LetterType, load_catalog
from shared.letters.workflow.events import record_event
from shared.letters.workflow.lifecycle import visible_letter
from shared.letters.workflow.states import Status, actor_name
from shared.models import Attachment, Client, Letter, as_utc, utcnow

# Documents are added while the office has not decided; after approval they can no longer change its outcome.
OPEN_STATUSES = (Status.SUBMITTED.value, Status.AWAITING_APPROVAL.value)
MAX_ATTACHMENTS = 20  # per letter: a KK front and back, a few pages of a note, and room for a retake


class AttachmentView(BaseModel):
    """An attached document as listed: never the uploaded file name, which is not kept."""

    id: uuid.UUID
    kind: str
    label: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime

    _utc = field_validator("created_at", mode="before")(as_utc)


def attachment_view(attachment: Attachment, letter_type: LetterType | None) -> AttachmentView:
    """An attachment with its kind's Indonesian label from the letter type."""
    requirement = letter_type.requirement(attachment.kind) if letter_type else None
    return AttachmentView.model_validate({**attachment.model_dump(), "label": requirement.label if requirement
                                          else attachment.kind})


def _check_kind(letter_type: LetterType, kind: str | None) -> str:
    if not kind:
        raise ValidationFailed([FieldError("kind", "wajib diisi")])
    if letter_type.requirement(kind) is None:
        kinds = ", ".join(r.kind for r in letter_type.requirements) or "-"
        raise ValidationFailed([FieldError("kind", f"bukan syarat surat ini; pilih salah satu dari: {kinds}")])
    return kind


def _require_open(status: str) -> None:
    if status not in OPEN_STATUSES:
        raise WrongStatus("Dokumen hanya dapat dilampirkan sebelum surat disetujui atau ditolak.")


def _claim_open_letter(session: Session, letter_id: uuid.UUID) -> None:
    """Take the letter's row while it is still open, so an approval cannot slip in before the commit."""
    statement = (update(Letter).where(col(Letter.id) == letter_id, col(Letter.status).in_(OPEN_STATUSES))
                 .values(updated_at=utcnow()))
    if session.exec(statement).rowcount != 1:
        session.rollback()
        _require_open("")
    count = session.exec(select(func.count()).select_from(Attachment).where(Attachment.letter_id == letter_id)).one()
    if count >= MAX_ATTACHMENTS:
        session.rollback()
        raise WrongStatus(f"Surat ini sudah memiliki {MAX_ATTACHMENTS} lampiran; tidak dapat menambah lagi.")


def add_attachment(*, session: Session, settings: Settings, client: Client, letter_id: uuid.UUID,
                   kind: str | None, data: bytes | None) -> tuple[Attachment, LetterType]:
    """The submitting client attaches one required document; checked, cleaned, stored, recorded, committed."""
    letter = visible_letter(session, client, letter_id)
    if letter.client_id != client.id:
        raise Forbidden("Hanya pengaju surat ini yang boleh melampirkan dokumen.")
    letter_type = load_catalog(settings.templates_dir).types[letter.type]
    kind = _check_kind(letter_type, kind)
    _require_open(letter.status)
    session.close()  # on SQLite the read took the write lock: not held while an image is re-encoded
    clean = cleaned(data or b"")
    _claim_open_letter(session, letter_id)
    attachment = Attachment(letter_id=letter_id, kind=kind, content_type=clean.content_type, size=len(clean.data),
                            sha256=clean.sha256, client_id=client.id)
    # Stored before the row commits, so every row has its file; a failed commit leaves an unnamed orphan only.
    store_attachment(settings, letter_id, attachment.id, clean.data)
    session.add(attachment)
    record_event(session, letter_id=letter_id, type="attachment_added", actor=actor_name(client),
                 detail={"kind": kind})
    session.commit()
    return attachment, letter_type


def letter_attachments(*, session: Session, settings: Settings, client: Client,
                       letter_id: uuid.UUID) -> list[AttachmentView]:
    """The letter's attachments, oldest first, for its post and its village's officials."""
    letter = visible_letter(session, client, letter_id)
    letter_type = load_catalog(settings.templates_dir).get(letter.type)
    query = (select(Attachment).where(Attachment.letter_id == letter.id)
             .order_by(col(Attachment.created_at), col(Attachment.id)))
    return [attachment_view(attachment, letter_type) for attachment in session.exec(query)]


def attachment_file(*, session: Session, settings: Settings, client: Client, letter_id: uuid.UUID,
                    attachment_id: uuid.UUID) -> tuple[Attachment, bytes]:
    """One attachment of a letter the client may see, with its stored bytes; NotFound otherwise."""
    letter = visible_letter(session, client, letter_id)
    attachment = session.get(Attachment, attachment_id)
    data = read_attachment(settings, letter.id, attachment_id) if attachment else None
    if attachment is None or attachment.letter_id != letter.id or data is None:
        raise NotFound("lampiran tidak ditemukan")
    return attachment, data

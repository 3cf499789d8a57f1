"""Issuing an approved letter: number, final render with QR, PAdES signature, stored, one transaction."""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from datetime import datetime

from sqlmodel import Session

from shared.config import Settings
from shared.db import get_existing, saved_id
from shared.letters.documents.letter_pdf import render_letter
from shared.letters.intake.catalog import load_catalog
from shared.letters.signing.signatures import DEFAULT_REASON, VillageSigner, load_signer, sign_pdf
from shared.letters.workflow.events import record_event
from shared.letters.workflow.numbering import new_number
from shared.letters.workflow.states import Status, transition
from shared.models import Letter, Village, as_utc, utcnow
from shared.storage import LetterFiles
from shared.villages import village_profile, village_today

log = logging.getLogger(__name__)


def village_signer(settings: Settings, village: Village) -> VillageSigner:
    """The village's production PKCS#12 key when configured, else its development key."""
    key = settings.signing_keys.get(village.code)
    if key is None:
        return load_signer(settings.keys_dir, village_code=village.code)
    return load_signer(settings.keys_dir, village_code=village.code, pkcs12_path=key.pkcs12,
                       pkcs12_password=key.password.get_secret_value().encode())


def verification_url(settings: Settings, token: str) -> str:
    """The URL a letter's QR code encodes."""
    return f"{settings.public_base_url.rstrip('/')}/v/{token}"


def number_pattern(settings: Settings, village: Village) -> str:
    """The pattern of the village's letter numbers: its profile's, else the deployment's NUMBER_PATTERN."""
    return village_profile(village).number_pattern or settings.number_pattern


def issue_letter(*, session: Session, settings: Settings, letter_id: uuid.UUID, now: datetime | None = None) -> bool:
    """Number, render, sign and store an approved letter, then mark it issued. Safe to repeat.

    The status change comes first: it locks the letter row (on PostgreSQL) or the database (SQLite), so a
    duplicate task waits, then finds the letter issued and does nothing; it never takes a second number
    or overwrites the stored PDF. The letter is dated, and numbered in the year of, the village's today
    (at now, the current time unless given).
    """
    letter = session.get(Letter, letter_id)
    if letter is None or letter.status != Status.APPROVED:
        return False
    if not transition(session, letter.id, source=Status.APPROVED, target=Status.ISSUED):
        session.rollback()
        return False
    village = get_existing(session, Village, letter.village_id)
    letter_type = load_catalog(settings.templates_dir).types[letter.type]
    today, token = village_today(village, now=now), secrets.token_urlsafe(32)
    profile = village_profile(village)
    numbered = new_number(session, village_id=saved_id(village), village_code=village.code,
                          pattern=number_pattern(settings, village),
                          shared_sequence=profile.sequence == "shared", classification=letter_type.classification,
                          on=today)
    rendered = render_letter(letter_type=letter_type, village=village, applicant=letter.applicant,
                             fields=letter.fields, letter_date=today, number=numbered.number,
                             verification_url=verification_url(settings, token))
    key, number = village_signer(settings, village), numbered.number
    pdf = sign_pdf(rendered.pdf, key, reason=f"{DEFAULT_REASON}: {letter_type.title} {number}",
                   location=f"Desa {village.name}")
    # kept with the signer, so the public page need not parse the stored PDF on every scan
    signer = {**rendered.signer, "development_certificate": key.is_development}
    digest = hashlib.sha256(pdf).hexdigest()
    LetterFiles(settings).write(letter.id, "issued", pdf)
    letter.number, letter.number_scope, letter.number_seq = number, numbered.scope, numbered.seq
    letter.number_year = today.year
    letter.verification_token, letter.signer, letter.pdf_sha256 = token, signer, digest
    letter.issued_at = as_utc(now) or utcnow()
    session.add(letter)
    record_event(session, letter_id=letter.id, type="issued", actor="worker",
                 detail={"number": number, "sha256": digest})
    session.commit()
    log.info("letter %s issued as number %s", letter.id, number)
    return True

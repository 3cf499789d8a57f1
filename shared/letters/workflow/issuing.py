"""Issuing an approved letter in three steps, none holding a lock through the slow work.

(1) claim: number and verification token taken and committed, the letter still `approved`; (2) render, sign and
store the PDF with no transaction open, only once (1) committed, so no signed file names a number the database
does not have; (3) `approved` -> `issued` with the stored file's digest, compare-and-set. A letter left between
(1) and (3) (a killed or frozen worker) is finished by the next attempt with the same number and token. The
file is stored once (the first complete file wins), so a worker that wakes up late changes nothing.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Update, bindparam, exists, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from shared.config import Settings
from shared.db import saved_id, table
from shared.letters.documents.letter_pdf import final_letter
from shared.letters.intake.catalog import LetterType, load_catalog
from shared.letters.signing.provisioning import local_village_key
from shared.letters.signing.signatures import DEFAULT_REASON, VillageSigner, load_signer, sign_pdf
from shared.letters.workflow.events import record_event
from shared.letters.workflow.leases import end_lease_in
from shared.letters.workflow.lifecycle import letter_and_village
from shared.letters.workflow.numbering import next_number, number_given
from shared.letters.workflow.states import Status, transition
from shared.models import Letter, Village, as_utc, utcnow
from shared.storage import LetterFiles
from shared.villages import village_emblem, village_profile, village_today

log = logging.getLogger(__name__)


def village_signer(settings: Settings, village: Village) -> VillageSigner:
    """The village's production PKCS#12 key when configured, else its development key."""
    key = settings.signing_keys.get(village.code)
    if key is None:
        local_village_key(settings, village)  # this host's copy is the shared one (checked once per process)
        return load_signer(settings.keys_dir, village_code=village.code)
    return load_signer(settings.keys_dir, village_code=village.code, pkcs12_path=key.pkcs12,
                       pkcs12_password=key.password.get_secret_value().encode())


def verification_url(settings: Settings, token: str) -> str:
    """The URL a letter's QR code encodes."""
    return f"{settings.public_base_url.rstrip('/')}/v/{token}"


def number_pattern(settings: Settings, village: Village) -> str:
    """The pattern of the village's letter numbers: its profile's, else the deployment's NUMBER_PATTERN."""
    return village_profile(village).number_pattern or settings.number_pattern


@dataclass(frozen=True)
class Claim:
    """A letter with its number and token taken, as step (1) committed it, with what rendering it needs."""

    letter: Letter
    village: Village
    emblem: bytes | None
    letter_type: LetterType


def issue_letter(*, session: Session, settings: Settings, letter_id: uuid.UUID, now: datetime | None = None,
                 found: tuple[Letter, Village] | None = None) -> bool:
    """Claim, then render, sign and store, then mark issued an approved letter; False if not `approved`. Repeatable.

    The letter is dated, and numbered in the year of, the village's today at its claim (now, unless given).
    found: the letter and its village as the attempt's count read them (run_attempt's with_letter), else read here.
    """
    claim = claim_letter(session, settings, letter_id, now=now, found=found)
    if claim is None:
        return False
    session.close()  # nothing is held while the letter is rendered and signed
    pdf, signer = stored_pdf(settings, claim)
    return mark_issued(session, claim.letter, pdf=pdf, signer=signer, now=now)


def claim_letter(session: Session, settings: Settings, letter_id: uuid.UUID, *, now: datetime | None = None,
                 found: tuple[Letter, Village] | None = None) -> Claim | None:
    """Step (1): the approved letter with its number and token, taken now and committed unless it had them.

    found: the letter and its village as read just before (the attempt's count), else read here."""
    found = found or letter_and_village(session, letter_id)
    if found is None or found[0].status != Status.APPROVED:
        session.rollback()
        return None
    letter, village = found
    letter_type = load_catalog(settings.templates_dir).types[letter.type]
    claim = Claim(letter, village, village_emblem(village, session), letter_type)
    if letter.number is not None:  # claimed by an attempt that did not finish: its number and token stand
        session.commit()  # nothing written; a rollback would expire the rows read
        return claim
    today = village_today(village, now=now)
    kept = {"verification_token": secrets.token_urlsafe(32), "number_year": today.year}  # whichever place it takes
    while True:
        numbered = next_number(session, village_id=saved_id(village), village_code=village.code,
                               pattern=number_pattern(settings, village),
                               shared_sequence=village_profile(village).sequence == "shared",
                               classification=claim.letter_type.classification, on=today)
        taken = {**kept, "number": numbered.number, "number_scope": numbered.scope, "number_seq": numbered.seq,
                 "numbered_at": as_utc(now) or utcnow()}  # after the counter: a claimer that waited for it is later
        # A compare-and-set, which takes the letter's row lock only now, after any wait for the counter's: the
        # attempt's heartbeat renews its lease on that row, and must not wait behind this transaction's wait for
        # another's. It also checks that no letter of the village has the number yet.
        numbering = {"letter_id": letter.id, **{f"new_{name}": value for name, value in taken.items()}}
        if session.execute(NUMBER_LETTER, numbering).rowcount == 1:  # type: ignore[attr-defined]
            break
        if not number_given(session, village_id=saved_id(village), number=numbered.number):
            # another attempt numbered it first (it waited for our lock, or we for its), or it moved on: the
            # counter goes back with the rollback, and the letter is read afresh, with the number that stands
            session.rollback()
            return claim_letter(session, settings, letter_id, now=now)
        # the counter arrived at a number given before (see next_number): its next place, in this transaction
    for name, value in taken.items():  # the claim's copy, as committed (no unit of work: a Core UPDATE)
        set_committed_value(letter, name, value)
    session.commit()  # the counter row is locked for this transaction only
    log.info("letter %s numbered %s", letter.id, letter.number)
    return claim


def _number_letter() -> Update:
    # Built once, with bound parameters (a SET column's own name is reserved for the parameter SQLAlchemy makes)
    letters, others = table(Letter), table(Letter).alias("given")
    taken = ("number", "number_scope", "number_seq", "number_year", "verification_token", "numbered_at")
    new_number = bindparam("new_number", type_=letters.c.number.type)
    number_free = ~exists().where(others.c.village_id == letters.c.village_id, others.c.number == new_number)
    return (update(letters).where(letters.c.id == bindparam("letter_id", type_=letters.c.id.type),
                                  letters.c.status == Status.APPROVED.value, letters.c.number.is_(None), number_free)
            .values({name: new_number if name == "number" else bindparam(f"new_{name}", type_=letters.c[name].type)
                     for name in taken}))


NUMBER_LETTER = _number_letter()


def stored_pdf(settings: Settings, claim: Claim) -> tuple[bytes, dict[str, Any]]:
    """Step (2): the claimed letter rendered, signed and stored, and its signer as the letter row keeps it.

    The file is stored once: where an earlier attempt stored one (it was stopped before step (3)), that file is
    handed back and kept, and this attempt's render and signature go unused. Every letter so saves the read that
    would look for such a file first (on S3 a GET, about 1.2 ms of a worker's CPU); the rare attempt after one
    stopped in between pays a render and a signature instead."""
    letter, village, letter_type = claim.letter, claim.village, claim.letter_type
    assert letter.number is not None and letter.verification_token is not None and letter.numbered_at is not None
    files = LetterFiles(settings)
    key = village_signer(settings, village)
    # the approved draft, its number and QR code filled in: the letter is not laid out a second time
    rendered = final_letter(letter_type=letter_type, village=village, emblem=claim.emblem, applicant=letter.applicant,
                            fields=letter.fields,
                            letter_date=village_today(village, now=as_utc(letter.numbered_at)), number=letter.number,
                            verification_url=verification_url(settings, letter.verification_token),
                            draft=files.read(letter.id, "draft"))
    pdf = sign_pdf(rendered.pdf, key, reason=f"{DEFAULT_REASON}: {letter_type.title} {letter.number}",
                   location=f"Desa {village.name}")
    # kept with the signer, so the public page need not parse the stored PDF on every scan
    signer = {**rendered.signer, "development_certificate": key.is_development}
    return files.write_once(letter.id, "issued", pdf), signer


def mark_issued(session: Session, letter: Letter, *, pdf: bytes, signer: dict[str, Any],
                now: datetime | None = None) -> bool:
    """Step (3): `approved` -> `issued` with the stored file's digest and the `issued` event; False if it moved on."""
    digest = hashlib.sha256(pdf).hexdigest()
    if not transition(session, letter.id, source=Status.APPROVED, target=Status.ISSUED, signer=signer,
                      pdf_sha256=digest, issued_at=as_utc(now) or utcnow()):
        session.rollback()
        return False
    record_event(session, letter_id=letter.id, type="issued", actor="worker",
                 detail={"number": letter.number, "sha256": digest}, letter=letter)
    end_lease_in(session)  # the attempt ends with this commit
    session.commit()
    log.info("letter %s issued as number %s", letter.id, letter.number)
    return True

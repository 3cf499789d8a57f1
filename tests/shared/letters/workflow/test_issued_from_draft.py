"""Issuing fills the approved draft's slots (number, QR code, no watermark) instead of laying the letter out again,
and lays it out anew where the draft is no longer the letter as issued: checked on stored files, read back."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

from shared.db import session_scope
from shared.letters.signing.provisioning import ensure_village_keys
from shared.letters.workflow import issuing, lifecycle
from shared.letters.workflow.issuing import issue_letter
from shared.storage import LetterFiles
from tests.conftest import Office, in_person
from tests.pdftools import pdf_text, pdf_text_flat, pdfsig, qr_codes
from tests.shared.letters.workflow.test_village_dates import request, submit


def approved_draft(office: Office, drafted: datetime) -> uuid.UUID:
    """An SKTM submitted and drafted at one moment, then approved: its id."""
    settings = office.settings
    letter_id = submit(office, request(office, "sktm"), drafted)
    with session_scope(settings) as session:
        ensure_village_keys(session, settings)
        assert lifecycle.render_draft(session=session, settings=settings, letter_id=letter_id, now=drafted)
        lifecycle.approve_letter(session=session, settings=settings, letter_id=letter_id, actor=office.official,
                                 checked_in_person=in_person())
    return letter_id


def drafted_then_issued(office: Office, drafted: datetime, issued: datetime) -> tuple[uuid.UUID, bytes, bytes]:
    """An SKTM drafted at one moment, approved and issued at another: its id, stored draft and issued PDF."""
    settings = office.settings
    letter_id = approved_draft(office, drafted)
    with session_scope(settings) as session:
        assert issue_letter(session=session, settings=settings, letter_id=letter_id, now=issued)
    files = LetterFiles(settings)
    return letter_id, files.read(letter_id, "draft"), files.read(letter_id, "issued")  # type: ignore[return-value]


def test_a_letter_approved_the_day_it_was_drafted_is_its_draft_with_number_qr_and_signature(office: Office) -> None:
    morning, noon = datetime(2026, 12, 1, 1, 0, tzinfo=UTC), datetime(2026, 12, 1, 5, 0, tzinfo=UTC)  # 08:00, 12:00 WIB
    letter_id, draft, issued = drafted_then_issued(office, morning, noon)
    assert issued.startswith(draft)  # the layout the official approved, byte for byte, then one update
    text = pdf_text(issued)
    assert "Nomor: 401/001/Ds.Uji/XII/2026" in text and "Uji, 1 Desember 2026" in text
    assert "KONSEP" not in pdf_text_flat(issued).replace(" ", "")
    report = pdfsig(issued)
    assert "Signature is Valid." in report and "Total document signed" in report
    with session_scope(office.settings) as session:
        token = lifecycle.letter_and_village(session, letter_id)[0].verification_token  # type: ignore[index]
    assert qr_codes(issued) == [f"{office.settings.public_base_url}/v/{token}"]


def test_a_letter_issued_the_day_after_its_draft_is_laid_out_anew_with_the_new_date(office: Office) -> None:
    evening, next_morning = datetime(2026, 11, 30, 16, 0, tzinfo=UTC), datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    _letter_id, draft, issued = drafted_then_issued(office, evening, next_morning)  # 23:00 WIB, 08:00 WIB
    assert "Uji, 30 November 2026" in pdf_text(draft)
    assert not issued.startswith(draft)
    text = pdf_text(issued)
    assert "Uji, 1 Desember 2026" in text and "30 November 2026" not in text
    assert "Signature is Valid." in pdfsig(issued)


def test_an_attempt_after_one_stopped_between_storing_and_marking_keeps_the_stored_file(office: Office) -> None:
    """Step (2) stores the signed file once: the next attempt renders and signs anew, but the first file stays,
    and the letter is issued with its digest, number and token."""
    settings, now = office.settings, datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    letter_id = approved_draft(office, now)
    with session_scope(settings) as session:
        claim = issuing.claim_letter(session, settings, letter_id, now=now)
        assert claim is not None
        first, _signer = issuing.stored_pdf(settings, claim)  # the attempt stops here, before step (3)
    with session_scope(settings) as session:
        assert issue_letter(session=session, settings=settings, letter_id=letter_id, now=now)
    with session_scope(settings) as session:
        letter = lifecycle.letter_and_village(session, letter_id)[0]  # type: ignore[index]
    stored = LetterFiles(settings).read(letter_id, "issued")
    assert stored == first and letter.pdf_sha256 == hashlib.sha256(first).hexdigest()
    assert (letter.status, letter.number, letter.verification_token) == (
        "issued", claim.letter.number, claim.letter.verification_token)
    assert "Signature is Valid." in pdfsig(stored)

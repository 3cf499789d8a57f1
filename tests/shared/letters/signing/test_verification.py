"""What the public learns about a letter: masked names and NIKs, the page data, an uploaded file's check."""

from __future__ import annotations

import hashlib
import json
import random
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from shared.accounts import create_client, ensure_demo_village
from shared.config import Settings
from shared.db import get_engine, session_scope, upgrade_schema
from shared.errors import ValidationFailed
from shared.letters.documents.rendering import format_indonesian_date
from shared.letters.intake.catalog import load_catalog
from shared.letters.intake.nik import mask_nik
from shared.letters.intake.validation import example_request
from shared.letters.signing.provisioning import ensure_village_keys
from shared.letters.signing.verification import (
    DEV_NOTICE,
    OTHER_FILE,
    SAME_FILE,
    check_upload,
    find_by_sha256,
    find_by_token,
    local_date,
    mask_name,
    public_view,
    verify_file,
)
from shared.letters.workflow.issuing import issue_letter
from shared.letters.workflow.lifecycle import approve_letter, render_draft, revoke_letter, submit_letter
from shared.models import Client, Letter, LetterStatus, Role, Village, as_utc
from shared.storage import LetterFiles, letter_key
from shared.storage.local import LocalStore
from shared.villages import demo_village
from tests.conftest import in_person

WIB = ZoneInfo("Asia/Jakarta")  # Desa Cijengkol's zone

NIK = example_request(load_catalog(Settings().templates_dir).types["sktm"])["applicant"]["nik"]


@dataclass
class Deployment:
    settings: Settings
    official: Client
    post: Client


def digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def tamper(pdf: bytes) -> bytes:
    """The PDF with one byte of its first content stream changed."""
    at = pdf.index(b"stream\n") + 20
    return pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1:]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """Desa Cijengkol on SQLite with its development key, a hamlet post and an official."""
    settings = Settings(suratdesa_home=tmp_path_factory.mktemp("home"))
    upgrade_schema(settings)
    with session_scope(settings) as session:
        village = ensure_demo_village(session)
        assert village is not None
        ensure_village_keys(session, settings)
        official, _ = create_client(session, name="petugas", role=Role.OFFICIAL, village=village)
        post, _ = create_client(session, name="pos-a", role=Role.POST, village=village)
    yield Deployment(settings, official, post)
    get_engine(settings).dispose()


def submitted(session: Session, deployment: Deployment) -> Letter:
    body = example_request(load_catalog(deployment.settings.templates_dir).types["sktm"])
    return submit_letter(session=session, settings=deployment.settings, client=deployment.post, body=body)


def issued(deployment: Deployment) -> uuid.UUID:
    """An SKTM taken through the whole workflow in process: submitted, drafted, approved, issued."""
    settings = deployment.settings
    with session_scope(settings) as session:
        letter = submitted(session, deployment)
        assert render_draft(session=session, settings=settings, letter_id=letter.id)
        approve_letter(session=session, settings=deployment.settings, letter_id=letter.id,
                       actor=deployment.official, checked_in_person=in_person())
        assert issue_letter(session=session, settings=settings, letter_id=letter.id)
        return letter.id


@pytest.fixture(scope="module")
def letter_id(deployment: Deployment) -> uuid.UUID:
    return issued(deployment)


@pytest.fixture
def session(deployment: Deployment) -> Iterator[Session]:
    with session_scope(deployment.settings) as session:
        yield session


def stored_pdf(deployment: Deployment, letter_id: uuid.UUID) -> bytes:
    pdf = LetterFiles(deployment.settings).read(letter_id, "issued")
    assert pdf is not None
    return pdf


@pytest.mark.parametrize(("name", "masked"), [
    ("Ujang Contoh", "Uj*** Co****"),
    ("Siti Nur'aini", "Si** Nu******"),
    ("Siti-Rahmah", "Si**-Ra****"),
    ("A Rahman", "A Ra****"),
    ("M. Yusuf bin Ahmad", "M. Yu*** bi* Ah***"),
    ("Ni Luh Putu Ayu", "Ni Lu* Pu** Ay*"),
    ("Nur", "Nu*"),
    ("  Dede   Ázka ", "De**   Áz**"),
    ("", ""),
])
def test_mask_name_keeps_two_letters_of_each_word(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_mask_name_never_shows_a_third_letter_of_any_word() -> None:
    generator = random.Random(7)
    for _ in range(200):
        name = " ".join("".join(generator.choices("abcdefghij'-", k=generator.randint(1, 9))) for _ in range(3))
        for word in re.split(r"[\s-]+", mask_name(name)):
            assert len(word) <= 2 or set(word[2:]) == {"*"}, (name, mask_name(name))


def test_mask_nik_keeps_the_regency_prefix_and_the_last_two_digits() -> None:
    assert mask_nik("3202091203850001") == "3202**********01"
    assert mask_nik("3202154107900093") == "3202**********93"


def test_mask_nik_never_shows_more_than_eight_digits() -> None:
    generator = random.Random(11)
    niks = [NIK, "3202154107900003", *("".join(generator.choices("0123456789", k=16)) for _ in range(200))]
    for nik in niks:
        masked = mask_nik(nik)
        assert len(masked) == 16 and digits(masked) <= 8 and nik not in masked
        assert not any(nik[i:i + 9] in masked for i in range(8))


def test_public_view_of_an_issued_letter(deployment: Deployment, letter_id: uuid.UUID, session: Session) -> None:
    letter = session.get(Letter, letter_id)
    assert letter is not None
    view = public_view(letter, session.get(Village, letter.village_id), deployment.settings)  # type: ignore[arg-type]
    assert view["status"] == "valid" and view["verdict"] == "SAH"
    assert re.fullmatch(r"401/\d{3}/Ds\.Cjk/[IVX]+/\d{4}", view["number"]) and view["number"] == letter.number
    assert (view["type"], view["title"]) == ("sktm", "Surat Keterangan Tidak Mampu")
    assert view["issued_on"] == format_indonesian_date(as_utc(letter.issued_at).astimezone(WIB).date())  # type: ignore[union-attr]
    assert view["village"] == "Desa Cijengkol, Kecamatan Caringin, Kabupaten Sukabumi"
    assert view["signer"] == {"name": "Budi Contoh", "position": "Kepala Desa Cijengkol"}
    assert NIK == "3202091203850001"  # the SKTM example's applicant
    assert view["applicant"] == {"name": "Uj*** Co****", "nik": "3202**********01"}
    assert view["sha256"] == letter.pdf_sha256
    assert view["development_certificate"] is True and view["certificate_notice"] == DEV_NOTICE
    assert view["revoked_at"] is None and view["reason"] is None
    assert NIK not in json.dumps(view) and "Ujang" not in json.dumps(view)


def test_tokens_find_only_issued_letters(deployment: Deployment, letter_id: uuid.UUID, session: Session) -> None:
    letter = session.get(Letter, letter_id)
    assert letter is not None and letter.verification_token is not None
    token = letter.verification_token
    assert find_by_token(session, token) == letter
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for wrong in (altered, "", "abc", "../../etc/passwd", token + "x" * 30, token.upper() + "%"):
        assert find_by_token(session, wrong) is None
    draft = session.get(Letter, submitted(session, deployment).id)  # as stored: the submission returns a copy
    assert draft is not None
    draft.verification_token = "d" * 43  # even a draft that somehow holds a token never verifies
    session.add(draft)
    session.commit()
    assert find_by_token(session, "d" * 43) is None


def test_local_date_is_the_village_date() -> None:
    wib, wit = demo_village(), demo_village()
    wit.profile = {**wit.profile, "time_zone": "WIT"}
    evening_in_utc = datetime(2026, 11, 26, 18, 30, tzinfo=UTC)  # 01:30 WIB on the 27th
    assert local_date(evening_in_utc, wib) == "27 November 2026"
    assert local_date(evening_in_utc.replace(tzinfo=None), wib) == "27 November 2026"  # SQLite: naive
    afternoon_in_utc = datetime(2026, 11, 26, 15, 30, tzinfo=UTC)  # 22:30 WIB, but 00:30 WIT the next day
    assert (local_date(afternoon_in_utc, wib), local_date(afternoon_in_utc, wit)) == ("26 November 2026",
                                                                                        "27 November 2026")
    assert local_date(None, wib) is None


def test_upload_check(deployment: Deployment, letter_id: uuid.UUID, session: Session) -> None:
    letter = session.get(Letter, letter_id)
    assert letter is not None
    pdf = stored_pdf(deployment, letter_id)
    same = check_upload(letter, pdf, deployment.settings)
    assert same.identical and same.identity_text == SAME_FILE
    assert same.signature.valid and same.signature.is_development
    assert same.signature_text == f"Tanda tangan elektronik valid. {DEV_NOTICE}"
    changed = check_upload(letter, tamper(pdf), deployment.settings)
    assert not changed.identical and changed.identity_text == OTHER_FILE
    assert not changed.signature.valid and changed.signature_text.startswith("Tanda tangan tidak valid: ")
    assert changed.as_json()["signature"]["valid"] is False
    for bad in (None, b"", b"GIF89a not a letter"):
        with pytest.raises(ValidationFailed) as caught:
            check_upload(letter, bad, deployment.settings)
        assert caught.value.errors[0].field == "file"


def test_verify_file_and_revocation(deployment: Deployment, session: Session) -> None:
    letter_id = issued(deployment)
    pdf = stored_pdf(deployment, letter_id)
    letter = find_by_sha256(session, hashlib.sha256(pdf).hexdigest())
    assert letter is not None and letter.id == letter_id
    verdict = verify_file(session, deployment.settings, pdf)
    assert verdict.exit_code == 0
    assert verdict.message == (f"SAH: {letter.number} (Surat Keterangan Tidak Mampu), tanda tangan valid "
                               "(sertifikat pengembangan desa, bukan BSrE)")
    unknown = verify_file(session, deployment.settings, tamper(pdf))
    assert unknown.exit_code == 2 and unknown.message.startswith("TIDAK DIKENAL: ")
    assert "tanda tangan tidak valid" in unknown.message
    assert verify_file(session, deployment.settings, b"not a pdf").exit_code == 2

    revoke_letter(session=session, letter_id=letter_id, actor=deployment.official, reason="Data pemohon keliru")
    session.expire_all()
    revoked = session.get(Letter, letter_id)
    assert revoked is not None and revoked.status == LetterStatus.REVOKED
    view = public_view(revoked, session.get(Village, revoked.village_id), deployment.settings)  # type: ignore[arg-type]
    assert (view["status"], view["verdict"], view["reason"]) == ("revoked", "DICABUT", "Data pemohon keliru")
    revoked_on = as_utc(revoked.revoked_at).astimezone(WIB).date()  # type: ignore[union-attr]
    assert view["revoked_on"] == format_indonesian_date(revoked_on) and view["revoked_at"]
    verdict = verify_file(session, deployment.settings, pdf)
    assert verdict.exit_code == 1
    assert verdict.message.startswith(f"DICABUT: {revoked.number} (Surat Keterangan Tidak Mampu) dicabut pada ")
    assert "Data pemohon keliru" in verdict.message


def test_the_certificate_kind_is_recorded_at_issuance_not_read_from_the_pdf_per_view(
        deployment: Deployment, session: Session) -> None:
    letter = session.get(Letter, issued(deployment))  # a letter of its own: its file is deleted below
    village = session.get(Village, letter.village_id)  # type: ignore[union-attr]
    assert letter is not None and village is not None
    assert letter.signer is not None and letter.signer["development_certificate"] is True
    LocalStore(deployment.settings.home).path(letter_key(letter.id, "issued")).unlink()  # the page cannot read it
    assert public_view(letter, village, deployment.settings)["development_certificate"] is True
    letter.signer = {**letter.signer, "development_certificate": False}  # as a BSrE-signed letter records it
    view = public_view(letter, village, deployment.settings)
    assert view["development_certificate"] is False and view["certificate_notice"] is None

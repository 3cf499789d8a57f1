"""Attaching required documents and approving with some missing, on SQLite and PostgreSQL (the office fixture)."""

from __future__ import annotations

import uuid
from io import BytesIO

import pytest
from PIL import Image
from sqlmodel import select

from shared.db import session_scope
from shared.errors import Forbidden, NotFound, ValidationFailed, WrongStatus
from shared.letters.attachments.content import MAX_ATTACHMENT_BYTES, FileTooLarge
from shared.letters.attachments.documents import add_attachment, attachment_file, letter_attachments
from shared.letters.intake.catalog import load_catalog
from shared.letters.intake.validation import example_request
from shared.letters.workflow import lifecycle
from shared.letters.workflow.events import chain_problem, letter_events
from shared.models import Attachment, Client
from tests.conftest import Office
from tests.scans import SECRET_TEXT, broken_pdf, image_metadata, kk_scan_png, ktp_photo, one_page_pdf


def drafted(office: Office, code: str = "sktm") -> uuid.UUID:
    """A letter of post pos-1 with its draft rendered: awaiting approval."""
    settings = office.settings
    body = example_request(load_catalog(settings.templates_dir).types[code])
    with session_scope(settings) as session:
        letter_id = lifecycle.submit_letter(session=session, settings=settings, client=office.post, body=body).id
        assert lifecycle.render_draft(session=session, settings=settings, letter_id=letter_id)
    return letter_id


def attach(office: Office, letter_id: uuid.UUID, kind: str, data: bytes, client: Client | None = None) -> Attachment:
    with session_scope(office.settings) as session:
        return add_attachment(session=session, settings=office.settings, client=client or office.post,
                              letter_id=letter_id, kind=kind, data=data)[0]


def stored(office: Office, letter_id: uuid.UUID, attachment: Attachment, client: Client | None = None) -> bytes:
    with session_scope(office.settings, read_only=True) as session:
        return attachment_file(session=session, settings=office.settings, client=client or office.official,
                               letter_id=letter_id, attachment_id=attachment.id)[1]


def approve(office: Office, letter_id: uuid.UUID, checked_in_person: list[str]) -> None:
    with session_scope(office.settings) as session:
        lifecycle.approve_letter(session=session, settings=office.settings, letter_id=letter_id,
                                 actor=office.official, checked_in_person=checked_in_person)


def field_errors(error: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return {e.field: e.message for e in error.value.errors}


def test_a_ktp_photo_loses_its_gps_and_every_other_metadata(office: Office) -> None:
    letter_id = drafted(office)
    original = ktp_photo()
    assert image_metadata(original)["gps"]  # the phone's photo says where the house is
    attachment = attach(office, letter_id, "ktp", original)
    data = stored(office, letter_id, attachment)
    found = image_metadata(data)
    assert (found["exif"], found["gps"]) == ({}, {})
    assert not {"exif", "icc_profile", "comment", "xmp"} & set(found["info"])
    assert SECRET_TEXT.encode() not in data and b"Contoh Ponsel" not in data
    assert Image.open(BytesIO(data)).size == (640, 400)  # the document itself is still all there
    assert (attachment.content_type, attachment.size) == ("image/jpeg", len(data))


def test_a_png_keeps_no_text_chunks(office: Office) -> None:
    letter_id = drafted(office)
    attachment = attach(office, letter_id, "kk", kk_scan_png())
    data = stored(office, letter_id, attachment)
    assert attachment.content_type == "image/png"
    assert image_metadata(data)["text"] == {} and image_metadata(data)["info"] == {}
    assert SECRET_TEXT.encode() not in data


def test_a_pdf_is_kept_as_sent_once_it_parses(office: Office) -> None:
    letter_id = drafted(office)
    pdf = one_page_pdf()
    attachment = attach(office, letter_id, "pengantar_rt", pdf)
    assert attachment.content_type == "application/pdf" and stored(office, letter_id, attachment) == pdf


@pytest.mark.parametrize(("kind", "data", "field"), [
    ("ktp", broken_pdf(), "file"),
    ("ktp", b"GIF89a" + b"\0" * 100, "file"),  # not one of JPEG, PNG, PDF
    ("ktp", ktp_photo()[:600], "file"),  # a photo cut off mid-transfer
    ("ktp", b"", "file"),
    ("surat_lahir", ktp_photo(), "kind"),  # a kelahiran's document, not an SKTM's
    ("", ktp_photo(), "kind"),
])
def test_refused_uploads_name_the_field_and_store_nothing(office: Office, kind: str, data: bytes, field: str) -> None:
    letter_id = drafted(office)
    with pytest.raises(ValidationFailed) as refused:
        attach(office, letter_id, kind, data)
    assert list(field_errors(refused)) == [field]
    with session_scope(office.settings) as session:
        assert session.exec(select(Attachment).where(Attachment.letter_id == letter_id)).all() == []
    assert not (office.settings.home / "attachments").exists() or not any(
        (office.settings.home / "attachments").rglob("*"))


def test_over_two_megabytes_is_refused_as_too_large(office: Office) -> None:
    with pytest.raises(FileTooLarge) as refused:
        attach(office, drafted(office), "ktp", b"%PDF-" + b"0" * (MAX_ATTACHMENT_BYTES - 4))
    assert refused.value.status == 413 and list(field_errors(refused)) == ["file"]


def test_only_the_submitting_post_attaches_and_only_its_office_reads(office: Office) -> None:
    letter_id = drafted(office)
    with pytest.raises(NotFound):
        attach(office, letter_id, "ktp", ktp_photo(), client=office.other_post)
    with pytest.raises(Forbidden):
        attach(office, letter_id, "ktp", ktp_photo(), client=office.official)
    attachment = attach(office, letter_id, "ktp", ktp_photo())
    assert stored(office, letter_id, attachment, client=office.post)
    with pytest.raises(NotFound):
        stored(office, letter_id, attachment, client=office.other_post)
    with session_scope(office.settings) as session:
        listed = letter_attachments(session=session, settings=office.settings, client=office.official,
                                    letter_id=letter_id)
    assert [(a.id, a.kind, a.label) for a in listed] == [(attachment.id, "ktp", "KTP-el pemohon")]


def test_files_are_stored_under_ids_never_a_nik_or_the_uploaded_name(office: Office) -> None:
    letter_id = drafted(office)
    attachment = attach(office, letter_id, "ktp", ktp_photo())
    files = [p for p in (office.settings.home / "attachments").rglob("*") if p.is_file()]
    assert [p.relative_to(office.settings.home).parts for p in files] == [
        ("attachments", letter_id.hex[:2], letter_id.hex, attachment.id.hex)]


def test_approval_with_documents_missing_needs_each_confirmed_in_person(office: Office) -> None:
    letter_id = drafted(office)
    attach(office, letter_id, "ktp", ktp_photo())
    with pytest.raises(ValidationFailed) as refused:
        approve(office, letter_id, [])
    message = field_errors(refused)["checked_in_person"]
    assert "Kartu Keluarga (KK) (kk)" in message and "pengantar_rt" in message and "KTP" not in message
    with pytest.raises(ValidationFailed) as partly:
        approve(office, letter_id, ["kk"])
    assert "pengantar_rt" in field_errors(partly)["checked_in_person"]
    assert "(kk)" not in field_errors(partly)["checked_in_person"]
    with pytest.raises(ValidationFailed) as unknown:
        approve(office, letter_id, ["kk", "pengantar_rt", "surat_lahir"])
    assert "surat_lahir" in field_errors(unknown)["checked_in_person"]
    approve(office, letter_id, ["kk", "pengantar_rt", "ktp"])  # the attached KTP need not be confirmed
    with session_scope(office.settings) as session:
        events = letter_events(session, letter_id)
        assert chain_problem(events) is None
    assert [(e.type, e.detail) for e in events] == [
        ("submitted", {}), ("draft_rendered", {}), ("attachment_added", {"kind": "ktp"}),
        ("approved", {"checked_in_person": ["kk", "pengantar_rt"]})]


def test_every_document_attached_approves_with_an_empty_confirmation(office: Office) -> None:
    letter_id = drafted(office)
    for kind, data in (("ktp", ktp_photo()), ("kk", kk_scan_png()), ("pengantar_rt", one_page_pdf())):
        attach(office, letter_id, kind, data)
    approve(office, letter_id, [])
    with session_scope(office.settings) as session:
        assert letter_events(session, letter_id)[-1].detail == {}


def test_nothing_can_be_attached_once_approved(office: Office) -> None:
    letter_id = drafted(office)
    approve(office, letter_id, ["ktp", "kk", "pengantar_rt"])
    with pytest.raises(WrongStatus):
        attach(office, letter_id, "ktp", ktp_photo())


def test_a_photo_taken_sideways_is_stored_upright_without_its_orientation_tag(office: Office) -> None:
    sideways = BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: show the 200 x 100 pixels rotated, 100 wide and 200 high
    Image.new("RGB", (200, 100), (200, 30, 30)).save(sideways, "JPEG", exif=exif)
    letter_id = drafted(office)
    data = stored(office, letter_id, attach(office, letter_id, "ktp", sideways.getvalue()))
    assert Image.open(BytesIO(data)).size == (100, 200) and image_metadata(data)["exif"] == {}

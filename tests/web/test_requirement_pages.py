"""Requirement documents (syarat) on the letter page: the post uploads them (cleaned like the API's), officials
open them and confirm the missing ones as seen in person when approving; bulk approval confirms nothing."""

from __future__ import annotations

import re
import uuid
from io import BytesIO
from typing import Any

from PIL import Image
from sqlmodel import select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from shared.db import session_scope
from shared.letters.attachments.content import MAX_ATTACHMENT_BYTES
from shared.letters.attachments.files import read_attachment
from shared.letters.workflow.events import letter_events
from shared.models import Attachment, Letter
from tests.api.test_attachments_api import padded_pdf
from tests.scans import SECRET_TEXT, broken_pdf, image_metadata, kk_scan_png, ktp_photo, one_page_pdf
from tests.web.conftest import Browser, Pages

CHECKBOX = re.compile(r'name="checked_in_person" value="([a-z_]+)"')


def upload(browser: Browser, letter_id: uuid.UUID, kind: str, data: bytes, filename: str) -> Any:
    """The letter page's upload form, sent as the browser does (multipart with the page's CSRF token)."""
    browser.get(f"/surat/{letter_id}")
    boundary, body = encode_multipart(MultiDict({"csrf_token": browser.token, "kind": kind,
                                                 "file": FileStorage(BytesIO(data), filename)}))
    return browser.client.post(f"/surat/{letter_id}/lampiran", data=body,
                               content_type=f"multipart/form-data; boundary={boundary}", follow_redirects=True)


def stored(pages: Pages, letter_id: uuid.UUID) -> list[tuple[Attachment, bytes | None]]:
    with session_scope(pages.settings) as session:
        rows = list(session.exec(select(Attachment).where(Attachment.letter_id == letter_id)))
        return [(row, read_attachment(pages.settings, letter_id, row.id)) for row in rows]


def attach_everything(pages: Pages, letter_id: uuid.UUID) -> None:
    post = pages.browser("pos-a")
    for kind in ("ktp", "kk", "pengantar_rt"):
        assert "dilampirkan." in upload(post, letter_id, kind, one_page_pdf(), "scan.pdf").get_data(as_text=True)


def status(pages: Pages, letter_id: uuid.UUID) -> str:
    with session_scope(pages.settings) as session:
        letter = session.get(Letter, letter_id)
        assert letter is not None
        return letter.status


def test_a_post_uploads_a_ktp_photo_through_the_page_and_its_gps_is_gone(pages: Pages) -> None:
    letter_id = pages.letter()
    post = pages.browser("pos-a")
    page = post.get(f"/surat/{letter_id}").get_data(as_text=True)
    assert "Syarat dokumen" in page and page.count("Belum dilampirkan") == 3
    assert 'enctype="multipart/form-data"' in page and '<label for="lampiran-berkas">' in page
    answer = upload(post, letter_id, "ktp", ktp_photo(), "KTP 3202092001850001.jpg").get_data(as_text=True)
    assert "KTP-el pemohon dilampirkan." in answer and answer.count("Belum dilampirkan") == 2
    [(row, data)] = stored(pages, letter_id)
    assert row.kind == "ktp" and row.content_type == "image/jpeg" and data is not None
    metadata = image_metadata(data)
    assert metadata["gps"] == {} and metadata["exif"] == {} and SECRET_TEXT.encode() not in data
    link = re.search(rf'href="(/surat/{letter_id}/lampiran/[0-9a-f-]+)"', answer)
    assert link is not None
    official = pages.browser("petugas")
    download = official.get(link.group(1))
    assert download.status_code == 200 and download.data == data and download.mimetype == "image/jpeg"
    assert download.headers["Content-Disposition"].startswith('attachment; filename="lampiran-ktp-')
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert pages.browser("pos-b").get(link.group(1)).status_code == 404
    assert pages.browser("petugas-lain").get(link.group(1)).status_code == 404


def test_a_png_named_pdf_is_stored_as_png(pages: Pages) -> None:
    letter_id = pages.letter()
    upload(pages.browser("pos-a"), letter_id, "kk", kk_scan_png(), "kk.pdf")
    [(row, data)] = stored(pages, letter_id)
    assert row.content_type == "image/png" and data is not None and Image.open(BytesIO(data)).format == "PNG"


def test_refused_files_are_named_beside_the_file_field_in_indonesian(pages: Pages) -> None:
    letter_id = pages.letter()
    post = pages.browser("pos-a")
    over = upload(post, letter_id, "ktp", b"\xff\xd8\xff" + b"0" * MAX_ATTACHMENT_BYTES, "ktp.jpg")
    assert over.status_code == 200
    assert re.search(r'id="lampiran-berkas-galat">Berkas lebih dari 2 MB', over.get_data(as_text=True))
    far_over = upload(post, letter_id, "ktp", b"0" * (MAX_ATTACHMENT_BYTES + 200_000), "ktp.jpg")
    assert far_over.status_code == 200  # not the bare 413 of a request over the limit
    assert re.search(r'id="lampiran-berkas-galat">Berkas lebih dari 2 MB', far_over.get_data(as_text=True))
    broken = upload(post, letter_id, "pengantar_rt", broken_pdf(), "rt.pdf").get_data(as_text=True)
    assert re.search(r'id="lampiran-berkas-galat">Berkas tidak dapat dibaca', broken)
    text = upload(post, letter_id, "kk", b"bukan gambar", "kk.png").get_data(as_text=True)
    assert re.search(r'id="lampiran-berkas-galat">Jenis berkas tidak diterima', text)
    unknown = upload(post, letter_id, "akta", one_page_pdf(), "x.pdf").get_data(as_text=True)
    assert re.search(r'id="lampiran-jenis-galat">Jenis dokumen bukan syarat', unknown)
    assert stored(pages, letter_id) == []
    exactly = upload(post, letter_id, "pengantar_rt", padded_pdf(MAX_ATTACHMENT_BYTES), "rt.pdf")  # over the 1 MB
    assert "Surat pengantar dari Ketua RT/RW dilampirkan." in exactly.get_data(as_text=True)  # of other forms
    assert [row.size for row, _ in stored(pages, letter_id)] == [MAX_ATTACHMENT_BYTES]


def test_another_post_finds_nothing_and_an_official_cannot_upload(pages: Pages) -> None:
    letter_id = pages.letter()
    assert upload(pages.browser("pos-b"), letter_id, "ktp", ktp_photo(), "ktp.jpg").status_code == 404
    official = pages.browser("petugas")
    assert 'name="file"' not in official.get(f"/surat/{letter_id}").get_data(as_text=True)
    assert upload(official, letter_id, "ktp", ktp_photo(), "ktp.jpg").status_code == 403
    assert stored(pages, letter_id) == []


def test_approving_asks_for_the_missing_documents_in_person_and_records_them(pages: Pages) -> None:
    letter_id = pages.letter()
    upload(pages.browser("pos-a"), letter_id, "ktp", ktp_photo(), "ktp.jpg")
    official = pages.browser("petugas")
    page = official.get(f"/surat/{letter_id}").get_data(as_text=True)
    assert CHECKBOX.findall(page) == ["kk", "pengantar_rt"]  # the attached KTP needs no tick
    refused = official.post(f"/petugas/surat/{letter_id}/setujui", {"checked_in_person": ["kk"]},
                            follow_redirects=True)
    assert refused.request.path == f"/surat/{letter_id}"
    assert re.search(r'id="periksa-galat">Syarat belum lengkap: Surat pengantar', refused.get_data(as_text=True))
    assert status(pages, letter_id) == "awaiting_approval"
    official.post(f"/petugas/surat/{letter_id}/setujui", {"checked_in_person": ["kk", "pengantar_rt"]})
    assert status(pages, letter_id) == "approved"
    with session_scope(pages.settings) as session:
        approved = [e for e in letter_events(session, letter_id) if e.type == "approved"]
    assert [(e.actor, e.detail) for e in approved] == [
        ("official:petugas", {"checked_in_person": ["kk", "pengantar_rt"]})]


def test_with_every_document_attached_approval_needs_no_ticks(pages: Pages) -> None:
    letter_id = pages.letter()
    attach_everything(pages, letter_id)
    official = pages.browser("petugas")
    assert CHECKBOX.findall(official.get(f"/surat/{letter_id}").get_data(as_text=True)) == []
    assert official.post(f"/petugas/surat/{letter_id}/setujui").status_code == 303
    assert status(pages, letter_id) == "approved"


def test_bulk_approval_refuses_and_names_letters_with_documents_missing(pages: Pages) -> None:
    complete, incomplete = pages.letter(name="Ujang Lengkap"), pages.letter(name="Asep Kurang")
    attach_everything(pages, complete)
    official = pages.browser("petugas")
    inbox = official.get("/petugas").get_data(as_text=True)
    assert "3 syarat belum dilampirkan" in inbox and "Syarat lengkap" in inbox
    answer = official.post("/petugas/setujui", {"letter_id": [str(complete), str(incomplete)]},
                           follow_redirects=True).get_data(as_text=True)
    assert "1 surat disetujui" in answer
    assert re.search(r"Asep Kurang: belum dilampirkan KTP-el pemohon; Kartu Keluarga \(KK\); Surat pengantar[^<]*"
                     r"Buka suratnya untuk menyatakan dokumen diperiksa langsung", answer)
    assert (status(pages, complete), status(pages, incomplete)) == ("approved", "awaiting_approval")

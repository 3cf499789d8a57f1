"""Requirement documents over HTTP: the catalog lists them, posts upload them (multipart), approval confirms."""

from __future__ import annotations

import uuid
from io import BytesIO
from typing import Any

from PIL import Image
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from shared.db import session_scope
from shared.letters.attachments.content import MAX_ATTACHMENT_BYTES
from shared.letters.workflow.lifecycle import render_draft
from tests.api.conftest import Api
from tests.api.test_letters_api import assert_problem
from tests.api.world import ktp_upload
from tests.scans import SECRET_TEXT, broken_pdf, image_metadata, kk_scan_png, ktp_photo, one_page_pdf


def drafted(api: Api, code: str = "sktm", who: str = "post_a") -> str:
    response = api.call("POST", "/api/v1/letters", who, json=api.example(code))
    assert response.status_code == 202
    letter_id = response.get_json()["id"]
    with session_scope(api.settings) as session:
        assert render_draft(session=session, settings=api.settings, letter_id=uuid.UUID(letter_id))
    return str(letter_id)


def upload(api: Api, letter_id: str, who: str = "post_a", **form: Any) -> Any:
    return api.call("POST", f"/api/v1/letters/{letter_id}/attachments", who, data=ktp_upload(**form),
                    content_type="multipart/form-data")


def upload_bytes(api: Api, letter_id: str, data: bytes, kind: str = "pengantar_rt") -> Any:
    """An upload whose multipart body is built in memory (the test client would spool a large one to a
    temporary file that nobody closes when the API refuses it unread)."""
    boundary, body = encode_multipart(MultiDict({"kind": kind, "file": FileStorage(BytesIO(data), "rt.pdf")}))
    return api.call("POST", f"/api/v1/letters/{letter_id}/attachments", "post_a", data=body,
                    content_type=f"multipart/form-data; boundary={boundary}")


def padded_pdf(size: int) -> bytes:
    """A readable PDF of exactly size bytes: a comment after its end, then its trailer again."""
    pdf = one_page_pdf()
    offset = pdf[pdf.rindex(b"startxref"):].split()[1]
    tail = b"\nstartxref\n" + offset + b"\n%%EOF\n"
    return pdf + b"%" + b"0" * (size - len(pdf) - len(tail) - 1) + tail


def errors(response: Any) -> dict[str, str]:
    return {e["field"]: e["message"] for e in response.get_json(force=True)["errors"]}


def test_every_letter_type_lists_its_documents_with_indonesian_labels(api: Api) -> None:
    types = {t["code"]: t for t in api.call("GET", "/api/v1/letter-types", "post_a").get_json()}
    assert all({"ktp", "kk"} <= {r["kind"] for r in t["requirements"]} for t in types.values())
    assert {"kind": "surat_lahir", "label": "Surat keterangan lahir dari bidan, puskesmas atau rumah sakit"} in \
        types["kelahiran"]["requirements"]
    assert "pengantar_rt" in {r["kind"] for r in types["sktm"]["requirements"]}
    schema = api.call("GET", "/api/v1/openapi.json", "post_a").get_json()["components"]["schemas"]
    assert "requirements" in schema["LetterTypeView"]["required"]


def test_a_post_uploads_a_ktp_photo_and_the_office_downloads_it_without_gps(api: Api) -> None:
    letter_id = drafted(api)
    added = upload(api, letter_id, filename="KTP 3202092001850001.jpg")
    assert added.status_code == 201, added.get_json()
    body = added.get_json()
    assert (body["kind"], body["label"], body["content_type"]) == ("ktp", "KTP-el pemohon", "image/jpeg")
    download = api.call("GET", added.headers["Location"], "official")
    assert download.status_code == 200 and download.mimetype == "image/jpeg"
    assert "3202092001850001" not in download.headers["Content-Disposition"]
    assert download.headers["Content-Disposition"].startswith('attachment; filename="lampiran-ktp-')
    found = image_metadata(download.data)
    assert found["gps"] == {} and found["exif"] == {} and SECRET_TEXT.encode() not in download.data
    assert len(download.data) == body["size"]
    assert api.call("GET", f"/api/v1/letters/{letter_id}/attachments", "post_a").get_json() == [body]
    events = api.call("GET", f"/api/v1/letters/{letter_id}", "official").get_json()["events"]
    assert events[-1]["type"] == "attachment_added" and events[-1]["kind"] == "ktp"
    assert "KTP 3202092001850001" not in str(events)


def test_a_png_named_pdf_and_declared_pdf_is_stored_as_png(api: Api) -> None:
    letter_id = drafted(api)
    form = {"kind": "kk", "file": (BytesIO(kk_scan_png()), "kk.pdf", "application/pdf")}
    added = api.call("POST", f"/api/v1/letters/{letter_id}/attachments", "post_a", data=form)
    assert added.status_code == 201 and added.get_json()["content_type"] == "image/png"
    stored = api.call("GET", added.headers["Location"], "post_a")
    assert stored.mimetype == "image/png" and Image.open(BytesIO(stored.data)).format == "PNG"
    assert image_metadata(stored.data)["text"] == {}


def test_a_pdf_is_accepted_and_a_broken_one_refused(api: Api) -> None:
    letter_id = drafted(api)
    assert upload(api, letter_id, kind="pengantar_rt", data=one_page_pdf(), filename="rt.pdf").status_code == 201
    refused = upload(api, letter_id, kind="pengantar_rt", data=broken_pdf(), filename="rt.pdf")
    assert_problem(refused, 422)
    assert list(errors(refused)) == ["file"]


def test_two_megabytes_are_accepted_and_one_byte_more_refused_naming_the_file(api: Api) -> None:
    letter_id = drafted(api)
    assert upload_bytes(api, letter_id, padded_pdf(MAX_ATTACHMENT_BYTES)).status_code == 201
    for size in (MAX_ATTACHMENT_BYTES + 1, 3 * MAX_ATTACHMENT_BYTES):  # in the form, and past its limit
        refused = upload_bytes(api, letter_id, padded_pdf(size))
        assert_problem(refused, 413)
        assert list(errors(refused)) == ["file"]
    assert len(api.call("GET", f"/api/v1/letters/{letter_id}/attachments", "post_a").get_json()) == 1


def test_an_unknown_kind_or_a_missing_file_is_a_422_naming_it(api: Api) -> None:
    letter_id = drafted(api)
    assert list(errors(upload(api, letter_id, kind="paspor"))) == ["kind"]
    missing = api.call("POST", f"/api/v1/letters/{letter_id}/attachments", "post_a", data={"kind": "ktp"})
    assert_problem(missing, 422)
    assert list(errors(missing)) == ["file"]


def test_another_post_finds_nothing_and_an_official_may_not_upload(api: Api) -> None:
    letter_id = drafted(api)
    added = upload(api, letter_id)
    assert_problem(upload(api, letter_id, who="post_b"), 404)
    assert_problem(api.call("GET", f"/api/v1/letters/{letter_id}/attachments", "post_b"), 404)
    assert_problem(api.call("GET", added.headers["Location"], "post_b"), 404)
    assert_problem(upload(api, letter_id, who="official"), 403)
    other = drafted(api)  # an attachment id under another letter of the same post is not found
    assert_problem(api.call("GET", added.headers["Location"].replace(letter_id, other), "post_a"), 404)


def test_approval_is_refused_until_the_missing_documents_are_confirmed_in_person(api: Api) -> None:
    letter_id = drafted(api)
    assert upload(api, letter_id).status_code == 201  # the KTP
    refused = api.call("POST", f"/api/v1/letters/{letter_id}/approve", "official")
    assert_problem(refused, 422)
    message = errors(refused)["checked_in_person"]
    assert "Kartu Keluarga (KK) (kk)" in message and "Surat pengantar dari Ketua RT/RW (pengantar_rt)" in message
    assert "Syarat belum lengkap" in refused.get_json()["detail"]
    assert_problem(api.call("POST", f"/api/v1/letters/{letter_id}/approve", "official",
                            json={"checked_in_person": "kk"}), 422)
    assert_problem(api.call("POST", f"/api/v1/letters/{letter_id}/approve", "official", data="kk"), 400)
    approved = api.call("POST", f"/api/v1/letters/{letter_id}/approve", "official",
                        json={"checked_in_person": ["kk", "pengantar_rt"]})
    assert approved.status_code == 200, approved.get_json()
    event = approved.get_json()["events"][-1]
    assert (event["type"], event["checked_in_person"]) == ("approved", ["kk", "pengantar_rt"])
    late = upload(api, letter_id, kind="kk", data=kk_scan_png())
    assert_problem(late, 409)


def test_a_letter_with_every_document_attached_approves_with_no_body(api: Api) -> None:
    letter_id = drafted(api)
    for kind, data in (("ktp", ktp_photo()), ("kk", kk_scan_png()), ("pengantar_rt", one_page_pdf())):
        assert upload(api, letter_id, kind=kind, data=data).status_code == 201
    approved = api.call("POST", f"/api/v1/letters/{letter_id}/approve", "official")
    assert approved.status_code == 200 and "checked_in_person" not in approved.get_json()["events"][-1]

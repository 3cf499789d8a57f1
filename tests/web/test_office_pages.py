"""The officials' pages: the inbox with the draft as an image, approve one or several, reject and revoke with a
reason, retry, search by number, name and NIK; every action recorded under the person's own name."""

from __future__ import annotations

import io
import re
import uuid

from PIL import Image

from shared.db import session_scope
from shared.letters.workflow.events import letter_events
from shared.models import Letter
from tests.web.conftest import Pages
from tests.web.test_requirement_pages import attach_everything


def letter_row(pages: Pages, letter_id: uuid.UUID) -> Letter:
    with session_scope(pages.settings) as session:
        letter = session.get(Letter, letter_id)
        assert letter is not None
        return letter


def actors(pages: Pages, letter_id: uuid.UUID) -> list[tuple[str, str]]:
    with session_scope(pages.settings) as session:
        return [(event.type, event.actor) for event in letter_events(session, letter_id)]


def test_the_inbox_lists_drafts_and_the_letter_shows_its_draft_as_an_image(pages: Pages) -> None:
    letter_id = pages.letter()
    official = pages.browser("petugas")
    inbox = official.get("/petugas").get_data(as_text=True)
    assert f"/surat/{letter_id}" in inbox and 'name="letter_id"' in inbox
    page = official.get(f"/surat/{letter_id}").get_data(as_text=True)
    assert f"/surat/{letter_id}/konsep.png" in page and "Setujui" in page
    assert "Laki-laki" in page and "12 Maret 1985" in page and "Rp 1.200.000" in page  # as people write them
    assert "Dewi Contohwati; Tanggal lahir 10 Agustus 2015; Jenis kelamin Perempuan; Hubungan Anak" in page
    image = official.get(f"/surat/{letter_id}/konsep.png")
    assert image.mimetype == "image/png"
    with Image.open(io.BytesIO(image.data)) as png:
        assert png.width == 900 and png.height > png.width  # a portrait page
        dark = png.convert("L").histogram()[:128]
        assert sum(dark) > 1000  # text was drawn, not a blank page
    assert (pages.settings.home / "previews" / f"{letter_id}.png").read_bytes() == image.data  # cached
    assert pages.browser("petugas-lain").get(f"/surat/{letter_id}/konsep.png").status_code == 404


def test_the_inbox_polls_the_ids_of_its_village_s_waiting_drafts(pages: Pages) -> None:
    official = pages.browser("petugas")
    inbox = official.get("/petugas").get_data(as_text=True)
    assert 'data-waiting-url="/petugas/menunggu"' in inbox and official.get("/petugas/menunggu").get_json() == {
        "waiting": []}
    letter_id = pages.letter()
    assert official.get("/petugas/menunggu").get_json() == {"waiting": [str(letter_id)]}
    assert f'data-waiting="{letter_id}"' in official.get("/petugas").get_data(as_text=True)
    assert pages.browser("petugas-lain").get("/petugas/menunggu").get_json() == {"waiting": []}
    post = pages.browser("pos-a")
    post.get("/pos")
    assert post.get("/petugas/menunggu").status_code == 403


def test_the_pages_polling_does_not_keep_a_session_alive(pages: Pages) -> None:
    """The 8 idle hours count a person's requests: a page's request renews the session cookie, its script's polls
    (the inbox's, the post's statuses) do not, so a page left open still signs its person out."""
    official, post = pages.browser("petugas"), pages.browser("pos-a")
    assert official.get("/petugas").headers.getlist("Set-Cookie")
    assert official.get("/petugas/menunggu").headers.getlist("Set-Cookie") == []
    assert post.get("/pos").headers.getlist("Set-Cookie")
    assert post.get("/pos/status").headers.getlist("Set-Cookie") == []


def test_the_json_api_neither_reads_nor_renews_the_pages_session(pages: Pages) -> None:
    official = pages.browser("petugas")
    assert official.get("/petugas").headers.getlist("Set-Cookie")  # a page renews it
    answer = official.get("/api/v1/letters")  # the cookie goes along, but the API wants a bearer token
    assert answer.status_code == 401 and answer.headers.getlist("Set-Cookie") == []


def test_approving_in_the_page_records_the_person_and_asks_for_the_issue(pages: Pages) -> None:
    letter_id = pages.letter()
    official = pages.browser("petugas")
    page = official.get(f"/surat/{letter_id}").get_data(as_text=True)
    ticked = re.findall(r'name="checked_in_person" value="([a-z_]+)"', page)  # nothing attached: all three
    assert official.post(f"/petugas/surat/{letter_id}/setujui", {"checked_in_person": ticked}).status_code == 303
    assert letter_row(pages, letter_id).status == "approved"
    assert actors(pages, letter_id)[-1] == ("approved", "official:petugas")
    again = official.post(f"/petugas/surat/{letter_id}/setujui")
    assert again.status_code == 409 and "awaiting_approval" in again.get_data(as_text=True)


def test_several_selected_letters_are_approved_at_once(pages: Pages) -> None:
    first, second, untouched = (pages.letter(name=n) for n in ("Ujang Satu", "Ujang Dua", "Ujang Tiga"))
    for letter_id in (first, second, untouched):
        attach_everything(pages, letter_id)
    official = pages.browser("petugas")
    official.get("/petugas")
    answer = official.post("/petugas/setujui", {"letter_id": [str(first), str(second)]}, follow_redirects=True)
    assert "2 surat disetujui" in answer.get_data(as_text=True)
    assert [letter_row(pages, x).status for x in (first, second, untouched)] == [
        "approved", "approved", "awaiting_approval"]


def test_a_post_cannot_approve_and_another_village_cannot_find_the_letter(pages: Pages) -> None:
    letter_id = pages.letter()
    post = pages.browser("pos-a")
    post.get("/pos")
    assert post.post(f"/petugas/surat/{letter_id}/setujui").status_code == 403
    other = pages.browser("petugas-lain")
    other.get("/petugas")
    assert other.post(f"/petugas/surat/{letter_id}/setujui").status_code == 404
    assert pages.browser("pos-b").get(f"/surat/{letter_id}").status_code == 404  # another post's letter
    assert letter_row(pages, letter_id).status == "awaiting_approval"


def test_a_rejection_needs_a_reason_and_the_resident_reads_it(pages: Pages) -> None:
    letter_id = pages.letter()
    official = pages.browser("petugas")
    official.get(f"/surat/{letter_id}")
    shown = official.post(f"/petugas/surat/{letter_id}/tolak", {"reason": "x"}, follow_redirects=True)
    assert re.search(r'id="alasan-galat">[^<]*3', shown.get_data(as_text=True))  # beside the field
    assert letter_row(pages, letter_id).status == "awaiting_approval"
    official.post(f"/petugas/surat/{letter_id}/tolak", {"reason": "Fotokopi KK tidak terbaca"})
    letter = letter_row(pages, letter_id)
    assert letter.status == "rejected" and actors(pages, letter_id)[-1] == ("rejected", "official:petugas")
    tracking = pages.browser().get(f"/s/{letter.tracking_code}").get_data(as_text=True)
    assert "DITOLAK" in tracking and "Fotokopi KK tidak terbaca" in tracking and "Ujang" not in tracking


def test_an_issued_letter_is_found_by_number_name_and_nik_and_revoked(pages: Pages) -> None:
    letter_id = pages.letter(status="issued")
    pages.letter(name="Asep Lain", status="issued")
    number = letter_row(pages, letter_id).number
    assert number is not None
    official = pages.browser("petugas")
    official.get("/petugas/cari")
    for query in (number, "ujang", "3202091203850001"):
        html = official.post("/petugas/cari", {"q": query}).get_data(as_text=True)
        assert f"/surat/{letter_id}" in html, query
    assert "Asep Lain" not in official.post("/petugas/cari", {"q": "ujang"}).get_data(as_text=True)
    assert "Hasil: 0 surat" in official.post("/petugas/cari", {"q": "320209120385"}).get_data(as_text=True)
    other = pages.browser("petugas-lain")
    other.get("/petugas/cari")
    assert "Hasil: 0 surat" in other.post("/petugas/cari", {"q": number}).get_data(as_text=True)
    official.post(f"/petugas/surat/{letter_id}/cabut", {"reason": "Data penghasilan tidak benar"})
    assert letter_row(pages, letter_id).status == "revoked"
    history = official.get(f"/surat/{letter_id}").get_data(as_text=True)
    assert "Dicabut oleh <span class=\"mono\">official:petugas</span>: Data penghasilan tidak benar" in history


def test_the_post_downloads_the_signed_pdf_once_issued(pages: Pages) -> None:
    letter_id = pages.letter(status="issued")
    post = pages.browser("pos-a")
    row = post.get("/pos/status").get_json()["letters"][0]
    assert row["status"] == "issued" and row["pdf"] == f"/surat/{letter_id}/surat.pdf"
    download = post.get(f"/surat/{letter_id}/surat.pdf?unduh=1")
    assert download.data.startswith(b"%PDF") and download.headers["Content-Disposition"].startswith("attachment;")
    assert "3202091203850001" not in download.headers["Content-Disposition"]
    tracking_code = letter_row(pages, letter_id).tracking_code
    assert "SIAP DIAMBIL" in pages.browser().get(f"/s/{tracking_code}").get_data(as_text=True)


def test_a_failed_letter_is_retried_from_its_page(pages: Pages) -> None:
    letter_id = pages.letter(status="failed")
    official = pages.browser("petugas")
    assert f"/surat/{letter_id}" in official.get("/petugas").get_data(as_text=True)
    page = official.get(f"/surat/{letter_id}").get_data(as_text=True)
    assert "kunci rusak" in page and "Proses ulang" in page
    assert "kunci rusak" not in pages.browser("pos-a").get(f"/surat/{letter_id}").get_data(as_text=True)
    official.post(f"/petugas/surat/{letter_id}/ulang")
    assert letter_row(pages, letter_id).status == "approved"
    assert actors(pages, letter_id)[-1] == ("retried", "official:petugas")

"""The hamlet post's pages: a form generated from each letter type, the server's messages beside the fields,
the receipt with its tracking code, and the list whose statuses update."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

from sqlmodel import select

from shared.db import session_scope
from shared.letters.intake.catalog import load_catalog
from shared.letters.intake.validation import validate_request
from shared.letters.workflow.events import letter_events
from shared.models import Letter
from tests.web.conftest import Pages


def form_data(body: dict[str, Any]) -> dict[str, str]:
    """An API request body as the generated form posts it (inputs named after request paths)."""
    data: dict[str, str] = {}
    for key, value in body["applicant"].items():
        data[f"applicant.{key}"] = str(value)
    for name, value in body["fields"].items():
        if isinstance(value, list):
            data[f"fields.{name}.rows"] = str(len(value))
            for i, person in enumerate(value):
                data.update({f"fields.{name}.{i}.{k}": str(v) for k, v in person.items()})
        elif isinstance(value, dict):
            data.update({f"fields.{name}.{k}": str(v) for k, v in value.items()})
        elif isinstance(value, bool):
            if value:
                data[f"fields.{name}"] = "true"
        else:
            data[f"fields.{name}"] = str(value)
    return data


def names_in(html: str) -> set[str]:
    return set(re.findall(r'name="([^"]+)"', html))


def test_every_letter_type_gets_a_form_with_an_input_for_every_field(pages: Pages) -> None:
    browser = pages.browser("pos-a")
    for letter_type in load_catalog(pages.settings.templates_dir).types.values():
        html = browser.get(f"/pos/ajukan/{letter_type.code}").get_data(as_text=True)
        names = names_in(html)
        assert {"applicant.nik", "applicant.birth_date", "applicant.religion"} <= names
        for spec in letter_type.fields:
            expected = {"person": f"fields.{spec.name}.nik", "persons": f"fields.{spec.name}.rows"}.get(
                spec.type, f"fields.{spec.name}")
            assert expected in names, (letter_type.code, spec.name)
            assert re.search(rf'<label for="f-{re.escape(expected.replace(".", "-"))}"', html) or \
                spec.type == "persons", (letter_type.code, spec.name)


def test_the_form_submits_every_example_as_the_api_would(pages: Pages) -> None:
    """Every type's example, posted through its generated form, is stored as the JSON API would store it."""
    browser, catalog = pages.browser("pos-a"), load_catalog(pages.settings.templates_dir)
    for letter_type in catalog.types.values():
        example = pages.example(letter_type.code)
        browser.get(f"/pos/ajukan/{letter_type.code}")
        response = browser.post(f"/pos/ajukan/{letter_type.code}", form_data(example))
        assert response.status_code == 303, (letter_type.code, response.get_data(as_text=True)[:3000])
        letter_id = response.headers["Location"].split("/")[2]
        with session_scope(pages.settings) as session:
            letter = session.get(Letter, uuid.UUID(letter_id))
            assert letter is not None
            stored = validate_request(example, catalog, today=date.today())
            assert (letter.applicant, letter.fields) == (stored.applicant, stored.fields), letter_type.code
            assert [e.actor for e in letter_events(session, letter.id)] == ["post:pos-a"]


def test_the_form_lists_the_documents_the_letter_type_requires(pages: Pages) -> None:
    """A post sees what to bring before it sends the request (the letter page then takes the scans)."""
    html = pages.browser("pos-a").get("/pos/ajukan/kelahiran").get_data(as_text=True)
    section = html[html.index('id="syarat"'):html.index("</section>", html.index('id="syarat"'))]
    for label in ("KTP-el pelapor", "Kartu Keluarga (KK)",
                  "Surat keterangan lahir dari bidan, puskesmas atau rumah sakit",
                  "Buku nikah atau akta perkawinan orang tua"):
        assert f"<li>{label}</li>" in section, section


def test_a_bad_nik_is_named_beside_its_field_and_the_typed_values_stay(pages: Pages) -> None:
    browser = pages.browser("pos-a")
    data = form_data(pages.example())
    data["applicant.nik"] = "320209120385000"  # 15 digits
    browser.get("/pos/ajukan/sktm")
    response = browser.post("/pos/ajukan/sktm", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    field = re.search(r'<input id="f-applicant-nik"[^>]*>', html, re.S)
    assert field and 'value="320209120385000"' in field.group(0) and 'aria-invalid="true"' in field.group(0)
    assert re.search(r'<span class="error" id="f-applicant-nik-galat">[^<]*16', html)
    assert 'value="Ujang Contoh"' in html  # the other values are kept
    assert 'value="Persyaratan pengajuan keringanan biaya pengobatan di RSUD Sekarwangi"' in html
    with session_scope(pages.settings) as session:
        assert session.exec(select(Letter)).all() == []


def test_rows_of_a_persons_table_are_added_and_removed_without_losing_the_others(pages: Pages) -> None:
    browser = pages.browser("pos-a")
    data = form_data(pages.example())
    browser.get("/pos/ajukan/sktm")
    added = browser.post("/pos/ajukan/sktm", {**data, "action": "add:household_members"}).get_data(as_text=True)
    assert 'name="fields.household_members.rows" value="3"' in added
    assert 'name="fields.household_members.2.nik"' in added
    removed = browser.post("/pos/ajukan/sktm", {**data, "action": "remove:household_members:0"})
    html = removed.get_data(as_text=True)
    assert 'name="fields.household_members.rows" value="1"' in html
    assert 'value="Dewi Contohwati"' in html and 'value="Euis Contohwati"' not in html


def test_a_form_sent_twice_makes_one_letter(pages: Pages) -> None:
    browser = pages.browser("pos-a")
    html = browser.get("/pos/ajukan/sktm").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    data = {**form_data(pages.example()), "idempotency_key": key}
    first, second = browser.post("/pos/ajukan/sktm", data), browser.post("/pos/ajukan/sktm", data)
    assert first.headers["Location"] == second.headers["Location"]
    with session_scope(pages.settings) as session:
        assert len(session.exec(select(Letter)).all()) == 1


def test_the_receipt_carries_the_tracking_code_and_its_qr(pages: Pages) -> None:
    browser = pages.browser("pos-a")
    browser.get("/pos/ajukan/sktm")
    location = browser.post("/pos/ajukan/sktm", form_data(pages.example())).headers["Location"]
    html = browser.get(location).get_data(as_text=True)
    code = re.search(r'id="kode-lacak">([A-Z0-9-]{14})<', html).group(1)  # type: ignore[union-attr]
    with session_scope(pages.settings) as session:
        [letter] = session.exec(select(Letter)).all()
        assert letter.tracking_code == code.replace("-", "")
    assert "<svg" in html and f"/s/{code}" in html
    assert "3202091203850001" not in html  # the receipt names the resident, never their NIK


def test_the_list_shows_the_posts_own_letters_and_their_status_as_json(pages: Pages) -> None:
    mine, other = pages.browser("pos-a"), pages.browser("pos-b")
    mine.get("/pos/ajukan/sktm")
    mine.post("/pos/ajukan/sktm", form_data(pages.example()))
    assert "Ujang Contoh" in mine.get("/pos").get_data(as_text=True)
    assert "Ujang Contoh" not in other.get("/pos").get_data(as_text=True)
    [row] = mine.get("/pos/status").get_json()["letters"]
    assert row["status"] == "submitted" and row["pdf"] is None
    assert other.get("/pos/status").get_json()["letters"] == []

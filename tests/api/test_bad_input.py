"""What bad input gets: 400 for what is not JSON, 413 for too much, 422 naming the field for the rest."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlmodel import select

from shared.db import session_scope
from shared.letters.intake.catalog import load_catalog
from shared.models import Letter
from tests.api.conftest import Api
from tests.api.test_letters_api import assert_problem
from tests.api.world import World
from tests.pdftools import pdf_text_flat

NESTED = b"[" * 100_000 + b"]" * 100_000


def with_applicant(api: Api, **changes: Any) -> dict[str, Any]:
    body = api.example()
    body["applicant"].update(changes)
    return body


def first_household_member(api: Api, **changes: Any) -> dict[str, Any]:
    body = api.example()
    body["fields"]["household_members"] = [{**body["fields"]["household_members"][0], **changes}]
    return body


@pytest.mark.parametrize("raw, content_type", [
    (b"{nope", "application/json"),
    (b'{"type": NaN}', "application/json"),  # Python reads NaN; JSON has none
    (NESTED, "application/json"),  # deeper than any parser recursion
    (b"\xff\xfe{}", "application/json"),  # not UTF-8
    (b'{"type": "sktm", "\\ud800": 1}', "application/json"),  # a lone surrogate, here in a key
    (b'{"type": "\\udfff"}', "application/json"),
    (b'{"type": 1' + b"0" * 5000 + b"}", "application/json"),  # an integer of 5000 digits
    (b"type=sktm", "application/x-www-form-urlencoded"),
    (b"{}", "text/plain"),
])
def test_what_is_not_json_is_a_400(api: Api, raw: bytes, content_type: str) -> None:
    response = api.call("POST", "/api/v1/letters", "post_a", data=raw, content_type=content_type)
    problem = assert_problem(response, 400)
    assert "JSON" in problem["detail"]


def test_over_one_megabyte_is_a_413_on_every_body(api: Api) -> None:
    huge = b'{"reason": "' + b"x" * (1024 * 1024) + b'"}'
    for path in ("/api/v1/letters", f"/api/v1/letters/{uuid.uuid4()}/reject"):
        assert_problem(api.call("POST", path, "official", data=huge, content_type="application/json"), 413)


CASES = [
    ("unknown top-level field", lambda api: {**api.example(), "admin": True}, "admin"),
    ("unknown applicant field", lambda api: with_applicant(api, role="kades"), "applicant.role"),
    ("number for a name", lambda api: with_applicant(api, name=12345), "applicant.name"),
    ("null for a name", lambda api: with_applicant(api, name=None), "applicant.name"),
    ("list for a name", lambda api: with_applicant(api, name=["Ujang"]), "applicant.name"),
    ("name over 100 characters", lambda api: with_applicant(api, name="A" * 101), "applicant.name"),
    ("address over 200 characters", lambda api: with_applicant(api, address="Kp. " * 51), "applicant.address"),
    ("birth date in the future", lambda api: with_applicant(api, birth_date="2999-01-01"), "applicant.birth_date"),
    ("impossible birth date", lambda api: with_applicant(api, birth_date="1985-02-30"), "applicant.birth_date"),
    ("birth date as a number", lambda api: with_applicant(api, birth_date=19850312), "applicant.birth_date"),
    ("sex outside the enum", lambda api: with_applicant(api, sex="X"), "applicant.sex"),
    ("religion outside the enum", lambda api: with_applicant(api, religion="Jedi"), "applicant.religion"),
    ("marital status outside", lambda api: with_applicant(api, marital_status="Menikah"), "applicant.marital_status"),
    ("NUL in a name", lambda api: with_applicant(api, name="Ujang\x00Contoh"), "applicant.name"),
    ("newline inside an address", lambda api: with_applicant(api, address="Kp. A\nRT 1"), "applicant.address"),
    ("line separator in an address", lambda api: with_applicant(api, address="Kp. A\u2028RT 1"), "applicant.address"),
    ("huge integer for a NIK", lambda api: with_applicant(api, nik=10**40), "applicant.nik"),
    ("NIK of 15 digits", lambda api: with_applicant(api, nik="320209120385000"), "applicant.nik"),
    ("purpose over 200 characters", lambda api: {**api.example(), "fields": {"purpose": "x" * 201}},
     "fields.purpose"),
    ("unknown type", lambda api: {**api.example(), "type": "<script>"}, "type"),
    ("type as a huge integer", lambda api: {**api.example(), "type": 10**30}, "type"),
    ("applicant as nested arrays", lambda api: {**api.example(), "applicant": [[[[[]]]]]}, "applicant"),
    ("NUL in a household member's name", lambda api: first_household_member(api, name="Euis\x00"),
     "fields.household_members.0.name"),
    ("unknown field in a household member", lambda api: first_household_member(api, salary=1),
     "fields.household_members.0.salary"),
]


@pytest.mark.parametrize("make, field", [(make, field) for _, make, field in CASES], ids=[c[0] for c in CASES])
def test_a_bad_letter_request_is_a_422_naming_the_field_and_stores_nothing(api: Api, make: Any, field: str) -> None:
    problem = assert_problem(api.call("POST", "/api/v1/letters", "post_a", json=make(api)), 422)
    assert field in [error["field"] for error in problem["errors"]], problem["errors"]
    assert all(error["message"] for error in problem["errors"])
    with session_scope(api.settings) as session:
        assert session.exec(select(Letter)).all() == []


@pytest.mark.parametrize("body, field", [
    ({}, "reason"),
    ({"reason": None}, "reason"),
    ({"reason": 42}, "reason"),
    ({"reason": "ok"}, "reason"),
    ({"reason": "x" * 501}, "reason"),
    ({"reason": "Data\x00keliru"}, "reason"),
    ({"reason": "Data keliru", "force": True}, "force"),
    (["Data keliru"], "(body)"),
])
def test_a_bad_reason_is_a_422_naming_the_field(api: Api, body: Any, field: str) -> None:
    letter_id = api.call("POST", "/api/v1/letters", "post_a", json=api.example()).get_json()["id"]
    for action in ("reject", "revoke"):
        response = api.call("POST", f"/api/v1/letters/{letter_id}/{action}", "official", json=body)
        assert [error["field"] for error in assert_problem(response, 422)["errors"]] == [field]


@pytest.mark.parametrize("query, field", [
    ("limit=%C2%B2", "limit"),  # a superscript two: str.isdigit() says yes, int() says no
    ("limit=0", "limit"),
    ("limit=" + "9" * 40, "limit"),
    ("limit=abc", "limit"),
    ("status=%00", "status"),
    ("status=issued%00", "status"),
    ("type=sktm%00", "type"),
    ("type=nope", "type"),
    ("cursor=" + "W1tb" * 300, "cursor"),  # over 200 characters
    ("cursor=" + "WzEsMl0", "cursor"),  # base64 of [1,2]: JSON of the wrong shape
    ("cursor=" + "eyJhIjogMX0", "cursor"),  # base64 of {"a": 1}
    ("cursor=%F0%9F%98%80", "cursor"),
    ("sort=-id", "sort"),
])
def test_a_bad_query_string_is_a_422_naming_the_parameter(api: Api, query: str, field: str) -> None:
    response = api.call("GET", f"/api/v1/letters?{query}", "post_a")
    assert [error["field"] for error in assert_problem(response, 422)["errors"]] == [field]


def test_names_with_apostrophes_hyphens_and_accents_are_kept_exactly(api: Api) -> None:
    names = ["Nur'aini", "Siti-Rahmah binti Ahmad", "Ñuñez Þór Ægir", "O’Neil ‘Ucok’"]
    for name in names:
        response = api.call("POST", "/api/v1/letters", "post_a", json=with_applicant(api, name=name))
        assert response.status_code == 202, response.get_json()
        assert response.get_json()["applicant"]["name"] == name
    with session_scope(api.settings) as session:
        assert sorted(letter.applicant["name"] for letter in session.exec(select(Letter))) == sorted(names)


def invisible_in(problem: dict[str, Any], field: str, code_point: str) -> bool:
    """Whether the 422 names field with the Indonesian message that quotes the invisible character."""
    return {"field": field, "message": "tidak boleh berisi karakter tak terlihat atau pengubah arah teks "
            f"({code_point})"} in problem["errors"]


def in_fields(api: Api, **changes: Any) -> dict[str, Any]:
    body = api.example()
    body["fields"].update(changes)
    return body


@pytest.mark.parametrize("make, field, code_point", [
    (lambda api: with_applicant(api, name="Ujang \u202eotnoC"), "applicant.name", "U+202E"),  # right-to-left override
    (lambda api: with_applicant(api, name="Ujang\u2066 Contoh\u2069"), "applicant.name", "U+2066"),  # an isolate
    (lambda api: with_applicant(api, address="Kp. Cijengkol RT 002\u200e/RW 005"), "applicant.address", "U+200E"),
    (lambda api: with_applicant(api, birth_place="Suka\u00adbumi"), "applicant.birth_place", "U+00AD"),
    (lambda api: with_applicant(api, occupation="\ufeffPetani"), "applicant.occupation", "U+FEFF"),
    (lambda api: with_applicant(api, nationality="WNI\u2060"), "applicant.nationality", "U+2060"),
    (lambda api: with_applicant(api, name="Ujang\u3164Contoh"), "applicant.name", "U+3164"),  # a Hangul filler
    (lambda api: first_household_member(api, name="Euis\u200bContohwati"), "fields.household_members.0.name",
     "U+200B"),
    (lambda api: first_household_member(api, relation="Istri\u200d"), "fields.household_members.0.relation",
     "U+200D"),
    (lambda api: in_fields(api, purpose="Persyaratan \u202dbeasiswa"), "fields.purpose", "U+202D"),
    (lambda api: in_fields(api, dtks_number="320209\u200c2001"), "fields.dtks_number", "U+200C"),  # under a pattern
], ids=lambda value: value if isinstance(value, str) else "")
def test_invisible_or_direction_changing_characters_are_a_422_naming_the_field(
        api: Api, make: Any, field: str, code_point: str) -> None:
    problem = assert_problem(api.call("POST", "/api/v1/letters", "post_a", json=make(api)), 422)
    assert invisible_in(problem, field, code_point), problem["errors"]
    with session_scope(api.settings) as session:
        assert session.exec(select(Letter)).all() == []


def test_every_letter_types_text_fields_refuse_invisible_characters(api: Api) -> None:
    checked = []
    for code, letter_type in load_catalog(api.settings.templates_dir).types.items():
        body = api.example(code)
        texts = [spec.name for spec in letter_type.fields if spec.type == "text"]
        for name in texts:
            body["fields"][name] = "12\u200b" + str(body["fields"].get(name, "34"))
        if texts:
            problem = assert_problem(api.call("POST", "/api/v1/letters", "post_a", json=body), 422)
            assert all(invisible_in(problem, f"fields.{name}", "U+200B") for name in texts), (code, problem)
            checked += texts
    assert len(checked) >= 9, checked


def test_a_reason_with_a_byte_order_mark_is_a_422_naming_reason(api: Api) -> None:
    letter_id = api.call("POST", "/api/v1/letters", "post_a", json=api.example()).get_json()["id"]
    for action in ("reject", "revoke"):
        response = api.call("POST", f"/api/v1/letters/{letter_id}/{action}", "official",
                            json={"reason": "Data \ufeffkeliru"})
        assert invisible_in(assert_problem(response, 422), "reason", "U+FEFF")


@pytest.mark.parametrize("query, field, code_point", [
    ("type=sktm%E2%80%AE", "type", "U+202E"),
    ("cursor=%E2%80%8B", "cursor", "U+200B"),
])
def test_a_query_string_with_an_invisible_character_is_a_422_naming_it(
        api: Api, query: str, field: str, code_point: str) -> None:
    problem = assert_problem(api.call("GET", f"/api/v1/letters?{query}", "post_a"), 422)
    assert invisible_in(problem, field, code_point), problem["errors"]


def test_text_is_stored_composed_with_plain_spaces(api: Api) -> None:
    body = with_applicant(api, name="Jose\u0301 Nun\u0303ez", address="Kp.\u00a0Cijengkol\u3000RT\u2009002")
    response = api.call("POST", "/api/v1/letters", "post_a", json=body)
    assert response.status_code == 202, response.get_json()
    letter_id = response.get_json()["id"]
    applicant = api.call("GET", f"/api/v1/letters/{letter_id}", "official").get_json()["applicant"]
    composed = ("Jos\u00e9 Nu\u00f1ez", "Kp. Cijengkol RT 002")
    assert (applicant["name"], applicant["address"]) == composed
    World(api).draft(letter_id)
    reason = api.call("POST", f"/api/v1/letters/{letter_id}/reject", "official", json={"reason": "Data\u00a0keliru"})
    assert reason.status_code == 200 and reason.get_json()["reason"] == "Data keliru"
    with session_scope(api.settings) as session:
        stored = session.get(Letter, uuid.UUID(letter_id))
        assert stored is not None
        assert (stored.applicant["name"], stored.applicant["address"]) == composed
        assert stored.reason == "Data keliru"


REAL_NAMES = ["Nur'aini", "Siti-Rahmah", "Ñuñez", "I Gusti Ayu Ngurah", "Muh. Rizky", "O’Neil"]


def test_real_names_are_accepted_and_printed_as_typed(api: Api) -> None:
    body = with_applicant(api, name="Jose\u0301 Nur'aini")  # decomposed: printed as the composed José
    body["fields"]["household_members"] = [{**body["fields"]["household_members"][0], "name": name}
                                           for name in REAL_NAMES]
    response = api.call("POST", "/api/v1/letters", "post_a", json=body)
    assert response.status_code == 202, response.get_json()
    letter_id = response.get_json()["id"]
    World(api).draft(letter_id)
    pdf = api.call("GET", f"/api/v1/letters/{letter_id}/draft.pdf", "official")
    assert pdf.status_code == 200
    text = pdf_text_flat(pdf.data)
    for name in ["Jos\u00e9 Nur'aini", *REAL_NAMES]:
        assert name in text, (name, text)

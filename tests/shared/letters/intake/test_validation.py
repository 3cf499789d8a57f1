"""Validation of letter requests: shapes, limits, NIK rules, messages naming the field at fault."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

import pytest
from pydantic_core import PydanticCustomError

from shared.config import Settings
from shared.errors import ValidationFailed
from shared.letters.intake.catalog import load_catalog
from shared.letters.intake.nik import mask_nik, nik_agreement_problem, nik_shape_problem
from shared.letters.intake.schemas import plain_text
from shared.letters.intake.validation import example_request, validate_request

TODAY = date(2026, 11, 27)  # the village's today the requests are judged by


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(Settings().templates_dir)


@pytest.fixture
def sktm(catalog) -> dict[str, Any]:
    return copy.deepcopy(example_request(catalog.get("sktm")))


def errors_of(body: Any, catalog) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        validate_request(body, catalog, today=TODAY)
    return {e.field: e.message for e in caught.value.errors}


def test_every_example_is_valid(catalog) -> None:
    for letter_type in catalog.types.values():
        request = validate_request(example_request(letter_type), catalog, today=TODAY)
        assert request.letter_type.code == letter_type.code
        assert request.applicant["nik"] == example_request(letter_type)["applicant"]["nik"]


def test_missing_nik_names_applicant_nik(sktm, catalog) -> None:
    del sktm["applicant"]["nik"]
    assert errors_of(sktm, catalog) == {"applicant.nik": "wajib diisi"}


@pytest.mark.parametrize("nik", ["123", "32020912038500011", "320209120385000A", 3202091203850001])
def test_nik_must_be_sixteen_digits(sktm, catalog, nik) -> None:
    sktm["applicant"]["nik"] = nik
    assert "applicant.nik" in errors_of(sktm, catalog)


def test_nik_contradicting_sex_or_birth_date_is_refused(sktm, catalog) -> None:
    sktm["applicant"]["sex"] = "P"
    assert errors_of(sktm, catalog) == {"applicant.nik": "jenis kelamin tidak sesuai dengan NIK"}
    sktm["applicant"]["sex"] = "L"
    sktm["applicant"]["birth_date"] = "1985-03-13"
    assert errors_of(sktm, catalog) == {"applicant.nik": "tanggal lahir tidak sesuai dengan NIK"}


def test_nik_rules() -> None:
    assert nik_shape_problem("3202094506900001") is None
    assert "provinsi" in (nik_shape_problem("9902094506900001") or "")
    assert nik_shape_problem("3202094506900000") is not None  # serial 0000
    assert nik_shape_problem("3202099906900001") is not None  # day 99
    assert nik_agreement_problem("3202094506900001", birth_date=date(1990, 6, 5), sex="P") is None
    assert nik_agreement_problem("3202094506900001", birth_date=date(1990, 6, 5), sex="L") is not None
    assert mask_nik("3202094506900001") == "3202**********01"


def test_unknown_type_and_fields_are_named(sktm, catalog) -> None:
    assert set(errors_of({**sktm, "type": "surat_sakti"}, catalog)) == {"type"}
    sktm["fields"]["color"] = "red"
    sktm["applicant"]["hobby"] = "x"
    sktm["extra"] = 1
    assert set(errors_of(sktm, catalog)) == {"fields.color", "applicant.hobby", "extra"}


def test_limits_enums_and_dates(sktm, catalog) -> None:
    sktm["applicant"]["name"] = "x" * 101
    sktm["applicant"]["religion"] = "Jedi"
    sktm["applicant"]["birth_date"] = (TODAY + timedelta(days=1)).isoformat()
    sktm["fields"]["purpose"] = "   "
    errors = errors_of(sktm, catalog)
    assert errors["applicant.name"] == "paling banyak 100 karakter"
    assert errors["applicant.religion"].startswith("harus salah satu dari")
    assert errors["applicant.birth_date"] == "tanggal tidak boleh di masa depan"
    assert errors["fields.purpose"] == "tidak boleh kosong"


@pytest.mark.parametrize("value", ["12-03-1985", "1985/03/12", 19850312, "1985-02-30"])
def test_dates_must_be_iso(sktm, catalog, value) -> None:
    sktm["applicant"]["birth_date"] = value
    assert "applicant.birth_date" in errors_of(sktm, catalog)


def test_persons_inside_fields_are_checked(sktm, catalog) -> None:
    sktm["fields"]["household_members"] = [
        {"nik": "3202094506900001", "name": "Siti", "birth_date": "1990-06-05", "sex": "P"},
        {"nik": "3202094506900002", "name": "Asep", "sex": "L"},
    ]
    assert errors_of(sktm, catalog) == {"fields.household_members.1.nik": "jenis kelamin tidak sesuai dengan NIK"}


def test_body_must_be_an_object(catalog) -> None:
    assert errors_of([1, 2], catalog) == {"(body)": "isi permintaan harus berupa objek JSON"}


def test_ascii_text_is_stored_as_written_and_the_rest_normalised() -> None:
    """The ASCII fast path of plain_text keeps every ASCII character (controls are refused later, by
    _printable); text with anything else is still NFC-normalised, its spaces plain, its invisible characters
    refused."""
    everything_ascii = "".join(map(chr, range(128)))
    assert plain_text(everything_ascii) == everything_ascii
    assert plain_text("Jose\u0301\u00a0Nun\u0303ez") == "Jos\u00e9 Nu\u00f1ez"
    with pytest.raises(PydanticCustomError):
        plain_text("Budi\u200bContoh")


def test_names_with_apostrophes_hyphens_and_accents_pass(sktm, catalog) -> None:
    for name in ("Nur'aini", "Siti-Rahmah", "Ñoño Peña"):
        sktm["applicant"]["name"] = name
        assert validate_request(sktm, catalog, today=TODAY).applicant["name"] == name

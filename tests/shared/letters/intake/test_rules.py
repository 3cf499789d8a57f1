"""Checks on people: NIK agreement inside fields, the Kartu Sehat Desa groups, parents, never-married status."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from shared.config import Settings
from shared.errors import ValidationFailed
from shared.letters.intake.catalog import load_catalog
from shared.letters.intake.rules import age_on
from shared.letters.intake.validation import example_request, validate_request

TODAY = date(2026, 11, 28)  # the issue date the checks judge by


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(Settings().templates_dir)


def nik_for(birth: date, sex: str, serial: int = 1) -> str:
    """A Kabupaten Sukabumi NIK that agrees with birth date and sex (women's day + 40)."""
    day = birth.day + (40 if sex == "P" else 0)
    return f"320209{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial:04d}"


def request_for(catalog, code: str, **fields: Any) -> dict[str, Any]:
    body = copy.deepcopy(example_request(catalog.get(code)))
    body["fields"].update(fields)
    return body


def with_applicant(body: dict[str, Any], birth: date, sex: str) -> dict[str, Any]:
    body["applicant"].update(birth_date=birth.isoformat(), sex=sex, nik=nik_for(birth, sex))
    return body


def errors_of(body: dict[str, Any], catalog) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        validate_request(body, catalog, today=TODAY)
    return {e.field: e.message for e in caught.value.errors}


def test_every_example_passes_its_checks_on_the_issue_date(catalog) -> None:
    assert set(catalog.types) == {"sktm", "domisili", "usaha", "pengantar", "kelahiran", "kematian", "pindah",
                                  "belum_menikah", "kartu_sehat_desa"}
    for letter_type in catalog.types.values():
        assert validate_request(example_request(letter_type), catalog, today=TODAY).letter_type is letter_type


def test_a_forty_year_old_is_refused_under_lansia(catalog) -> None:
    body = with_applicant(request_for(catalog, "kartu_sehat_desa", category="lansia"), date(1986, 6, 1), "L")
    assert errors_of(body, catalog) == {
        "fields.category": "kelompok lansia hanya untuk pemohon berusia 55 tahun atau lebih; usia pemohon 40 tahun"}


def test_lansia_counts_age_on_the_issue_date(catalog) -> None:
    fifty_five_today = with_applicant(request_for(catalog, "kartu_sehat_desa", category="lansia"),
                                      date(1971, 11, 28), "P")
    assert validate_request(fifty_five_today, catalog, today=TODAY).fields["category"] == "lansia"
    tomorrow = with_applicant(request_for(catalog, "kartu_sehat_desa", category="lansia"), date(1971, 11, 29), "P")
    assert "usia pemohon 54 tahun" in errors_of(tomorrow, catalog)["fields.category"]
    assert age_on(date(1971, 11, 29), TODAY) == 54


def test_a_man_is_refused_under_ibu_hamil_menyusui(catalog) -> None:
    body = request_for(catalog, "kartu_sehat_desa", category="ibu_hamil_menyusui")
    assert errors_of(body, catalog) == {
        "fields.category": "kelompok ibu hamil dan menyusui hanya untuk pemohon perempuan"}
    woman = with_applicant(body, date(1996, 4, 9), "P")
    assert validate_request(woman, catalog, today=TODAY).applicant["sex"] == "P"


def test_kis_and_pkh_holders_are_refused_where_the_group_excludes_them(catalog) -> None:
    with_kis = request_for(catalog, "kartu_sehat_desa", category="miskin_tanpa_kis", has_kis=True)
    assert errors_of(with_kis, catalog) == {
        "fields.has_kis": "kelompok keluarga miskin tanpa KIS hanya untuk yang belum memiliki KIS"}
    with_pkh = request_for(catalog, "kartu_sehat_desa", category="prasejahtera_non_pkh", has_pkh=True)
    assert errors_of(with_pkh, catalog) == {
        "fields.has_pkh": "kelompok pra-sejahtera non-PKH hanya untuk yang bukan penerima PKH"}
    # a KIS does not matter to the PKH group, nor a PKH to the KIS group
    assert validate_request(request_for(catalog, "kartu_sehat_desa", category="prasejahtera_non_pkh", has_kis=True),
                            catalog, today=TODAY)


def test_penyakit_berat_needs_the_illness_named(catalog) -> None:
    body = request_for(catalog, "kartu_sehat_desa", category="penyakit_berat")
    assert set(errors_of(body, catalog)) == {"fields.illness"}
    body["fields"]["illness"] = "Gagal ginjal kronis"
    assert validate_request(body, catalog, today=TODAY).fields["illness"] == "Gagal ginjal kronis"


def test_unknown_category_lists_the_five_groups(catalog) -> None:
    message = errors_of(request_for(catalog, "kartu_sehat_desa", category="pejabat"), catalog)["fields.category"]
    for group in ("prasejahtera_non_pkh", "miskin_tanpa_kis", "ibu_hamil_menyusui", "lansia", "penyakit_berat"):
        assert group in message


def test_nik_contradicting_sex_or_birth_date_is_refused(catalog) -> None:
    body = request_for(catalog, "belum_menikah")
    body["applicant"]["sex"] = "L"  # the example's NIK is a woman's
    assert errors_of(body, catalog) == {"applicant.nik": "jenis kelamin tidak sesuai dengan NIK"}
    body = request_for(catalog, "belum_menikah")
    body["applicant"]["birth_date"] = "2001-07-16"
    assert errors_of(body, catalog) == {"applicant.nik": "tanggal lahir tidak sesuai dengan NIK"}


def test_the_deceased_nik_must_agree_with_the_stated_birth_date(catalog) -> None:
    body = request_for(catalog, "kematian")
    body["fields"]["deceased"]["birth_date"] = "1948-02-02"
    assert errors_of(body, catalog) == {"fields.deceased.nik": "tanggal lahir tidak sesuai dengan NIK"}


def test_a_birth_needs_a_womans_nik_for_the_mother(catalog) -> None:
    body = request_for(catalog, "kelahiran", mother={"nik": "3202091203850001", "name": "Ujang Contoh"},
                       father={"nik": "3202094506900003", "name": "Euis Contohwati"})
    assert set(errors_of(body, catalog)) == {"fields.mother.nik", "fields.father.nik"}


def test_births_and_deaths_cannot_lie_in_the_future(catalog) -> None:
    body = request_for(catalog, "kelahiran", birth_date="2999-01-01")
    assert errors_of(body, catalog) == {"fields.birth_date": "tanggal tidak boleh di masa depan"}


def test_a_married_applicant_cannot_get_a_belum_menikah_letter(catalog) -> None:
    body = request_for(catalog, "belum_menikah")
    body["applicant"]["marital_status"] = "Cerai Hidup"
    assert errors_of(body, catalog) == {
        "applicant.marital_status": "surat keterangan belum menikah hanya untuk status perkawinan Belum Kawin"}


def test_pindah_destination_goes_down_to_rt_rw(catalog) -> None:
    body = request_for(catalog, "pindah", dest_rt_rw="RT 4")
    assert errors_of(body, catalog) == {"fields.dest_rt_rw": "formatnya tidak sesuai"}
    del body["fields"]["dest_province"]
    assert "fields.dest_province" in errors_of(body, catalog)

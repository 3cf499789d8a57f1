"""The catalog over HTTP: the nine letter types with valid examples, and a Kartu Sehat Desa refusal as 422."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from tests.api.conftest import Api
from tests.api.test_letters_api import assert_problem

NINE = {"sktm", "domisili", "usaha", "pengantar", "kelahiran", "kematian", "pindah", "belum_menikah",
        "kartu_sehat_desa"}


def test_letter_types_lists_the_nine_with_their_examples(api: Api) -> None:
    response = api.call("GET", "/api/v1/letter-types", "post_a")
    assert response.status_code == 200
    types = {t["code"]: t for t in response.get_json()}
    assert set(types) == NINE
    assert types["kelahiran"]["classification"] == "474.1" and types["kematian"]["classification"] == "474.3"
    category = next(f for f in types["kartu_sehat_desa"]["fields"] if f["name"] == "category")
    assert set(category["options"]) == {"prasejahtera_non_pkh", "miskin_tanpa_kis", "ibu_hamil_menyusui", "lansia",
                                        "penyakit_berat"}
    assert all(t["example"]["type"] == code and t["approval"] for code, t in types.items())


def test_a_forty_year_old_under_lansia_is_refused_naming_the_field(api: Api) -> None:
    today = datetime.now(ZoneInfo("Asia/Jakarta")).date()  # the village's today (WIB)
    born = date(today.year - 40, today.month, min(today.day, 28))
    body = api.example("kartu_sehat_desa")
    nik = f"320209{born.day:02d}{born.month:02d}{born.year % 100:02d}0007"
    body["applicant"].update(nik=nik, birth_date=born.isoformat(), sex="L")
    body["fields"]["category"] = "lansia"
    problem = assert_problem(api.call("POST", "/api/v1/letters", "post_a", json=body), 422)
    assert problem["errors"] == [{"field": "fields.category", "message": "kelompok lansia hanya untuk pemohon "
                                  "berusia 55 tahun atau lebih; usia pemohon 40 tahun"}]
    body["fields"]["category"] = "ibu_hamil_menyusui"
    problem = assert_problem(api.call("POST", "/api/v1/letters", "post_a", json=body), 422)
    assert [e["field"] for e in problem["errors"]] == ["fields.category"]

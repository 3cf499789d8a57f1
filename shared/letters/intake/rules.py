"""Checks a letter type names in its template (`checks = [...]`): who may receive the letter, and when."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from pydantic import BaseModel

from shared.errors import FieldError
from shared.letters.intake.schemas import Applicant

# A check sees the validated applicant and fields and the issue date; it returns the fields at fault.
Check = Callable[[Applicant, BaseModel, date], list[FieldError]]

ELDERLY_AGE = 55  # Kartu Sehat Desa: "lansia" is from age 55


def age_on(birth_date: date, day: date) -> int:
    """Whole years between birth_date and day (the birthday itself counts)."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def nik_is_female(nik: str) -> bool:
    """A woman's NIK has 40 added to the day of birth."""
    return int(nik[6:8]) > 40


def kartu_sehat_desa(applicant: Applicant, fields: BaseModel, today: date) -> list[FieldError]:
    """The programme's target groups, from DOMAIN.md: each group has its own condition."""
    category: Any = getattr(fields, "category", None)
    problems = {
        "lansia": _elderly_problem(applicant, today),
        "ibu_hamil_menyusui": _mother_problem(applicant),
        "miskin_tanpa_kis": ("fields.has_kis", "kelompok keluarga miskin tanpa KIS hanya untuk yang belum "
                             "memiliki KIS") if getattr(fields, "has_kis", False) else None,
        "prasejahtera_non_pkh": ("fields.has_pkh", "kelompok pra-sejahtera non-PKH hanya untuk yang bukan "
                                 "penerima PKH") if getattr(fields, "has_pkh", False) else None,
        "penyakit_berat": None if getattr(fields, "illness", None) else (
            "fields.illness", "wajib diisi untuk kelompok keluarga miskin dengan penyakit kronis atau berat"),
    }
    problem = problems.get(category)
    return [FieldError(*problem)] if problem else []


def _elderly_problem(applicant: Applicant, today: date) -> tuple[str, str] | None:
    age = age_on(applicant.birth_date, today)
    if age >= ELDERLY_AGE:
        return None
    return ("fields.category", f"kelompok lansia hanya untuk pemohon berusia {ELDERLY_AGE} tahun atau lebih; "
                               f"usia pemohon {age} tahun")


def _mother_problem(applicant: Applicant) -> tuple[str, str] | None:
    if applicant.sex == "P":
        return None
    return ("fields.category", "kelompok ibu hamil dan menyusui hanya untuk pemohon perempuan")


def kelahiran(applicant: Applicant, fields: BaseModel, today: date) -> list[FieldError]:
    """The mother's NIK must be a woman's and the father's a man's."""
    errors = []
    mother, father = getattr(fields, "mother", None), getattr(fields, "father", None)
    if mother is not None and not nik_is_female(mother.nik):
        errors.append(FieldError("fields.mother.nik", "NIK ibu harus NIK perempuan (tanggal lahir ditambah 40)"))
    if father is not None and nik_is_female(father.nik):
        errors.append(FieldError("fields.father.nik", "NIK ayah tidak boleh NIK perempuan"))
    return errors


def belum_menikah(applicant: Applicant, fields: BaseModel, today: date) -> list[FieldError]:
    """Only someone who has never married: status Belum Kawin, stated."""
    if applicant.marital_status == "Belum Kawin":
        return []
    return [FieldError("applicant.marital_status",
                       "surat keterangan belum menikah hanya untuk status perkawinan Belum Kawin")]


CHECKS: dict[str, Check] = {
    "kartu_sehat_desa": kartu_sehat_desa,
    "kelahiran": kelahiran,
    "belum_menikah": belum_menikah,
}


def run_checks(names: list[str], applicant: Applicant, fields: BaseModel, today: date) -> list[FieldError]:
    """Every named check's refusals, in the order the template lists them."""
    return [error for name in names for error in CHECKS[name](applicant, fields, today)]

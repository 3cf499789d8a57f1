"""The NIK (Nomor Induk Kependudukan): shape, province, and the birth date and sex it encodes."""

from __future__ import annotations

import re
from datetime import date

# The NIK's shape, the one definition: intake validates against it and documents it in the JSON schema.
NIK_SHAPE = r"^[0-9]{16}$"
_NIK = re.compile(NIK_SHAPE)
# A NIK (or a family-card number) inside free text: 16 digits standing alone, and not the fraction of a
# number (Celery logs "succeeded in 0.0123456789012345s"). Letter ids are UUIDs with dashes, which never hold
# 16 digits in a row.
_NIK_IN_TEXT = re.compile(r"(?<!\d)(?<!\d\.)\d{16}(?!\d)")

# Province codes of Kemendagri (BPS), including the Papua provinces created in 2022.
PROVINCE_CODES = frozenset({
    11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53,
    61, 62, 63, 64, 65, 71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96,
})


def nik_shape_problem(nik: str) -> str | None:
    """Why nik cannot be a NIK at all, in Indonesian, or None."""
    if not _NIK.match(nik):
        return "NIK harus terdiri dari 16 angka"
    if int(nik[:2]) not in PROVINCE_CODES:
        return f"kode provinsi {nik[:2]} pada NIK tidak dikenal"
    if nik[12:] == "0000":
        return "nomor urut pada NIK tidak boleh 0000"
    day, month = int(nik[6:8]), int(nik[8:10])
    if not (1 <= day % 40 <= 31 and day <= 71 and 1 <= month <= 12):
        return "tanggal lahir pada NIK tidak valid"
    return None


def nik_agreement_problem(nik: str, *, birth_date: date | None, sex: str | None) -> str | None:
    """Why a well-formed nik contradicts the stated birth date or sex (women's day has 40 added)."""
    day = int(nik[6:8])
    encoded_sex = "P" if day > 40 else "L"
    if sex is not None and sex != encoded_sex:
        return "jenis kelamin tidak sesuai dengan NIK"
    if birth_date is not None:
        encoded = (day % 40 if day > 40 else day, int(nik[8:10]), int(nik[10:12]))
        if encoded != (birth_date.day, birth_date.month, birth_date.year % 100):
            return "tanggal lahir tidak sesuai dengan NIK"
    return None


def hide_niks(text: str, placeholder: str = "[nik]") -> str:
    """text with every NIK-shaped number replaced by placeholder (for logs and stored error messages)."""
    return _NIK_IN_TEXT.sub(placeholder, text)


def mask_nik(nik: str) -> str:
    """The NIK for public pages: the regency prefix and the last two digits, never more than 8 digits."""
    return nik[:4] + "*" * 10 + nik[-2:]

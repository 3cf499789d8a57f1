"""Request shapes (pydantic) for people and letter fields, and Indonesian messages for their errors."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, time
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError

from shared.errors import FieldError
from shared.letters.intake.nik import NIK_SHAPE, nik_shape_problem

# C0 and C1 control characters (NUL, tab, newline, ...) and the line and paragraph separators: NUL breaks
# PostgreSQL text, the others break the printed letter's layout. Leading and trailing whitespace is trimmed first.
PRINTABLE = r"^[^\x00-\x1F\x7F-\x9F\u2028\u2029]*$"
_CONTROL = re.compile(r"[\x00-\x1F\x7F-\x9F\u2028\u2029]")
CONTROL_MESSAGE = "tidak boleh berisi karakter kontrol (mis. NUL, tab, baris baru)"
# Characters that print as nothing, so the letter would read otherwise than the data: format characters (Cf:
# bidi overrides and isolates, LRM/RLM, zero-width space and joiners, word joiner, BOM, soft hyphen, tags),
# private-use and unassigned code points, and Unicode's other default-ignorable code points (Hangul fillers,
# variation selectors, the combining grapheme joiner; DerivedCoreProperties.txt).
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Co", "Cn"})
_IGNORABLE = re.compile("[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0"
                        "\U000e0100-\U000e01ef]")
INVISIBLE_MESSAGE = "tidak boleh berisi karakter tak terlihat atau pengubah arah teks ({code_point})"
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_TIME = re.compile(r"^\d{2}:\d{2}(:\d{2})?$")


def _iso_date(value: Any) -> Any:
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.match(value)):
        return value
    raise PydanticCustomError("date_format", "harus berupa tanggal dengan format YYYY-MM-DD")


def _iso_time(value: Any) -> Any:
    if isinstance(value, time) or (isinstance(value, str) and _ISO_TIME.match(value)):
        return value
    raise PydanticCustomError("time_format", "harus berupa jam dengan format HH:MM")


def _nik(value: Any) -> Any:
    if not isinstance(value, str):
        raise PydanticCustomError("nik", "NIK harus berupa teks 16 angka")
    problem = nik_shape_problem(value)
    if problem:
        raise PydanticCustomError("nik", problem)
    return value


def _past_date(value: date, info: ValidationInfo) -> date:
    # "today" is the village's (shared.villages.village_today), passed in as validation context by
    # validate_request: the server's own date is a day behind Indonesia for hours every night
    today = (info.context or {}).get("today")
    if not isinstance(today, date):
        raise TypeError("validate with context={'today': <the village's today>}")
    if value > today:
        raise PydanticCustomError("future_date", "tanggal tidak boleh di masa depan")
    if value.year < 1900:
        raise PydanticCustomError("old_date", "tanggal tidak boleh sebelum tahun 1900")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
IsoTime = Annotated[time, BeforeValidator(_iso_time)]
PastDate = Annotated[date, BeforeValidator(_iso_date), AfterValidator(_past_date)]
Nik = Annotated[str, BeforeValidator(_nik), Field(min_length=16, max_length=16, pattern=NIK_SHAPE)]


def _invisible(char: str) -> bool:
    return unicodedata.category(char) in _INVISIBLE_CATEGORIES or _IGNORABLE.match(char) is not None


def plain_text(value: Any) -> Any:
    """Text as stored and printed: NFC, every space a plain one; invisible characters refused (non-text passes)."""
    if not isinstance(value, str):
        return value  # pydantic's own type check names what it is
    if value.isascii():
        return value  # already NFC, its one space U+0020, none of it invisible (controls are _printable's)
    # NBSP, U+3000 and the other spaces (Zs) look like a space on paper, so they are stored as one.
    text = "".join(" " if unicodedata.category(c) == "Zs" else c for c in unicodedata.normalize("NFC", value))
    hidden = next((c for c in text if _invisible(c)), None)
    if hidden is not None:
        raise PydanticCustomError("invisible_character", INVISIBLE_MESSAGE, {"code_point": f"U+{ord(hidden):04X}"})
    return text


# Text an operator writes (letter types, village profiles): the same rule, with the file's own length limits.
PlainText = Annotated[str, BeforeValidator(plain_text)]


def _printable(value: str) -> str:
    if _CONTROL.search(value):
        raise PydanticCustomError("control_character", CONTROL_MESSAGE)
    return value


def _text_rules(max_length: int, min_length: int = 1, pattern: str | None = None) -> StringConstraints:
    # The pattern documents the rule in the JSON schema; the validator enforces it under any template pattern.
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length,
                             pattern=pattern or PRINTABLE)


def Text(max_length: int, min_length: int = 1, pattern: str | None = None) -> Any:  # noqa: N802
    """A trimmed plain_text with length limits, without control characters (and matching pattern when given)."""
    return Annotated[str, _text_rules(max_length, min_length, pattern), BeforeValidator(plain_text),
                     AfterValidator(_printable)]


# What Text(n) returns, spelled out for the fixed fields below: a type checker cannot evaluate a call to Text.
Text40 = Annotated[str, _text_rules(40), BeforeValidator(plain_text), AfterValidator(_printable)]
Text60 = Annotated[str, _text_rules(60), BeforeValidator(plain_text), AfterValidator(_printable)]
Text100 = Annotated[str, _text_rules(100), BeforeValidator(plain_text), AfterValidator(_printable)]
Text200 = Annotated[str, _text_rules(200), BeforeValidator(plain_text), AfterValidator(_printable)]
ReasonText = Annotated[str, _text_rules(500, 3), BeforeValidator(plain_text), AfterValidator(_printable)]


class Sex(StrEnum):
    L = "L"
    P = "P"


class Religion(StrEnum):
    ISLAM = "Islam"
    KRISTEN = "Kristen"
    KATOLIK = "Katolik"
    HINDU = "Hindu"
    BUDDHA = "Buddha"
    KHONGHUCU = "Khonghucu"
    KEPERCAYAAN = "Kepercayaan terhadap Tuhan YME"


class MaritalStatus(StrEnum):
    BELUM_KAWIN = "Belum Kawin"
    KAWIN = "Kawin"
    CERAI_HIDUP = "Cerai Hidup"
    CERAI_MATI = "Cerai Mati"


class Applicant(BaseModel):
    """The resident the letter is about, as on the KTP."""

    model_config = ConfigDict(extra="forbid")

    nik: Nik
    name: Text100
    birth_place: Text60
    birth_date: PastDate
    sex: Sex
    religion: Religion
    occupation: Text60
    address: Text200
    marital_status: MaritalStatus | None = None
    nationality: Text40 = "WNI"


class Person(BaseModel):
    """Someone named inside a letter's own fields: a parent, the deceased, a family member moving along."""

    model_config = ConfigDict(extra="forbid")

    nik: Nik
    name: Text100
    birth_date: PastDate | None = None
    sex: Sex | None = None
    relation: Text40 | None = None


class ActionReason(BaseModel):
    """The body of an official's reject or revoke: why, in a sentence the applicant will read."""

    model_config = ConfigDict(extra="forbid")

    reason: ReasonText


DocumentKind = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]


class ApprovalConfirmation(BaseModel):
    """The optional body of an official's approval: required documents not attached but seen in person."""

    model_config = ConfigDict(extra="forbid")

    checked_in_person: list[DocumentKind] = Field(default_factory=list, max_length=20)


_MESSAGES = {
    "missing": "wajib diisi",
    "extra_forbidden": "kolom tidak dikenal",
    "string_type": "harus berupa teks",
    "string_too_short": "paling sedikit {min_length} karakter",
    "string_unicode": "berisi karakter Unicode yang tidak valid",
    "string_too_long": "paling banyak {max_length} karakter",
    "string_pattern_mismatch": "formatnya tidak sesuai",
    "int_type": "harus berupa bilangan bulat",
    "int_parsing": "harus berupa bilangan bulat",
    "int_from_float": "harus berupa bilangan bulat",
    "greater_than_equal": "paling kecil {ge}",
    "less_than_equal": "paling besar {le}",
    "bool_type": "harus bernilai true atau false",
    "bool_parsing": "harus bernilai true atau false",
    "enum": "harus salah satu dari: {expected}",
    "literal_error": "harus salah satu dari: {expected}",
    "date_from_datetime_parsing": "tanggal tidak valid (format YYYY-MM-DD)",
    "date_from_datetime_inexact": "tanggal tidak valid (format YYYY-MM-DD)",
    "date_parsing": "tanggal tidak valid (format YYYY-MM-DD)",
    "date_type": "harus berupa tanggal dengan format YYYY-MM-DD",
    "time_parsing": "jam tidak valid (format HH:MM)",
    "time_type": "harus berupa jam dengan format HH:MM",
    "model_type": "harus berupa objek JSON",
    "model_attributes_type": "harus berupa objek JSON",
    "dict_type": "harus berupa objek JSON",
    "list_type": "harus berupa daftar",
    "too_long": "paling banyak {max_length} isian",
    "too_short": "paling sedikit {min_length} isian",
}


def _message(error: Any) -> str:
    context = error.get("ctx") or {}
    if error["type"] == "string_too_short" and context.get("min_length") == 1:
        return "tidak boleh kosong"
    if error["type"] == "string_pattern_mismatch" and context.get("pattern") == PRINTABLE:
        return CONTROL_MESSAGE
    template = _MESSAGES.get(error["type"])
    if template is None:
        return error["msg"] if error["type"] in _CUSTOM_TYPES else "nilai tidak valid"
    context = {k: str(v).replace("' or '", "', '") for k, v in (error.get("ctx") or {}).items()}
    try:
        return template.format(**context)
    except (KeyError, IndexError):
        return template.split(":")[0]


_CUSTOM_TYPES = {"nik", "date_format", "time_format", "future_date", "old_date", "value_error", "control_character",
                 "invisible_character"}


def field_errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    """pydantic's errors as FieldErrors with dotted paths and Indonesian messages."""
    errors = []
    for error in exc.errors(include_url=False):
        path = ".".join(str(part) for part in error["loc"])
        field = f"{prefix}.{path}" if prefix and path else (prefix or path)
        errors.append(FieldError(field=field, message=_message(error)))
    return errors

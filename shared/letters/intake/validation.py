"""Checking a letter request before it is stored: shape, the type's fields, and the people in it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError

from shared.errors import FieldError, ValidationFailed
from shared.letters.intake.catalog import Catalog, LetterType
from shared.letters.intake.nik import nik_agreement_problem
from shared.letters.intake.rules import run_checks
from shared.letters.intake.schemas import Applicant, Person, field_errors

REQUEST_KEYS = ("type", "applicant", "fields")

EXAMPLE_APPLICANT: dict[str, Any] = {
    "nik": "3202091203850001",
    "name": "Ujang Contoh",
    "birth_place": "Sukabumi",
    "birth_date": "1985-03-12",
    "sex": "L",
    "religion": "Islam",
    "occupation": "Buruh Harian Lepas",
    "address": "Kp. Cijengkol RT 002/RW 005, Desa Cijengkol",
    "marital_status": "Kawin",
    "nationality": "WNI",
}


@dataclass(frozen=True)
class LetterRequest:
    """A request that passed every check, as JSON-ready data."""

    letter_type: LetterType
    applicant: dict[str, Any]
    fields: dict[str, Any]


def example_request(letter_type: LetterType) -> dict[str, Any]:
    """A complete, valid request body for letter_type."""
    applicant = {**EXAMPLE_APPLICANT, **letter_type.example_applicant}
    return {"type": letter_type.code, "applicant": applicant, "fields": dict(letter_type.example)}


def _type_errors(body: dict[str, Any], catalog: Catalog) -> tuple[LetterType | None, list[FieldError]]:
    code = body.get("type")
    if code is None:
        return None, [FieldError("type", "wajib diisi")]
    letter_type = catalog.get(code) if isinstance(code, str) else None
    if letter_type is None:
        known = ", ".join(sorted(catalog.types))
        return None, [FieldError("type", f"jenis surat tidak dikenal; pilihan: {known}")]
    return letter_type, []


def _validated(model: type[BaseModel], data: Any, prefix: str,
               today: date) -> tuple[BaseModel | None, list[FieldError]]:
    if data is None:
        return None, [FieldError(prefix, "wajib diisi")]
    try:
        return model.model_validate(data, context={"today": today}), []
    except ValidationError as exc:
        return None, field_errors(exc, prefix)


def _people(applicant: Applicant | None, fields: BaseModel | None) -> list[tuple[str, Person | Applicant]]:
    people: list[tuple[str, Person | Applicant]] = [("applicant", applicant)] if applicant else []
    for name, value in fields or ():
        if isinstance(value, Person):
            people.append((f"fields.{name}", value))
        elif isinstance(value, list):
            people += [(f"fields.{name}.{i}", p) for i, p in enumerate(value) if isinstance(p, Person)]
    return people


def _agreement_errors(people: list[tuple[str, Person | Applicant]]) -> list[FieldError]:
    errors = []
    for path, person in people:
        problem = nik_agreement_problem(person.nik, birth_date=person.birth_date, sex=person.sex)
        if problem:
            errors.append(FieldError(f"{path}.nik", problem))
    return errors


def validate_request(body: Any, catalog: Catalog, *, today: date) -> LetterRequest:
    """The checked request, or ValidationFailed listing every field at fault.

    today is the village's (shared.villages.village_today): no date may lie after it, and the type's
    checks judge by it as the issue date (e.g. an age).
    """
    if not isinstance(body, dict):
        raise ValidationFailed([FieldError("(body)", "isi permintaan harus berupa objek JSON")])
    errors = [FieldError(key, "kolom tidak dikenal") for key in body if key not in REQUEST_KEYS]
    letter_type, type_errors = _type_errors(body, catalog)
    applicant, applicant_errors = _validated(Applicant, body.get("applicant"), "applicant", today)
    errors += type_errors + applicant_errors
    fields = None
    if letter_type is not None:
        fields, fields_errors = _validated(catalog.models[letter_type.code], body.get("fields", {}), "fields",
                                             today)
        errors += fields_errors
    errors += _agreement_errors(_people(applicant, fields))  # type: ignore[arg-type]
    if letter_type is not None and applicant is not None and fields is not None:
        # the type's own rules judge well-formed data only; they never see a half-parsed request
        errors += run_checks(letter_type.checks, applicant, fields, today)  # type: ignore[arg-type]
    if errors or letter_type is None or applicant is None or fields is None:
        raise ValidationFailed(errors)
    return LetterRequest(letter_type, applicant.model_dump(mode="json"),
                         fields.model_dump(mode="json", exclude_none=True))

"""The request form, generated from a letter type's field schema, and its posted values turned into the very
body the JSON API takes: the server's own validation then names the same fields (`applicant.nik`,
`fields.mother.nik`, `fields.household_members.1.name`) that the form's inputs are named after."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict

from shared.errors import FieldError
from shared.letters.intake.catalog import FieldSpec, LetterType
from shared.letters.intake.schemas import MaritalStatus, Religion

SEX = {"L": "Laki-laki", "P": "Perempuan"}


@dataclass(frozen=True)
class Input:
    """One control of the form: its name (a request path), label, kind and, for a choice, its options."""

    name: str
    label: str
    kind: str  # text, textarea, date, time, integer, amount, boolean, enum
    required: bool = True
    options: tuple[tuple[str, str], ...] = ()
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    hint: str | None = None


APPLICANT = (
    Input("nik", "NIK", "text", max_length=16, hint="16 angka, sesuai KTP"),
    Input("name", "Nama lengkap", "text", max_length=100),
    Input("birth_place", "Tempat lahir", "text", max_length=60),
    Input("birth_date", "Tanggal lahir", "date"),
    Input("sex", "Jenis kelamin", "enum", options=tuple(SEX.items())),
    Input("religion", "Agama", "enum", options=tuple((r.value, r.value) for r in Religion)),
    Input("occupation", "Pekerjaan", "text", max_length=60),
    Input("address", "Alamat", "textarea", max_length=200),
    Input("marital_status", "Status perkawinan", "enum", required=False,
          options=tuple((m.value, m.value) for m in MaritalStatus)),
    Input("nationality", "Kewarganegaraan", "text", max_length=40),
)
PERSON = (
    Input("nik", "NIK", "text", max_length=16),
    Input("name", "Nama", "text", max_length=100),
    Input("birth_date", "Tanggal lahir", "date", required=False),
    Input("sex", "Jenis kelamin", "enum", required=False, options=tuple(SEX.items())),
    Input("relation", "Hubungan", "text", required=False, max_length=40),
)


def field_input(spec: FieldSpec) -> Input:
    """The control for one of the type's plain fields (not a person)."""
    kind = "enum" if spec.type == "enum" else spec.type
    return Input(spec.name, spec.label, kind, required=spec.required, options=tuple(spec.options.items()),
                 max_length=spec.max_length if spec.type == "text" else None, minimum=spec.minimum,
                 maximum=spec.maximum, hint="dalam rupiah, angka saja" if spec.type == "amount" else None)


def _text(form: MultiDict[str, str], name: str) -> str | None:
    value = form.get(name, "")
    return value if value.strip() else None


def _number(raw: str | None, *, amount: bool) -> int | str | None:
    """Digits as an int ("1.200.000" for an amount too); anything else is sent as typed, for the message."""
    if raw is None:
        return None
    cleaned = raw.strip().replace(".", "").replace(" ", "") if amount else raw.strip()
    return int(cleaned) if cleaned.lstrip("-").isdigit() else raw


def _group(form: MultiDict[str, str], prefix: str, inputs: tuple[Input, ...]) -> dict[str, Any]:
    return {i.name: value for i in inputs if (value := _text(form, f"{prefix}.{i.name}")) is not None}


def rows_posted(form: MultiDict[str, str], spec: FieldSpec) -> int:
    """How many rows of a persons table the form held (a hidden count, bounded by the type's max_items)."""
    raw = form.get(f"fields.{spec.name}.rows", "0")
    return min(int(raw), spec.max_items) if raw.isdigit() else 0


def _field_value(form: MultiDict[str, str], spec: FieldSpec) -> Any:
    name = f"fields.{spec.name}"
    match spec.type:
        case "integer" | "amount":
            return _number(_text(form, name), amount=spec.type == "amount")
        case "boolean":
            return True if form.get(name) == "true" else (False if spec.required else None)
        case "person":
            return _group(form, name, PERSON) or None
        case "persons":
            rows = [_group(form, f"{name}.{i}", PERSON) for i in range(rows_posted(form, spec))]
            return [row for row in rows if row] or None  # empty rows are dropped, and indices follow
    return _text(form, name)


def body_from_form(form: MultiDict[str, str], letter_type: LetterType) -> dict[str, Any]:
    """The API's request body for the posted form; blank inputs are left out (the server says "wajib diisi")."""
    fields = {spec.name: value for spec in letter_type.fields
              if (value := _field_value(form, spec)) is not None}
    return {"type": letter_type.code, "applicant": _group(form, "applicant", APPLICANT), "fields": fields}


def blank_body(letter_type: LetterType) -> dict[str, Any]:
    """The values of a new form: nationality WNI, and one empty row in each required persons table."""
    fields: dict[str, Any] = {spec.name: [{}] for spec in letter_type.fields
                              if spec.type == "persons" and spec.required}
    return {"type": letter_type.code, "applicant": {"nationality": "WNI"}, "fields": fields}


def change_rows(body: dict[str, Any], action: str, letter_type: LetterType) -> None:
    """Apply a form button "add:<field>" or "remove:<field>:<row>" to the persons tables in body."""
    kind, _, rest = action.partition(":")
    name, _, row = rest.partition(":")
    spec = next((s for s in letter_type.fields if s.name == name and s.type == "persons"), None)
    if spec is None:
        return
    rows = list(body["fields"].get(name) or [])
    if kind == "add" and len(rows) < spec.max_items:
        rows.append({})
    elif kind == "remove" and row.isdigit() and int(row) < len(rows):
        del rows[int(row)]
    body["fields"][name] = rows


def errors_by_field(errors: list[FieldError]) -> dict[str, str]:
    """The server's messages by the input (or group) they belong to; the first message of a field wins."""
    found: dict[str, str] = {}
    for error in errors:
        found.setdefault(error.field, error.message)
    return found


def dom_id(path: str) -> str:
    """An element id for a request path: `applicant.nik` -> `f-applicant-nik`."""
    return "f-" + path.replace(".", "-")


def path_label(letter_type: LetterType, path: str) -> str:
    """What the form calls the input at path: "NIK" for applicant.nik, "Anggota Keluarga 2: Nama" for a row."""
    parts = path.split(".")
    labels = {i.name: i.label for i in PERSON}
    if parts[0] == "applicant" and len(parts) == 2:
        return next((i.label for i in APPLICANT if i.name == parts[1]), path)
    spec = next((s for s in letter_type.fields if len(parts) > 1 and s.name == parts[1]), None)
    if parts[0] != "fields" or spec is None:
        return path
    if spec.type == "persons" and len(parts) >= 3 and parts[2].isdigit():
        row = f"{spec.label} {int(parts[2]) + 1}"
        return f"{row}: {labels.get(parts[3], parts[3])}" if len(parts) == 4 else row
    return f"{spec.label}: {labels.get(parts[2], parts[2])}" if len(parts) == 3 else spec.label

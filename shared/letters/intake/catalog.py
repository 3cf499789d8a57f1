"""Letter types as data: one TOML file per type in templates/letters/, checked when loaded."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from shared.errors import TemplateError
from shared.letters.intake.rules import CHECKS
from shared.letters.intake.schemas import IsoDate, IsoTime, PastDate, Person, PlainText, Text
from shared.tomlfiles import load_toml_model

FieldKind = Literal["text", "date", "time", "integer", "amount", "boolean", "enum", "person", "persons"]
PLACEHOLDER = re.compile(r"\{(applicant|fields|village)\.([a-z_][a-z0-9_]*)\}")
APPLICANT = "applicant"  # in a layout, the applicant's KTP data


class FieldSpec(BaseModel):
    """One of a letter type's own fields, as written in its template file."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: PlainText = Field(min_length=1)
    type: FieldKind = "text"
    required: bool = True
    min_length: int = Field(default=1, ge=0)
    max_length: int = Field(default=200, ge=1, le=2000)
    pattern: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    options: dict[PlainText, PlainText] = Field(default_factory=dict)
    max_items: int = Field(default=20, ge=1, le=100)
    printed: bool = True
    weekday: bool = False  # a date printed with its day name: "Selasa, 3 Maret 2026"
    not_future: bool = False  # a date that cannot lie after today (a birth, a death)
    unit: PlainText | None = None  # printed after an integer: "4 orang"

    @model_validator(mode="after")
    def _consistent(self) -> FieldSpec:
        if self.type == "enum" and not self.options:
            raise ValueError("a field of type enum needs options")
        if (self.weekday or self.not_future) and self.type != "date":
            raise ValueError("weekday and not_future are for fields of type date")
        if self.unit is not None and self.type != "integer":
            raise ValueError("unit is for fields of type integer")
        if self.pattern is not None:
            re.compile(self.pattern)
        return self


class LayoutSection(BaseModel):
    """A block of the letter's data: an optional lead-in line, then rows for the applicant and fields."""

    model_config = ConfigDict(extra="forbid")

    heading: PlainText | None = None  # e.g. "Dari seorang ibu:"
    show: list[str] = Field(min_length=1)  # field names, and "applicant" for the KTP data


class RequiredDocument(BaseModel):
    """A document (syarat) a letter type needs: a kind such as `ktp`, and its Indonesian label."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)
    label: PlainText = Field(min_length=2, max_length=120)


class LetterType(BaseModel):
    """A kind of letter: its title, classification code, fields, statement and example."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: PlainText = Field(min_length=3)
    classification: str = Field(pattern=r"^[0-9]{3}(\.[0-9]+)?$")
    approval: bool = True
    validity_months: int | None = Field(default=None, ge=1, le=60)
    document_name: PlainText = Field(default="surat keterangan", min_length=3)  # "Demikian <name> ini dibuat ..."
    opening: PlainText = Field(default="menerangkan dengan sebenarnya bahwa:", min_length=3)  # after the signer
    statement: list[PlainText] = Field(min_length=1)
    checks: list[str] = Field(default_factory=list)  # names of rules in shared/letters/rules.py
    fields: list[FieldSpec] = Field(default_factory=list)
    # Documents the hamlet post attaches (a scan) or the official checks in person before approving.
    requirements: list[RequiredDocument] = Field(default_factory=list)
    layout: list[LayoutSection] = Field(default_factory=list)
    example: dict[str, Any] = Field(default_factory=dict)
    example_applicant: dict[str, Any] = Field(default_factory=dict)

    @field_validator("checks")
    @classmethod
    def _known_checks(cls, names: list[str]) -> list[str]:
        for name in names:
            if name not in CHECKS:
                raise ValueError(f"unknown check '{name}'; known: {', '.join(sorted(CHECKS))}")
        return names

    @field_validator("requirements")
    @classmethod
    def _each_kind_once(cls, requirements: list[RequiredDocument]) -> list[RequiredDocument]:
        kinds = [r.kind for r in requirements]
        for kind in kinds:
            if kinds.count(kind) > 1:
                raise ValueError(f"requirement '{kind}' is listed more than once")
        return requirements

    @field_validator("layout")
    @classmethod
    def _layout_shows_every_field_once(cls, layout: list[LayoutSection], info: ValidationInfo) -> list[LayoutSection]:
        if not layout or "fields" not in info.data:
            return layout
        specs = {f.name: f for f in info.data["fields"]}
        shown = [name for section in layout for name in section.show]
        for name in shown:
            if name != APPLICANT and name not in specs:
                raise ValueError(f"layout shows '{name}', which is not a field")
            if shown.count(name) > 1:
                raise ValueError(f"layout shows '{name}' more than once")
        missing = [n for n in (APPLICANT, *(f.name for f in specs.values() if f.printed)) if n not in shown]
        if missing:
            raise ValueError(f"layout does not show '{missing[0]}'")
        for section in layout:
            if len(section.show) > 1 and any(specs.get(n) and specs[n].type == "persons" for n in section.show):
                raise ValueError("a list of persons is printed as a table and needs a layout section of its own")
        return layout

    @model_validator(mode="after")
    def _placeholders_exist(self) -> LetterType:
        names = {f.name for f in self.fields}
        for paragraph in self.statement:
            for scope, name in PLACEHOLDER.findall(paragraph):
                if scope == "fields" and name not in names:
                    raise ValueError(f"statement uses {{fields.{name}}}, which is not a field")
        return self

    def requirement(self, kind: str) -> RequiredDocument | None:
        """The required document of this kind, or None when the type does not ask for it."""
        return next((r for r in self.requirements if r.kind == kind), None)

    def field(self, name: str) -> FieldSpec:
        return next(f for f in self.fields if f.name == name)

    def sections(self) -> list[LayoutSection]:
        """The layout as written, or by default: the applicant with the plain fields, then each person."""
        if self.layout:
            return self.layout
        printed = [f for f in self.fields if f.printed]
        plain = [f.name for f in printed if f.type not in ("person", "persons")]
        people = [LayoutSection(heading=f"{f.label}:", show=[f.name]) for f in printed
                  if f.type in ("person", "persons")]
        return [LayoutSection(show=[APPLICANT, *plain]), *people]


def _annotation(spec: FieldSpec) -> Any:
    match spec.type:
        case "text":
            return Text(spec.max_length, spec.min_length, spec.pattern)
        case "date":
            return PastDate if spec.not_future else IsoDate
        case "time":
            return IsoTime
        case "integer" | "amount":
            return int
        case "boolean":
            return bool
        case "enum":
            return Literal[tuple(spec.options)]
        case "person":
            return Person
        case "persons":
            return list[Person]
    raise AssertionError(spec.type)


def _pydantic_field(spec: FieldSpec) -> Any:
    limits: dict[str, Any] = {"title": spec.label}
    if spec.type == "integer":
        limits.update(ge=spec.minimum, le=spec.maximum, strict=True)
    if spec.type == "amount":  # whole rupiah, never negative
        limits.update(ge=max(spec.minimum or 0, 0), le=spec.maximum, strict=True)
    if spec.type == "boolean":
        limits["strict"] = True
    if spec.type == "persons":
        limits["max_length"] = spec.max_items
    if spec.required:
        return (_annotation(spec), Field(**limits))
    return (_annotation(spec) | None, Field(default=None, **limits))


def fields_model(letter_type: LetterType) -> type[BaseModel]:
    """A pydantic model for the type's `fields` object, unknown keys refused."""
    definitions = {spec.name: _pydantic_field(spec) for spec in letter_type.fields}
    return create_model(
        f"Fields_{letter_type.code}", __config__=ConfigDict(extra="forbid"), **definitions
    )


def load_letter_type(path: Path) -> LetterType:
    """Read and check one template file; a broken one raises TemplateError naming file and field."""
    letter_type = load_toml_model(path, LetterType, TemplateError)
    if letter_type.code != path.stem:
        raise TemplateError(f"{path.name}: field code: '{letter_type.code}' must match the file name")
    return letter_type


class Catalog:
    """Every letter type of the deployment, by code, with a validator for each type's fields."""

    def __init__(self, types: list[LetterType]) -> None:
        self.types = {t.code: t for t in types}
        self.models = {t.code: fields_model(t) for t in types}

    def get(self, code: str) -> LetterType | None:
        return self.types.get(code)


@cache
def load_catalog(directory: Path) -> Catalog:
    """All `*.toml` files of directory, checked; cached per process."""
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise TemplateError(f"{directory}: no letter types (*.toml) found")
    return Catalog([load_letter_type(path) for path in files])

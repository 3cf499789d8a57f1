"""Letter types as data: one TOML file per type in templates/letters/, checked when loaded."""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from shared.errors import TemplateError
from shared.letters.schemas import IsoDate, IsoTime, Person, Text

FieldKind = Literal["text", "date", "time", "integer", "boolean", "enum", "person", "persons"]
PLACEHOLDER = re.compile(r"\{(applicant|fields|village)\.([a-z_][a-z0-9_]*)\}")


class FieldSpec(BaseModel):
    """One of a letter type's own fields, as written in its template file."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1)
    type: FieldKind = "text"
    required: bool = True
    min_length: int = Field(default=1, ge=0)
    max_length: int = Field(default=200, ge=1, le=2000)
    pattern: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    options: dict[str, str] = Field(default_factory=dict)
    max_items: int = Field(default=20, ge=1, le=100)
    printed: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> FieldSpec:
        if self.type == "enum" and not self.options:
            raise ValueError("a field of type enum needs options")
        if self.pattern is not None:
            re.compile(self.pattern)
        return self


class LetterType(BaseModel):
    """A kind of letter: its title, classification code, fields, statement and example."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=3)
    classification: str = Field(pattern=r"^[0-9]{3}(\.[0-9]+)?$")
    approval: bool = True
    validity_months: int | None = Field(default=None, ge=1, le=60)
    statement: list[str] = Field(min_length=1)
    fields: list[FieldSpec] = Field(default_factory=list)
    example: dict[str, Any] = Field(default_factory=dict)
    example_applicant: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _placeholders_exist(self) -> LetterType:
        names = {f.name for f in self.fields}
        for paragraph in self.statement:
            for scope, name in PLACEHOLDER.findall(paragraph):
                if scope == "fields" and name not in names:
                    raise ValueError(f"statement uses {{fields.{name}}}, which is not a field")
        return self

    def field(self, name: str) -> FieldSpec:
        return next(f for f in self.fields if f.name == name)


def _annotation(spec: FieldSpec) -> Any:
    match spec.type:
        case "text":
            return Text(spec.max_length, spec.min_length, spec.pattern)
        case "date":
            return IsoDate
        case "time":
            return IsoTime
        case "integer":
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
    return create_model(  # type: ignore[call-overload,no-any-return]
        f"Fields_{letter_type.code}", __config__=ConfigDict(extra="forbid"), **definitions
    )


def load_letter_type(path: Path) -> LetterType:
    """Read and check one template file; a broken one raises TemplateError naming file and field."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        letter_type = LetterType.model_validate(data)
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"{path.name}: not valid TOML: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(file)"
        raise TemplateError(f"{path.name}: field {where}: {first['msg']}") from exc
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

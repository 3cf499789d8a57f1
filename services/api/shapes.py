"""The API's own shapes: the letters query string, and the responses the OpenAPI description declares."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.letters.intake.catalog import FieldSpec, RequiredDocument
from shared.letters.intake.schemas import Text40, Text200
from shared.letters.workflow.views import LetterView
from shared.models import LetterStatus


class LetterQuery(BaseModel):
    """The query string of GET /api/v1/letters; unknown parameters are refused."""

    model_config = ConfigDict(extra="forbid")

    status: LetterStatus | None = None
    type: Text40 | None = None
    cursor: Text200 | None = None
    limit: int = Field(default=20, ge=1, le=100)


class FieldProblem(BaseModel):
    """One field at fault, at a dotted path such as `applicant.nik`, with an Indonesian message."""

    field: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem; `detail` is Indonesian and meant for people."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str


class ValidationProblem(Problem):
    """A 422: every field at fault."""

    errors: list[FieldProblem]


class LetterPage(BaseModel):
    """A page of letters, newest first; `next_cursor` fetches the next page."""

    items: list[LetterView]
    next_cursor: str | None


class LetterTypeView(BaseModel):
    """A letter type with its fields, required documents (syarat) and a complete, valid request body."""

    code: str
    title: str
    classification: str
    approval: bool
    validity_months: int | None
    fields: list[FieldSpec]
    requirements: list[RequiredDocument] = Field(description="documents to attach, or to check in person")
    example: dict[str, Any]


class PublicLetter(BaseModel):
    """What the verification page tells anyone holding the letter (name and NIK masked)."""

    model_config = ConfigDict(extra="allow")

    status: Literal["valid", "revoked"]
    verdict: Literal["SAH", "DICABUT"]
    number: str
    title: str


class Health(BaseModel):
    """The process (and for /readyz its database and broker) answers."""

    model_config = ConfigDict(extra="allow")

    status: Literal["ok"]

"""The outgoing-letter register (buku agenda surat keluar, Permendagri 47/2016): every letter the village
issued in a year, one row each, in the order they were issued.

It is exact by construction: a row is an issued (or since revoked) letter with its stored number, never a
number recomputed. A revoked letter stays in the register, marked. The running number counts through the
whole year, so a month's register is a slice of the year's.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from shared.letters.intake.catalog import Catalog
from shared.models import Letter, LetterStatus, Village
from shared.villages import local_date, village_time_zone

REGISTERED = (LetterStatus.ISSUED.value, LetterStatus.REVOKED.value)
# Rows are read from the database this many at a time: thousands of letters in bounded memory.
BATCH = 500


class RegisterQuery(BaseModel):
    """Which register: a year, optionally one month of it, and the file format."""

    model_config = ConfigDict(extra="forbid")

    year: int = Field(ge=2000, le=2100)
    month: int | None = Field(default=None, ge=1, le=12)
    format: Literal["json", "csv", "xlsx", "pdf"] = "json"


class RegisterRow(BaseModel):
    """One letter in the register."""

    running_number: int = Field(description="No. urut: counts through the whole year")
    letter_date: date = Field(description="the date printed on the letter (the village's date at issue)")
    number: str
    classification: str
    title: str = Field(description="perihal: the letter type's title")
    applicant_name: str
    signer: str = Field(description="name and position of who signed")
    status: Literal["issued", "revoked"]
    revoked_on: date | None
    revocation_reason: str | None
    letter_id: uuid.UUID


class Register(BaseModel):
    """A village's register for a year or a month of it."""

    village: str
    year: int
    month: int | None
    rows: list[RegisterRow]


def _signer(snapshot: dict[str, Any] | None) -> str:
    if not snapshot:
        return ""
    return ", ".join(part for part in (snapshot.get("name"), snapshot.get("position")) if part)


def _classification(letter: Letter, catalog: Catalog) -> str:
    # a per-type number's scope is the classification code it was counted under; a shared count ("*") keeps
    # none, so the type's code is the best there is
    if letter.number_scope and letter.number_scope != "*":
        return letter.number_scope
    letter_type = catalog.get(letter.type)
    return letter_type.classification if letter_type else ""


def _row(position: int, letter: Letter, zone: ZoneInfo, catalog: Catalog) -> RegisterRow:
    letter_type = catalog.get(letter.type)
    revoked = letter.status == LetterStatus.REVOKED
    return RegisterRow(
        running_number=position, letter_date=local_date(zone, letter.issued_at),
        number=letter.number or "", classification=_classification(letter, catalog),
        title=letter_type.title if letter_type else letter.type, applicant_name=str(letter.applicant.get("name", "")),
        signer=_signer(letter.signer), status="revoked" if revoked else "issued",
        revoked_on=local_date(zone, letter.revoked_at) if revoked and letter.revoked_at else None,
        revocation_reason=letter.reason if revoked else None, letter_id=letter.id)


def register_rows(session: Session, *, village: Village, catalog: Catalog, year: int,
                  month: int | None = None) -> Iterator[RegisterRow]:
    """The register's rows for year (and month), in the order the letters were issued, read in batches."""
    query = (select(Letter)
             .where(Letter.village_id == village.id, Letter.number_year == year,
                    col(Letter.status).in_(REGISTERED), col(Letter.number).is_not(None))
             .order_by(col(Letter.issued_at), col(Letter.number_seq), col(Letter.id))
             .execution_options(yield_per=BATCH))
    zone = village_time_zone(village)  # once: reading the profile checks it again
    for position, letter in enumerate(session.exec(query), start=1):
        row = _row(position, letter, zone, catalog)
        if month is None or row.letter_date.month == month:
            yield row
        session.expunge(letter)  # keep the identity map from growing with the year


def outgoing_register(session: Session, *, village: Village, catalog: Catalog, year: int,
                      month: int | None = None) -> Register:
    """The whole register as one model (the JSON answer)."""
    rows = list(register_rows(session, village=village, catalog=catalog, year=year, month=month))
    return Register(village=village.code, year=year, month=month, rows=rows)

"""Letter numbers: a counter row per village, scope and year, advanced in the short transaction that claims a letter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import Session

from shared.db import dialect_insert_in, table
from shared.models import Letter, LetterCounter

ROMAN_MONTHS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
ALL_TYPES = "*"


def next_sequence(session: Session, *, village_id: int, scope: str, year: int) -> int:
    """The next sequence number; the counter row stays locked until the caller's transaction ends.

    A rolled-back claim rolls the counter back too, and a committed one gives the number to its letter for good,
    so numbers have no gaps (but where a number already given is passed over, see next_number); the letter table's
    unique constraints make a duplicate impossible even if this were bypassed.
    """
    # one statement: a year's first letter makes its counter row at 1, every later one takes the row's next number
    counter = {"village_id": village_id, "scope": scope, "year": year, "last_seq": 1}
    return int(session.execute(_advance_counter(session.get_bind().dialect.name), counter).scalar_one())


@cache
def _advance_counter(dialect: str) -> Any:
    # Built once per database dialect, its values the execution's parameters: building the upsert and its cache key
    # anew cost more CPU than running it.
    counters = table(LetterCounter)
    return (dialect_insert_in(dialect, counters)
            .on_conflict_do_update(index_elements=["village_id", "scope", "year"],
                                   set_={"last_seq": counters.c.last_seq + 1})
            .returning(counters.c.last_seq))


def _number_given() -> Any:
    letters = table(Letter)
    return (select(letters.c.id).where(letters.c.village_id == bindparam("village_id"),
                                       letters.c.number == bindparam("number")).limit(1))


NUMBER_GIVEN = _number_given()  # built once, with bound parameters


@dataclass(frozen=True)
class NewNumber:
    """A letter number and the sequence place it took."""

    number: str
    scope: str
    seq: int


def next_number(session: Session, *, village_id: int, village_code: str, pattern: str, shared_sequence: bool,
                classification: str, on: date) -> NewNumber:
    """The village's sequence's next number; the caller commits, once it has checked that no letter of the village
    has the number already (number_given: a profile changed mid-year, per_type to shared or another pattern, can make
    a counter arrive at numbers already given; those places are skipped, so the sequence then has gaps but never
    repeats a number)."""
    # "per_type" counts per classification code: types sharing one (domisili and pengantar, 470) would
    # otherwise both take 470/001 and collide
    scope = ALL_TYPES if shared_sequence else classification
    seq = next_sequence(session, village_id=village_id, scope=scope, year=on.year)
    number = format_number(pattern, classification=classification, seq=seq, village_code=village_code, on=on)
    return NewNumber(number=number, scope=scope, seq=seq)


def number_given(session: Session, *, village_id: int, number: str) -> bool:
    """Whether a letter of the village has the number."""
    return session.execute(NUMBER_GIVEN, {"village_id": village_id, "number": number}).first() is not None


def format_number(pattern: str, *, classification: str, seq: int, village_code: str, on: date) -> str:
    """A letter number from the village's pattern, e.g. 401/012/Ds.Cjk/XI/2026."""
    return pattern.format(classification=classification, seq=seq, village_code=village_code,
                          roman_month=ROMAN_MONTHS[on.month - 1], month=on.month, year=on.year)


def check_number_pattern(pattern: str) -> str:
    """The pattern if it makes numbers that differ within and across years; else ValueError saying why."""
    if "{seq" not in pattern or "{year" not in pattern:
        raise ValueError("needs {seq...} and {year}: numbers must differ within and across years")
    try:
        format_number(pattern, classification="401", seq=1, village_code="Ds.X", on=date(2026, 1, 1))
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"cannot be formatted ({exc!r}); placeholders: classification, seq, "
                         "village_code, roman_month, month, year") from None
    return pattern

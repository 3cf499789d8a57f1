"""Letter numbers: a counter row per village, scope and year, advanced inside the issuing transaction."""

from __future__ import annotations

from datetime import date

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, update

from shared.models import LetterCounter

ROMAN_MONTHS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
ALL_TYPES = "*"


def next_sequence(session: Session, *, village_id: int, scope: str, year: int) -> int:
    """The next sequence number; the counter row stays locked until the caller's transaction ends.

    A rolled-back issue rolls the counter back too, so numbers have no gaps; the letter table's unique
    constraints make a duplicate impossible even if this were bypassed.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.exec(insert(LetterCounter).values(village_id=village_id, scope=scope, year=year, last_seq=0)
                 .on_conflict_do_nothing())
    statement = (update(LetterCounter)
                 .where(col(LetterCounter.village_id) == village_id, col(LetterCounter.scope) == scope,
                        col(LetterCounter.year) == year)
                 .values(last_seq=col(LetterCounter.last_seq) + 1).returning(col(LetterCounter.last_seq)))
    return int(session.exec(statement).scalar_one())


def format_number(pattern: str, *, classification: str, seq: int, village_code: str, on: date) -> str:
    """A letter number from the village's pattern, e.g. 401/012/Ds.Cjk/XI/2026."""
    return pattern.format(classification=classification, seq=seq, village_code=village_code,
                          roman_month=ROMAN_MONTHS[on.month - 1], month=on.month, year=on.year)

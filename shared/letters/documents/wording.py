"""How values are written in a letter: dates through Babel, amounts in words through num2words."""

from __future__ import annotations

from datetime import date, time

from babel.dates import format_date
from babel.numbers import format_decimal
from num2words import num2words


def format_indonesian_date(d: date) -> str:
    """A date as written in Indonesian letters, e.g. "27 November 2026"."""
    return format_date(d, format="d MMMM y", locale="id")


def format_weekday_date(d: date) -> str:
    """A date with its day name, e.g. "Jumat, 27 November 2026" (births and deaths are told this way)."""
    return format_date(d, format="EEEE, d MMMM y", locale="id")


def format_time(t: time, zone: str = "WIB") -> str:
    """A time of day as letters write it, e.g. "08.30 WIB"."""
    return f"{t:%H.%M} {zone}"


def format_amount(rupiah: int) -> str:
    """An amount in figures and in words, e.g. "Rp 5.000.000 (lima juta rupiah)"."""
    return f"Rp {format_decimal(rupiah, locale='id')} ({num2words(rupiah, lang='id')} rupiah)"

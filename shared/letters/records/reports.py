"""Reports for a village head: letters per type and month, per hamlet post, outcomes, and how long they took.

The queries take a list of villages, so a regency's view across its villages is the same report with more
ids, not another query. Months and years are the village's own (its time zone), as on its letters.
"""

from __future__ import annotations

import math
import statistics
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from shared.letters.intake.catalog import Catalog
from shared.models import Client, Letter, LetterEvent, LetterStatus, Village, as_utc
from shared.villages import TIME_ZONES, village_time_zone

EVER_ISSUED = (LetterStatus.ISSUED.value, LetterStatus.REVOKED.value)
TIMED_EVENTS = ("draft_rendered", "approved", "rejected", "issued")


class ReportQuery(BaseModel):
    """Which year."""

    model_config = ConfigDict(extra="forbid")

    year: int = Field(ge=2000, le=2100)


class TypeMonth(BaseModel):
    """Letters of one type submitted in one month, and how many of them were issued."""

    type: str
    title: str
    month: int
    submitted: int
    issued: int


class PostTotals(BaseModel):
    """One hamlet post's (or official's) letters in the year."""

    post: str
    submitted: int
    issued: int
    rejected: int


class Duration(BaseModel):
    """How long a step took, over the letters that went through it (seconds)."""

    letters: int
    median_seconds: float | None
    p90_seconds: float | None


class LetterReport(BaseModel):
    """A year's letters of the villages asked for."""

    year: int
    villages: list[str]
    submitted: int
    issued: int = Field(description="issued in the end, revoked ones included")
    rejected: int
    revoked: int
    failed: int
    by_type_and_month: list[TypeMonth]
    by_post: list[PostTotals]
    submission_to_issue: Duration
    waiting_for_approval: Duration = Field(description="from the draft being ready to an official's decision")


def duration(seconds: list[float]) -> Duration:
    """Median and 90th percentile (nearest rank) of seconds."""
    if not seconds:
        return Duration(letters=0, median_seconds=None, p90_seconds=None)
    ordered = sorted(seconds)
    return Duration(letters=len(ordered), median_seconds=statistics.median(ordered),
                    p90_seconds=ordered[math.ceil(0.9 * len(ordered)) - 1])


def _year_window(year: int) -> tuple[datetime, datetime]:
    # the widest UTC span any village's local year covers (WIT starts first, WIB ends last)
    starts = [datetime(year, 1, 1, tzinfo=zone) for zone in TIME_ZONES.values()]
    ends = [datetime(year + 1, 1, 1, tzinfo=zone) for zone in TIME_ZONES.values()]
    return min(starts).astimezone(UTC), max(ends).astimezone(UTC)


def _letters(session: Session, villages: dict[int, Village], year: int) -> list[tuple[Letter, int]]:
    """(letter, month) of the villages' letters submitted in year, by each village's own calendar."""
    start, end = _year_window(year)
    query = select(Letter).where(col(Letter.village_id).in_(list(villages)), col(Letter.created_at) >= start,
                                 col(Letter.created_at) < end)
    zones = {village_id: village_time_zone(village) for village_id, village in villages.items()}  # once each
    found = []
    for letter in session.exec(query):
        local = as_utc(letter.created_at).astimezone(zones[letter.village_id])
        if local.year == year:
            found.append((letter, local.month))
    return found


def _event_times(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, datetime]]:
    """The first time each letter had each of TIMED_EVENTS."""
    times: dict[uuid.UUID, dict[str, datetime]] = {}
    for start in range(0, len(ids), 500):  # bounded IN lists
        query = (select(LetterEvent.letter_id, LetterEvent.type, LetterEvent.at)
                 .where(col(LetterEvent.letter_id).in_(ids[start:start + 500]), col(LetterEvent.type).in_(TIMED_EVENTS))
                 .order_by(col(LetterEvent.id)))
        for letter_id, kind, at in session.exec(query):
            times.setdefault(letter_id, {}).setdefault(kind, as_utc(at))
    return times


def _seconds(later: datetime | None, earlier: datetime | None) -> float | None:
    return (later - earlier).total_seconds() if later and earlier else None


def letter_report(session: Session, *, catalog: Catalog, year: int, village_ids: Sequence[int]) -> LetterReport:
    """The report for year over the villages named (one for a village office, several for a regency)."""
    villages = {v.id: v for v in session.exec(select(Village).where(col(Village.id).in_(list(village_ids))))
                if v.id is not None}
    letters = _letters(session, villages, year)
    times = _event_times(session, [letter.id for letter, _ in letters])
    posts = {c.id: c.name for c in session.exec(select(Client).where(col(Client.village_id).in_(list(villages))))}
    statuses = Counter(letter.status for letter, _ in letters)
    per_type: Counter[tuple[str, int, bool]] = Counter()
    per_post: Counter[tuple[str, str]] = Counter()
    to_issue, to_decision = [], []
    for letter, month in letters:
        issued = letter.status in EVER_ISSUED
        per_type[(letter.type, month, issued)] += 1
        post = posts.get(letter.client_id, str(letter.client_id))
        per_post[(post, "submitted")] += 1
        per_post[(post, "issued")] += issued
        per_post[(post, "rejected")] += letter.status == LetterStatus.REJECTED
        seen = times.get(letter.id, {})
        if (spent := _seconds(seen.get("issued"), as_utc(letter.created_at))) is not None:
            to_issue.append(spent)
        if (waited := _seconds(seen.get("approved") or seen.get("rejected"), seen.get("draft_rendered"))) is not None:
            to_decision.append(waited)
    return LetterReport(
        year=year, villages=sorted(v.code for v in villages.values()), submitted=len(letters),
        issued=statuses[LetterStatus.ISSUED] + statuses[LetterStatus.REVOKED], rejected=statuses[LetterStatus.REJECTED],
        revoked=statuses[LetterStatus.REVOKED], failed=statuses[LetterStatus.FAILED],
        by_type_and_month=_by_type_and_month(per_type, catalog), by_post=_by_post(per_post),
        submission_to_issue=duration(to_issue), waiting_for_approval=duration(to_decision))


def _by_type_and_month(counts: Counter[tuple[str, int, bool]], catalog: Catalog) -> list[TypeMonth]:
    keys = sorted({(code, month) for code, month, _ in counts})
    titles: dict[str, Any] = {code: t.title for code, t in catalog.types.items()}
    return [TypeMonth(type=code, title=titles.get(code, code), month=month,
                      submitted=counts[(code, month, True)] + counts[(code, month, False)],
                      issued=counts[(code, month, True)]) for code, month in keys]


def _by_post(counts: Counter[tuple[str, str]]) -> list[PostTotals]:
    names = sorted({post for post, _ in counts})
    return [PostTotals(post=name, submitted=counts[(name, "submitted")], issued=counts[(name, "issued")],
                       rejected=counts[(name, "rejected")]) for name in names]

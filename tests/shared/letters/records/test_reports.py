"""Reports: a year's letters per type and month, per post, outcomes, and how long issuing and approval took.

Letters go through the real workflow on SQLite and PostgreSQL; then their submission and event times are set
to moments written out here, so every expected count and duration is stated by hand.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import col, update

from shared.db import session_scope
from shared.letters.intake.catalog import load_catalog
from shared.letters.intake.validation import example_request
from shared.letters.records.reports import Duration, PostTotals, TypeMonth, letter_report
from shared.letters.signing.provisioning import ensure_village_keys
from shared.letters.workflow import issuing, lifecycle
from shared.models import Client, Letter, LetterEvent
from tests.conftest import Office, in_person

WIB = timedelta(hours=7)


def wib(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A moment written in WIB, as UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC) - WIB


def letter(office: Office, code: str, post: Client, created: datetime, steps: dict[str, datetime]) -> uuid.UUID:
    """A letter taken as far as steps say (draft_rendered, approved or rejected, issued), then dated by hand."""
    settings = office.settings
    body = example_request(load_catalog(settings.templates_dir).types[code])
    with session_scope(settings) as session:
        ensure_village_keys(session, settings)
        letter_id = lifecycle.submit_letter(session=session, settings=settings, client=post, body=body).id
        if "draft_rendered" in steps:
            assert lifecycle.render_draft(session=session, settings=settings, letter_id=letter_id)
        if "approved" in steps:
            lifecycle.approve_letter(session=session, settings=settings, letter_id=letter_id, actor=office.official,
                                     checked_in_person=in_person(code))
        if "rejected" in steps:
            lifecycle.reject_letter(session=session, letter_id=letter_id, actor=office.official,
                                    reason="Berkas belum lengkap")
        if "issued" in steps:
            assert issuing.issue_letter(session=session, settings=settings, letter_id=letter_id)
        session.exec(update(Letter).where(col(Letter.id) == letter_id).values(created_at=created))
        for kind, at in steps.items():
            session.exec(update(LetterEvent).where(col(LetterEvent.letter_id) == letter_id,
                                                   col(LetterEvent.type) == kind).values(at=at))
        session.commit()
    return letter_id


def test_a_years_report_counts_by_the_villages_calendar_and_times_each_step(office: Office) -> None:
    pos1, pos2 = office.post, office.other_post
    letter(office, "sktm", pos1, wib(2026, 3, 2, 9, 0), {
        "draft_rendered": wib(2026, 3, 2, 9, 1), "approved": wib(2026, 3, 2, 9, 31), "issued": wib(2026, 3, 2, 9, 32)})
    revoked = letter(office, "sktm", pos1, wib(2026, 3, 10, 10, 0), {
        "draft_rendered": wib(2026, 3, 10, 10, 1), "approved": wib(2026, 3, 10, 12, 1),
        "issued": wib(2026, 3, 10, 12, 2)})
    letter(office, "domisili", pos2, wib(2026, 4, 1, 8, 0), {
        "draft_rendered": wib(2026, 4, 1, 8, 1), "rejected": wib(2026, 4, 1, 8, 11)})
    letter(office, "usaha", pos1, wib(2026, 1, 1, 0, 30), {})  # 31 December 2025 in UTC, 2026 in the village
    letter(office, "usaha", pos1, wib(2027, 1, 1, 0, 30), {})  # still 2026 in UTC, 2027 in the village
    with session_scope(office.settings) as session:
        lifecycle.revoke_letter(session=session, letter_id=revoked, actor=office.official, reason="Salah alamat")
    catalog = load_catalog(office.settings.templates_dir)
    with session_scope(office.settings) as session:
        report = letter_report(session, catalog=catalog, year=2026, village_ids=[office.village.id])
    assert (report.villages, report.submitted, report.issued, report.rejected, report.revoked, report.failed) == (
        ["Ds.Uji"], 4, 2, 1, 1, 0)
    assert report.by_type_and_month == [
        TypeMonth(type="domisili", title="Surat Keterangan Domisili", month=4, submitted=1, issued=0),
        TypeMonth(type="sktm", title="Surat Keterangan Tidak Mampu", month=3, submitted=2, issued=2),
        TypeMonth(type="usaha", title="Surat Keterangan Usaha", month=1, submitted=1, issued=0)]
    assert report.by_post == [PostTotals(post="pos-1", submitted=3, issued=2, rejected=0),
                              PostTotals(post="pos-2", submitted=1, issued=0, rejected=1)]
    # 32 and 122 minutes from submission to issue; 30 and 120 minutes to approval, 10 to rejection
    assert report.submission_to_issue == Duration(letters=2, median_seconds=4620, p90_seconds=7320)
    assert report.waiting_for_approval == Duration(letters=3, median_seconds=1800, p90_seconds=7200)
    with session_scope(office.settings) as session:
        next_year = letter_report(session, catalog=catalog, year=2027, village_ids=[office.village.id])
        nobody = letter_report(session, catalog=catalog, year=2026, village_ids=[])
    assert (next_year.submitted, next_year.by_type_and_month[0].month) == (1, 1)
    assert (nobody.submitted, nobody.villages, nobody.submission_to_issue.median_seconds) == (0, [], None)

"""The report's charts: SVG that parses, names the letter types and posts, shows the counts, runs no script."""

from __future__ import annotations

from datetime import timedelta
from xml.etree import ElementTree

import pytest

from shared.db import session_scope
from shared.letters.intake.catalog import load_catalog
from shared.letters.records.charts import CHARTS
from shared.letters.records.reports import LetterReport, letter_report
from tests.conftest import Office
from tests.shared.letters.records.test_reports import letter, wib

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def report(office: Office) -> LetterReport:
    """Three SKTMs in March (two issued, after 32 and 122 minutes) and two domisili in April."""
    pos1, pos2 = office.post, office.other_post
    for day, issued_after in ((2, 32), (3, 122)):
        submitted = wib(2026, 3, day, 9, 0)
        letter(office, "sktm", pos1, submitted, {
            "draft_rendered": submitted + timedelta(minutes=1),
            "approved": submitted + timedelta(minutes=issued_after - 1),
            "issued": submitted + timedelta(minutes=issued_after)})
    letter(office, "sktm", pos2, wib(2026, 3, 20, 9, 0), {})
    for day in (6, 7):
        letter(office, "domisili", pos2, wib(2026, 4, day, 8, 0), {
            "draft_rendered": wib(2026, 4, day, 8, 1), "rejected": wib(2026, 4, day, 8, 11)})
    with session_scope(office.settings) as session:
        return letter_report(session, catalog=load_catalog(office.settings.templates_dir), year=2026,
                             village_ids=[office.village.id])


def parsed(svg: str) -> ElementTree.Element:
    root = ElementTree.fromstring(svg)  # well-formed XML, or this raises
    assert root.tag == f"{SVG}svg"
    assert [e.tag for e in root.iter() if e.tag == f"{SVG}script"] == [] and "<script" not in svg
    assert "javascript" not in svg.lower()
    assert not [name for e in root.iter() for name in e.attrib if name.lower().startswith("on")]
    return root


def printed_values(root: ElementTree.Element) -> list[str]:
    """The numbers written on the bars, in drawing order."""
    return [e.text for e in root.iter(f"{SVG}text") if "value" in e.get("class", "").split() and e.text]


def texts(root: ElementTree.Element) -> set[str]:
    return {(e.text or "").strip() for e in root.iter() if e.tag in (f"{SVG}text", f"{SVG}tspan")}


def test_letters_per_month_are_stacked_by_type_with_their_counts(report: LetterReport) -> None:
    root = parsed(CHARTS["by-type-and-month"](report))
    assert {"Surat Keterangan Tidak Mampu", "Surat Keterangan Domisili", "Mar", "Apr", "Des"} <= texts(root)
    assert "Surat diajukan per bulan, 2026" in texts(root)
    assert sorted(printed_values(root)) == ["2", "3"]  # 3 SKTMs in March, 2 domisili in April


def test_letters_per_post_show_submitted_issued_and_rejected(report: LetterReport) -> None:
    root = parsed(CHARTS["by-post"](report))
    assert {"pos-1", "pos-2", "Diajukan", "Terbit", "Ditolak"} <= texts(root)
    # pos-1: 2 submitted, 2 issued, 0 rejected; pos-2: 3 submitted, 0 issued, 2 rejected
    assert printed_values(root) == ["2", "3", "2", "2"]  # zeroes are left unwritten


def test_durations_are_told_in_a_readable_unit(report: LetterReport) -> None:
    root = parsed(CHARTS["durations"](report))
    assert {"Pengajuan sampai terbit", "Menunggu keputusan petugas", "Median"} <= texts(root)
    # to issue: median of 32 and 122 minutes = 77 = 1.3 h, p90 122 minutes = 2.0 h; to a decision: 30, 120, 10, 10
    assert sorted(printed_values(root)) == sorted(["1,3 jam", "0,3 jam", "2,0 jam", "2,0 jam"])  # median 20 min


def test_a_year_without_letters_says_so(office: Office) -> None:
    with session_scope(office.settings) as session:
        empty = letter_report(session, catalog=load_catalog(office.settings.templates_dir), year=2030,
                              village_ids=[office.village.id])
    for draw in CHARTS.values():
        assert "Belum ada surat" in texts(parsed(draw(empty)))

"""The officials' reports page: the year's charts as <img> from a session-authenticated route, the numbers in
tables beneath, and the outgoing-letter register of the year as XLSX, PDF and CSV."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook

from services.web.reports import span
from shared.db import session_scope
from shared.models import Letter, Village
from shared.villages import village_today
from tests.pdftools import pdf_text_flat
from tests.web.conftest import Pages


def this_year(pages: Pages) -> int:
    with session_scope(pages.settings) as session:
        village = session.get(Village, pages.village_id)
        assert village is not None
        return village_today(village).year


def test_the_reports_page_counts_real_letters_and_downloads_the_register(pages: Pages) -> None:
    issued = [pages.letter(name=name, status="issued") for name in ("Ujang Satu", "Ujang Dua")]
    pages.letter(name="Ujang Tiga")  # awaiting approval: counted as submitted, not in the register
    year = this_year(pages)
    official = pages.browser("petugas")
    page = official.get("/petugas/laporan").get_data(as_text=True)  # the village's current year by default
    assert f"Laporan surat tahun {year}" in page and 'href="/petugas/laporan"' in page  # in the nav
    assert re.search(r"<th scope=\"row\">Diajukan</th><td>3</td>", page)
    assert re.search(r"Terbit \(termasuk yang dicabut\)</th><td>2</td>", page)
    assert re.search(r"Surat Keterangan Tidak Mampu</th>(<td>\d+</td>){12}<td>3</td><td>2</td>", page)
    charts = re.findall(r'<img class="chart" src="([^"]+)"[^>]*alt="([^"]+)"', page)
    assert len(charts) == 3 and all(alt.strip() for _, alt in charts)
    for src, _ in charts:
        svg = official.get(src.replace("&amp;", "&"))
        assert svg.status_code == 200 and svg.mimetype == "image/svg+xml", src
        assert b"<script" not in svg.data and b"<svg" in svg.data
        assert "script-src" not in svg.headers["Content-Security-Policy"]
    with session_scope(pages.settings) as session:
        numbers = [str(letter.number) for letter in (session.get(Letter, i) for i in issued) if letter]
    assert len(numbers) == 2 and all(number.startswith("401") for number in numbers)
    workbook = official.get(f"/petugas/laporan/agenda.xlsx?tahun={year}")
    assert workbook.headers["Content-Disposition"].startswith('attachment; filename="buku-agenda-surat-keluar-')
    sheet = load_workbook(io.BytesIO(workbook.data)).active
    assert sheet is not None
    assert sorted(str(row[2]) for row in sheet.iter_rows(min_row=2, values_only=True)) == sorted(numbers)
    pdf = official.get(f"/petugas/laporan/agenda.pdf?tahun={year}")
    assert pdf.mimetype == "application/pdf" and all(number in pdf_text_flat(pdf.data) for number in numbers)
    csv = official.get(f"/petugas/laporan/agenda.csv?tahun={year}").get_data(as_text=True)
    assert all(number in csv for number in numbers)
    assert "Belum ada surat" in official.get(f"/petugas/laporan?tahun={year - 1}").get_data(as_text=True)


def test_posts_may_not_see_reports_and_a_bad_year_is_named_beside_its_field(pages: Pages) -> None:
    post = pages.browser("pos-a")
    assert post.get("/petugas/laporan").status_code == 403
    assert post.get("/petugas/laporan/agenda.xlsx?tahun=2026").status_code == 403
    assert post.get("/petugas/laporan/grafik/by-post.svg?tahun=2026").status_code == 403
    official = pages.browser("petugas")
    for bad in ("abc", "1999"):
        answer = official.get(f"/petugas/laporan?tahun={bad}")
        assert answer.status_code == 422
        assert re.search(r'id="tahun-galat">[^<]+', answer.get_data(as_text=True)), bad
    assert official.get("/petugas/laporan/grafik/pie.svg?tahun=2026").status_code == 404
    assert official.get("/petugas/laporan/agenda.docx?tahun=2026").status_code == 404


def test_durations_are_written_as_people_say_them() -> None:
    assert [span(s) for s in (None, 11.5, 59.9, 60, 3720, 90000)] == [
        "-", "11 detik", "59 detik", "1 menit", "1 jam 2 menit", "1 hari 1 jam"]

"""The office records over HTTP: the register as JSON, CSV, XLSX and PDF, each matching the letters the village
issued (their numbers as the letters API shows them), and the year's report; both for officials only."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.api.conftest import Api
from tests.api.world import World, build_world

REASON = "Nama pemohon salah ketik"
HEADINGS = ["No.", "Tanggal", "Nomor Surat", "Kode Klasifikasi", "Perihal", "Nama Pemohon", "Penanda Tangan",
            "Status", "Tanggal Dicabut", "Alasan Pencabutan"]


@pytest.fixture
def world(api: Api) -> World:
    world = build_world(api)
    revoked = api.call("POST", f"/api/v1/letters/{world.letters['revoke']}/revoke", "official", json={"reason": REASON})
    assert revoked.status_code == 200
    return world


def letter(world: World, purpose: str) -> dict[str, Any]:
    return world.api.call("GET", f"/api/v1/letters/{world.letters[purpose]}", "official").get_json()


def year_of(world: World) -> int:
    return int(letter(world, "read")["number"].rsplit("/", 1)[1])


def download(world: World, fmt: str, who: str = "official", **params: Any) -> Any:
    query = "&".join(f"{k}={v}" for k, v in {"year": year_of(world), "format": fmt, **params}.items())
    return world.api.call("GET", f"/api/v1/register?{query}", who)


def test_the_json_register_has_the_issued_and_the_revoked_letter_and_nothing_else(world: World) -> None:
    read, revoked = letter(world, "read"), letter(world, "revoke")
    body = download(world, "json").get_json()
    assert (body["village"], body["year"], body["month"]) == ("Ds.Cjk", year_of(world), None)
    rows = [(r["running_number"], r["number"], r["status"], r["revocation_reason"], r["letter_id"])
            for r in body["rows"]]
    assert rows == [(1, read["number"], "issued", None, read["id"]),
                    (2, revoked["number"], "revoked", REASON, revoked["id"])]
    assert body["rows"][0]["title"] == "Surat Keterangan Tidak Mampu"
    assert body["rows"][0]["applicant_name"] == world.api.example()["applicant"]["name"]
    assert body["rows"][1]["revoked_on"] is not None


def test_the_csv_and_the_spreadsheet_carry_the_same_rows(world: World) -> None:
    rows = download(world, "json").get_json()["rows"]
    answer = download(world, "csv")
    assert answer.mimetype == "text/csv" and answer.headers["Content-Disposition"] == (
        f'attachment; filename="buku-agenda-surat-keluar-ds-cjk-{year_of(world)}.csv"')
    lines = list(csv.reader(io.StringIO(answer.get_data().decode("utf-8-sig"))))
    assert lines[0] == HEADINGS
    assert [(line[0], line[1], line[2], line[7], line[9]) for line in lines[1:]] == [
        (str(r["running_number"]), r["letter_date"], r["number"], "Terbit" if r["status"] == "issued" else "Dicabut",
         r["revocation_reason"] or "") for r in rows]
    book = load_workbook(io.BytesIO(download(world, "xlsx").get_data()))
    sheet = book.active
    assert sheet is not None and sheet.freeze_panes == "A2"
    assert [cell.value for cell in sheet[1]] == HEADINGS and all(cell.font.b for cell in sheet[1])
    assert sheet.column_dimensions["C"].width >= 25  # the letter number fits
    for index, row in enumerate(rows, start=2):
        typed = sheet.cell(index, 2).value
        assert isinstance(typed, datetime) and typed.date().isoformat() == row["letter_date"]  # a date, not text
        assert (sheet.cell(index, 1).value, sheet.cell(index, 3).value) == (row["running_number"], row["number"])


def test_the_pdf_is_landscape_f4_under_the_letterhead_and_marks_the_revoked_letter(world: World,
                                                                                   tmp_path: Path) -> None:
    answer = download(world, "pdf")
    assert answer.mimetype == "application/pdf"
    path = tmp_path / "agenda.pdf"
    path.write_bytes(answer.get_data())
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True, timeout=60).stdout
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())  # type: ignore[union-attr]
    assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (330, 215)  # F4, landscape
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True,
                          timeout=60).stdout
    assert "PEMERINTAH KABUPATEN SUKABUMI" in text and "BUKU AGENDA SURAT KELUAR" in text
    assert f"Tahun {year_of(world)}" in text
    for purpose in ("read", "revoke"):
        assert letter(world, purpose)["number"] in text
    assert "DICABUT" in text and REASON in text


def test_only_officials_get_a_register_and_a_bad_query_names_the_parameter(world: World) -> None:
    assert download(world, "json", who="post_a").status_code == 403
    assert download(world, "json", who="official_b").get_json()["rows"] == []  # their own village's, empty
    for query, field in (("format=json", "year"), ("year=2026&format=doc", "format"),
                         ("year=2026&month=13", "month"), ("year=2026&bulan=12", "bulan")):
        problem = world.api.call("GET", f"/api/v1/register?{query}", "official")
        assert problem.status_code == 422 and [e["field"] for e in problem.get_json()["errors"]] == [field]
    assert download(world, "json", month=1 if datetime.now().month != 1 else 2).get_json()["rows"] == []


def test_the_report_counts_the_villages_letters_for_officials_only(world: World) -> None:
    year = year_of(world)
    report = world.api.call("GET", f"/api/v1/reports?year={year}", "official").get_json()
    # build_world: two letters issued (one since revoked), three drafts awaiting approval
    assert (report["villages"], report["submitted"], report["issued"], report["revoked"]) == (["Ds.Cjk"], 5, 2, 1)
    assert report["submission_to_issue"]["letters"] == 2 and report["waiting_for_approval"]["letters"] == 2
    assert [row["post"] for row in report["by_post"]] == ["post_a"]
    assert world.api.call("GET", f"/api/v1/reports?year={year}", "post_a").status_code == 403
    problem = world.api.call("GET", "/api/v1/reports?year=dua-ribu", "official")
    assert problem.status_code == 422 and [e["field"] for e in problem.get_json()["errors"]] == ["year"]

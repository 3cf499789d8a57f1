"""Every letter type through a real API and worker, a type whose approval a village switched off, and a
village that changes its numbering mid-year."""

from __future__ import annotations

import re
import subprocess
import tempfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import select

from shared.db import session_scope
from shared.letters.documents.wording import format_indonesian_date
from shared.models import Letter
from shared.villages import DEMO_PROFILE
from tests.conftest import Stack, run_cli
from tests.pdftools import pdf_text
from tests.worker.batch import wait_all

F4_POINTS = (609.4, 935.4)


def letter_types(stack: Stack) -> dict[str, dict]:
    return {t["code"]: t for t in stack.request("GET", "/api/v1/letter-types", stack.post_token).json()}


def page_size(pdf: bytes) -> tuple[float, float]:
    """The first page's size in points, as pdfinfo reports it."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "letter.pdf"
        path.write_bytes(pdf)
        info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    width, height = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups()  # type: ignore[union-attr]
    return float(width), float(height)


def test_every_letter_type_is_issued_on_f4_with_title_number_and_date(stack: Stack) -> None:
    types = letter_types(stack)
    assert set(types) == {"sktm", "domisili", "usaha", "pengantar", "kelahiran", "kematian", "pindah",
                          "belum_menikah", "kartu_sehat_desa"}
    ids = {}
    for code, letter_type in types.items():
        response = stack.submit(letter_type["example"])
        assert response.status_code == 202, (code, response.text)
        ids[code] = response.json()["id"]
    wait_all(stack, list(ids.values()), "awaiting_approval", timeout=60)
    for code, letter_id in ids.items():
        assert stack.approve(letter_id, code).status_code == 200
    wait_all(stack, list(ids.values()), "issued", timeout=60)
    today = format_indonesian_date(datetime.now(ZoneInfo("Asia/Jakarta")).date())  # Cijengkol is WIB
    for code, letter_id in ids.items():
        number = stack.request("GET", f"/api/v1/letters/{letter_id}", stack.official_token).json()["number"]
        assert number.startswith(types[code]["classification"] + "/"), number
        pdf = stack.request("GET", f"/api/v1/letters/{letter_id}/pdf", stack.official_token).content
        width, height = page_size(pdf)
        assert abs(width - F4_POINTS[0]) < 1 and abs(height - F4_POINTS[1]) < 1, (code, width, height)
        text = pdf_text(pdf)
        assert types[code]["title"].upper() in text, code
        assert f"Nomor: {number}" in text and f"Cijengkol, {today}" in text, code


def test_a_type_without_approval_is_issued_by_the_worker_alone(stack: Stack, tmp_path) -> None:
    profile = tmp_path / "cijengkol.toml"
    text = DEMO_PROFILE.read_text(encoding="utf-8").replace("# pengantar = false", "pengantar = false")
    logo = DEMO_PROFILE.parent / "cijengkol-logo.png"
    profile.write_text(text.replace('logo = "cijengkol-logo.png"', f'logo = "{logo}"'))
    run_cli(stack.env, "villages", "load", str(profile))
    try:
        response = stack.submit(letter_types(stack)["pengantar"]["example"])
        assert response.status_code == 202, response.text
        letter = stack.wait_for(response.json()["id"], "issued")
    finally:
        run_cli(stack.env, "villages", "load", str(DEMO_PROFILE))
    events = [(e["type"], e["actor"], e.get("automatic")) for e in letter["events"]]
    assert events == [("submitted", "post:pos-a", None), ("draft_rendered", "worker", None),
                      ("approved", "system", True), ("issued", "worker", None)]
    assert letter["number"].startswith("470/")
    assert "SURAT PENGANTAR" in pdf_text(stack.request("GET", f"/api/v1/letters/{letter['id']}/pdf",
                                                        stack.official_token).content)


def demo_profile_with(tmp_path: Path, old: str, new: str) -> Path:
    profile = tmp_path / "cijengkol.toml"
    text = DEMO_PROFILE.read_text(encoding="utf-8")
    assert old in text
    logo = DEMO_PROFILE.parent / "cijengkol-logo.png"
    profile.write_text(text.replace(old, new).replace('logo = "cijengkol-logo.png"', f'logo = "{logo}"'))
    return profile


def issue_examples(stack: Stack, *codes: str) -> None:
    types = letter_types(stack)
    ids = [stack.submit(types[code]["example"]).json()["id"] for code in codes]
    wait_all(stack, ids, "awaiting_approval", timeout=60)
    for code, letter_id in zip(codes, ids, strict=True):
        assert stack.approve(letter_id, code).status_code == 200
    wait_all(stack, ids, "issued", timeout=60)


def test_a_village_switching_to_one_shared_count_and_back_never_repeats_a_number(stack: Stack, tmp_path: Path) -> None:
    issue_examples(stack, "sktm", "domisili")  # per type: 401/..., 470/...
    shared = demo_profile_with(tmp_path, 'sequence = "per_type"', 'sequence = "shared"')
    run_cli(stack.env, "villages", "load", str(shared))
    try:
        issue_examples(stack, "sktm", "domisili", "sktm")  # the shared count starts at 001 again
    finally:
        run_cli(stack.env, "villages", "load", str(DEMO_PROFILE))
    issue_examples(stack, "sktm", "pengantar")  # per type again: the 401 and 470 counts meet shared numbers
    with session_scope(stack.settings()) as session:  # every letter above was issued (issue_examples waits)
        numbers = [n for n in session.exec(select(Letter.number)).all() if n is not None]
    assert len(set(numbers)) == len(numbers) >= 7

"""A letter's whole path through a real API process and a real Celery worker, on both backends."""

from __future__ import annotations

import re
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from shared.letters.signing.signatures import trust_roots, validate_signed_pdf
from shared.queue import ISSUE_LETTER, RENDER_DRAFT, TaskQueue
from tests.conftest import Stack
from tests.pdftools import image_count, pdf_text, pdf_text_flat, pdfsig, qr_codes


def example(stack: Stack, code: str = "sktm") -> dict:
    types = stack.request("GET", "/api/v1/letter-types", stack.post_token).json()
    return next(t["example"] for t in types if t["code"] == code)


def submit_and_draft(stack: Stack, body: dict) -> str:
    response = stack.submit(body)
    assert response.status_code == 202, response.text
    letter_id = response.json()["id"]
    stack.wait_for(letter_id, "awaiting_approval")
    return letter_id


def test_submitted_letter_gets_a_draft_pdf(stack: Stack) -> None:
    body = example(stack)
    body["applicant"]["name"] = "Nur'aini <b>Siti-Rahmah</b>"
    body["applicant"]["nik"], body["applicant"]["sex"] = "3202095203850001", "P"
    letter_id = submit_and_draft(stack, body)
    response = stack.request("GET", f"/api/v1/letters/{letter_id}/draft.pdf", stack.official_token)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
    assert "3202095203850001" not in response.headers["Content-Disposition"]
    text = pdf_text_flat(response.content)
    assert "SURAT KETERANGAN TIDAK MAMPU" in text
    assert "Nur'aini <b>Siti-Rahmah</b>" in text
    assert "KONSEP" in text.replace(" ", "")
    assert qr_codes(response.content) == [] and image_count(response.content) == 1  # the emblem, from its table
    own = stack.request("GET", f"/api/v1/letters/{letter_id}/draft.pdf", stack.post_token)
    assert own.status_code == 200 and own.content == response.content
    events = stack.request("GET", f"/api/v1/letters/{letter_id}", stack.post_token).json()["events"]
    assert [(e["type"], e["actor"]) for e in events] == [("submitted", "post:pos-a"), ("draft_rendered", "worker")]


def test_approved_letters_are_numbered_signed_and_carry_a_qr(stack: Stack) -> None:
    first, second = submit_and_draft(stack, example(stack)), submit_and_draft(stack, example(stack))
    for letter_id in (first, second):
        assert stack.approve(letter_id).status_code == 200
        stack.wait_for(letter_id, "issued")
    letters = [stack.request("GET", f"/api/v1/letters/{i}", stack.official_token).json() for i in (first, second)]
    numbers = [letter["number"] for letter in letters]
    today = datetime.now(ZoneInfo("Asia/Jakarta")).date()  # letters are dated in the village's zone (WIB)
    year, month = today.year, "I II III IV V VI VII VIII IX X XI XII".split()[today.month - 1]
    seqs = []
    for number in numbers:
        match = re.fullmatch(rf"401/(\d{{3}})/Ds\.Cjk/{month}/{year}", number)
        assert match, number
        seqs.append(int(match.group(1)))
    assert seqs[1] == seqs[0] + 1

    response = stack.request("GET", f"/api/v1/letters/{first}/pdf", stack.post_token)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
    assert "3202091203850001" not in response.headers["Content-Disposition"]
    assert numbers[0].replace("/", "-") in response.headers["Content-Disposition"]
    pdf = response.content
    text = pdf_text(pdf)
    assert numbers[0] in text and "KONSEP" not in text and "Ujang Contoh" in text and image_count(pdf) == 1
    check = validate_signed_pdf(pdf, trust_roots(stack.home / "keys"))
    assert check.valid and check.subfilter == "/ETSI.CAdES.detached" and check.is_development
    assert "Kepala Desa Cijengkol" in (check.signer_subject or "")
    report = pdfsig(pdf)
    assert "Signature is Valid." in report
    assert "ETSI.CAdES.detached" in report and "Total document signed" in report
    token_url = letters[0]["verification_url"]
    assert token_url.startswith(stack.base_url + "/v/") and len(token_url.rsplit("/", 1)[1]) >= 22
    assert qr_codes(pdf) == [token_url]
    assert [e["type"] for e in letters[0]["events"]] == ["submitted", "draft_rendered", "approved", "issued"]
    assert letters[0]["events"][2]["actor"] == "official:petugas"


def test_redelivered_messages_change_nothing(stack: Stack) -> None:
    letter_id = submit_and_draft(stack, example(stack, "domisili"))
    assert stack.approve(letter_id, "domisili").status_code == 200
    before = stack.wait_for(letter_id, "issued")
    pdf_before = stack.request("GET", f"/api/v1/letters/{letter_id}/pdf", stack.official_token).content
    queue = TaskQueue(stack.settings())
    for task in (RENDER_DRAFT, ISSUE_LETTER, ISSUE_LETTER):
        assert queue.enqueue(task, before["id"])
    deadline = time.monotonic() + 20
    while stack.log("worker").count(f"{letter_id}: nothing to do") < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert stack.log("worker").count(f"{letter_id}: nothing to do") == 3
    after = stack.request("GET", f"/api/v1/letters/{letter_id}", stack.official_token).json()
    assert after["number"] == before["number"] and after["events"] == before["events"]
    assert stack.request("GET", f"/api/v1/letters/{letter_id}/pdf", stack.official_token).content == pdf_before


def test_rejected_letter_keeps_its_reason_and_gets_no_number(stack: Stack) -> None:
    letter_id = submit_and_draft(stack, example(stack))
    response = stack.request("POST", f"/api/v1/letters/{letter_id}/reject", stack.official_token,
                             json={"reason": "Foto KTP tidak terbaca"})
    assert response.status_code == 200
    letter = stack.request("GET", f"/api/v1/letters/{letter_id}", stack.post_token).json()
    assert letter["status"] == "rejected" and letter["reason"] == "Foto KTP tidak terbaca"
    assert letter["number"] is None and letter["verification_url"] is None
    assert letter["events"][-1] == {"type": "rejected", "at": letter["events"][-1]["at"],
                                    "actor": "official:petugas", "reason": "Foto KTP tidak terbaca"}
    again = stack.request("POST", f"/api/v1/letters/{letter_id}/approve", stack.official_token)
    assert again.status_code == 409

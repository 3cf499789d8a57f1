"""The whole path in Debian's Chromium, on a running stack (`suratdesa api`, a real worker, the sweeper): a post
signs in with the keyboard, submits an SKTM through the generated form, fixes the bad NIK the server names,
prints the receipt; an official sees the draft preview and approves; the post's list shows the letter issued
without a reload and downloads the PDF; the resident's tracking page says it is ready; the QR on the PDF,
decoded from pixels, opens the verification page. Every page passes axe-core, fits 360 px, is screenshotted,
and loads over the slow rural connection within budget."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from shared.letters.intake.catalog import load_catalog
from shared.letters.intake.validation import example_request
from tests.conftest import ROOT, Stack, running_stack
from tests.pdftools import pdf_text, qr_codes
from tests.web.browser import PAGE_BUDGET_BYTES, PAGE_BUDGET_MS, artifact, browser, check_page, slow_load

__all__ = ["browser"]  # the module's browser fixture
PASSWORDS = {"pos-cijengkol": "kata-sandi-pos-2026", "kasi-pelayanan": "kata-sandi-kasi-2026"}
pytestmark = pytest.mark.timeout(240)


def create_user(stack: Stack, username: str, role: str) -> None:
    result = subprocess.run([sys.executable, "-m", "services.cli", "users", "create", "--username", username,
                             "--name", f"Petugas {username}", "--role", role, "--password-stdin"],
                            input=PASSWORDS[username] + "\n", env=stack.env, capture_output=True, text=True,
                            timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def web_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("web-stack"), services=False) as stack:
        create_user(stack, "pos-cijengkol", "post")
        create_user(stack, "kasi-pelayanan", "official")
        yield stack


def sign_in_with_keyboard(page: Page, base: str, username: str) -> None:
    """Tab from the top of the sign-in page: the skip link, the username, the password; Enter submits."""
    page.goto(base + "/")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORDS[username])
    page.keyboard.press("Enter")
    page.wait_for_load_state()


def fill_sktm(page: Page) -> None:
    example = example_request(load_catalog(ROOT / "templates" / "letters").types["sktm"])
    for name, value in example["applicant"].items():
        locator = page.locator(f'[name="applicant.{name}"]')
        if locator.evaluate("e => e.tagName") == "SELECT":
            locator.select_option(value)
        else:
            locator.fill(value)
    page.fill('[name="fields.purpose"]', example["fields"]["purpose"])
    page.fill('[name="fields.monthly_income"]', "1.200.000")


def decoded_qr(png: Path) -> list[str]:
    with Image.open(png) as image:
        return [code.text for code in zxingcpp.read_barcodes(image)]


def test_the_whole_path_in_a_real_browser(web_stack: Stack, browser: Browser, tmp_path: Path) -> None:
    base = web_stack.base_url
    post_context = browser.new_context(viewport={"width": 360, "height": 800}, accept_downloads=True)
    post = post_context.new_page()
    post.goto(base + "/")
    check_page(post, "sign-in")
    sign_in_with_keyboard(post, base, "pos-cijengkol")
    expect(post).to_have_url(base + "/pos")
    check_page(post, "post-list-empty")

    post.get_by_role("link", name="Ajukan surat baru").click()
    expect(post).to_have_url(base + "/pos/ajukan")  # the new page, not the old one while it is being left
    check_page(post, "choose-type")
    post.get_by_role("link", name="Surat Keterangan Tidak Mampu").click()
    expect(post).to_have_url(base + "/pos/ajukan/sktm")
    check_page(post, "request-form")
    fill_sktm(post)
    post.locator('[name="applicant.nik"]').fill("320209120385000")  # 15 digits
    post.get_by_role("button", name="Kirim permohonan", exact=True).last.click()
    expect(post.locator("#f-applicant-nik-galat")).to_contain_text("16")
    expect(post.locator('[name="applicant.name"]')).to_have_value("Ujang Contoh")  # values kept
    check_page(post, "request-form-errors")
    post.locator('[name="applicant.nik"]').fill("3202091203850001")
    post.get_by_role("button", name="Kirim permohonan", exact=True).last.click()

    expect(post.locator("#kode-lacak")).to_be_visible()
    code = post.locator("#kode-lacak").inner_text().strip()
    check_page(post, "receipt")
    receipt_url = post.url
    post.evaluate("window.print = () => { window.printed = true; }")
    post.get_by_role("button", name="Cetak tanda terima").click()
    assert post.evaluate("window.printed") is True
    printed = post.pdf()  # the receipt as the printer gets it (print stylesheet)
    assert code in pdf_text(printed) and "Keluar" not in pdf_text(printed)
    post.set_viewport_size({"width": 1280, "height": 900})
    post.locator("figure.qr svg").screenshot(path=str(artifact("receipt-qr.png")))
    [tracking_url] = decoded_qr(artifact("receipt-qr.png"))
    assert tracking_url == f"{base}/s/{code}"

    for code in ("kelahiran", "kartu_sehat_desa", "pindah"):  # person, time, integer, boolean, persons rows
        post.goto(f"{base}/pos/ajukan/{code}")
        check_page(post, f"request-form-{code}")
    post.get_by_role("button", name="Tambah baris").first.click()
    expect(post.locator('[name="fields.members.0.nik"]')).to_be_visible()
    check_page(post, "request-form-pindah-row")
    post.goto(base + "/petugas")
    check_page(post, "error-forbidden")

    post.goto(base + "/pos")
    status = post.locator("[data-status]").first
    expect(status).not_to_have_text("Terbit")

    official_context = browser.new_context(viewport={"width": 1280, "height": 900})
    office = official_context.new_page()
    sign_in_with_keyboard(office, base, "kasi-pelayanan")
    expect(office).to_have_url(base + "/petugas")
    for _ in range(60):  # the worker renders the draft; the inbox lists it once it awaits approval
        if office.get_by_role("link", name=re.compile("Ujang Contoh")).count():
            break
        office.wait_for_timeout(500)
        office.reload()
    check_page(office, "inbox")
    office.get_by_role("link", name=re.compile("Ujang Contoh")).click()
    preview = office.locator("img.preview")
    expect(preview).to_be_visible()
    office.wait_for_load_state("load")  # images included
    assert preview.evaluate("img => img.complete && img.naturalWidth") == 900
    check_page(office, "letter-awaiting")
    for document in ("KTP-el pemohon", "Kartu Keluarga (KK)", "Surat pengantar dari Ketua RT/RW"):
        office.get_by_label(document, exact=True).check()  # nothing attached: each seen in person
    office.get_by_role("button", name="Setujui", exact=True).click()
    expect(office.locator(".flash")).to_contain_text("disetujui")

    expect(status).to_have_text("Terbit", timeout=60_000)  # no reload: the list polls
    check_page(post, "post-list-issued")
    with post.expect_download() as download_info:
        post.get_by_role("link", name="Unduh PDF").click()
    pdf_path = tmp_path / "letter.pdf"
    download_info.value.save_as(pdf_path)
    assert download_info.value.suggested_filename.startswith("surat-401-")
    pdf = pdf_path.read_bytes()
    assert pdf.startswith(b"%PDF") and "Ujang Contoh".upper() in pdf_text(pdf).upper()

    resident = browser.new_context(viewport={"width": 360, "height": 800}).new_page()
    resident.goto(f"{base}/s/2222-3333-4444")
    check_page(resident, "tracking-unknown")
    resident.goto(tracking_url)
    expect(resident.locator("#keadaan")).to_have_text("SIAP DIAMBIL")
    assert "Ujang" not in resident.content() and "3202091203850001" not in resident.content()
    check_page(resident, "tracking-ready")

    [verification_url] = qr_codes(pdf)
    resident.goto(verification_url)
    expect(resident.locator(".verdict strong")).to_have_text("SAH")
    check_page(resident, "verification")

    office.goto(base + "/petugas/cari")
    office.get_by_label("Nomor surat, nama pemohon, atau NIK lengkap").fill("3202091203850001")
    office.get_by_role("button", name="Cari").click()
    expect(office.locator("#hasil")).to_contain_text("1 surat")
    check_page(office, "search")
    office.locator("#hasil ~ ul a, #hasil + ul a").first.click()
    expect(office.locator("h1")).to_have_text("Surat Keterangan Tidak Mampu")
    check_page(office, "letter-issued")
    assert "official:kasi-pelayanan" in office.locator(".history").inner_text()
    letter_url = office.url
    office.get_by_role("link", name="Laporan").click()
    expect(office.locator("#ringkasan ~ div td").nth(1)).to_have_text("1")  # the one letter issued
    check_page(office, "reports")

    slow = {"sign-in": (base + "/", None), "post-list": (base + "/pos", post_context.storage_state()),
            "request-form": (base + "/pos/ajukan/sktm", post_context.storage_state()),
            "receipt": (receipt_url, post_context.storage_state()),
            "inbox": (base + "/petugas", official_context.storage_state()),
            "letter": (letter_url, official_context.storage_state()),
            "reports": (base + "/petugas/laporan", official_context.storage_state()),
            "tracking": (tracking_url, None), "verification": (verification_url, None)}
    measured = {name: slow_load(browser, url, state) for name, (url, state) in slow.items()}
    artifact("slow-connection.json").write_text(json.dumps(
        {name: {"load_ms": round(ms), "bytes": size} for name, (ms, size) in measured.items()}, indent=2))
    for name, (elapsed, size) in measured.items():
        assert size < PAGE_BUDGET_BYTES, (name, size)
        assert elapsed < PAGE_BUDGET_MS, (name, elapsed)
    post_context.close()
    official_context.close()


def test_the_inbox_says_when_new_drafts_arrive_without_a_reload(web_stack: Stack, browser: Browser) -> None:
    base = web_stack.base_url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    office = context.new_page()
    sign_in_with_keyboard(office, base, "kasi-pelayanan")
    expect(office).to_have_url(base + "/petugas")
    notice = office.locator("[data-new-drafts]")
    expect(notice).to_be_hidden()

    example = example_request(load_catalog(ROOT / "templates" / "letters").types["sktm"])
    submitted = web_stack.submit(example)
    assert submitted.status_code == 202, submitted.text
    letter_id = submitted.json()["id"]
    expect(notice).to_be_visible(timeout=60_000)  # the worker renders the draft; the page polls every 10 s
    expect(notice).to_contain_text("1 surat baru menunggu persetujuan")
    expect(office.locator(f'[data-waiting="{letter_id}"]')).to_have_count(0)  # not reloaded behind the official
    check_page(office, "inbox-new-drafts")
    notice.get_by_role("link", name="Muat ulang").click()
    expect(office.locator(f'[data-waiting="{letter_id}"]')).to_be_visible()
    expect(office.locator("[data-new-drafts]")).to_be_hidden()
    context.close()

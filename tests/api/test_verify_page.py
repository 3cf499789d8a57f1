"""The page a letter's QR code leads to, checked the way a hospital, a bank or the police would use it."""

from __future__ import annotations

import hashlib
import re
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import requests
import zxingcpp
from PIL import Image

from services.api import create_app
from shared.config import Settings
from shared.db import get_engine
from tests.api.conftest import Api
from tests.api.world import build_world
from tests.conftest import ROOT, Stack, run_cli
from tests.pdftools import forge_signature_value

NOT_FOUND_LINE = "Surat tidak terdaftar di sistem desa"
FORGED = "Tanda tangan palsu: nilai tanda tangan tidak cocok dengan kunci sertifikat penanda tangan."
DEV_NOTICE = "Ditandatangani dengan sertifikat pengembangan desa, bukan sertifikat BSrE."
# What the page may do, directive by directive (order and spacing free): load nothing and run no script, style
# itself inline, show images of its own origin or inline, post the check form to itself, be framed by nobody.
PAGE_POLICY = {
    "default-src": {"'none'"},
    "style-src": {"'unsafe-inline'"},
    "img-src": {"'self'", "data:"},
    "form-action": {"'self'"},
    "frame-ancestors": {"'none'"},
    "base-uri": {"'none'"},
}
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
JSON = {"Accept": "application/json"}


def issue_sktm(stack: Stack) -> tuple[dict[str, Any], dict[str, Any]]:
    """Submit the catalog's SKTM example, approve it as the official, wait until it is issued."""
    types = stack.request("GET", "/api/v1/letter-types", stack.post_token).json()
    body = next(t["example"] for t in types if t["code"] == "sktm")
    submitted = stack.submit(body)
    assert submitted.status_code == 202, submitted.text
    letter_id = submitted.json()["id"]
    draft = stack.wait_for(letter_id, "awaiting_approval")
    assert draft["verification_url"] is None  # a draft has no token, so it can never verify
    approved = stack.approve(letter_id, body["type"])
    assert approved.status_code == 200, approved.text
    return body, stack.wait_for(letter_id, "issued")


def token_of(letter: dict[str, Any]) -> str:
    return str(letter["verification_url"]).rsplit("/v/", 1)[1]


def tamper(pdf: bytes) -> bytes:
    """The PDF with one byte of its first content stream changed."""
    at = pdf.index(b"stream\n") + 20
    return pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1:]


def decoded_qr_codes(pdf: Path, tmp_path: Path) -> list[str]:
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", pdf, tmp_path / "page"], check=True,
                   timeout=60)
    with Image.open(tmp_path / "page.png") as image:
        return [barcode.text for barcode in zxingcpp.read_barcodes(image)]


def verify_cli(stack: Stack, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "services.cli", "verify", str(path)], env=stack.env,
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


def upload(stack: Stack, token: str, data: bytes, **kwargs: Any) -> requests.Response:
    files = {"file": ("surat.pdf", data, "application/pdf")}
    return stack.request("POST", f"/v/{token}/check", files=files, **kwargs)


def assert_nik_hidden(text: str, nik: str) -> None:
    assert nik not in text
    assert not any(nik[i:i + 9] in text for i in range(len(nik) - 8)), "more than 8 NIK digits in a row"
    shown = re.search(r"\b\d{4}\*+\d{2}\b", text)
    assert shown is not None and sum(ch.isdigit() for ch in shown.group()) <= 8


def policy_directives(header: str) -> dict[str, set[str]]:
    """A Content-Security-Policy header as {directive: sources} (CSP Level 3 serialization)."""
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name.lower(): set(sources) for name, *sources in directives}


def assert_secure(response: requests.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name
    assert policy_directives(response.headers.get("Content-Security-Policy", "")) == PAGE_POLICY


def check_issued_page(stack: Stack, token: str, letter: dict[str, Any], nik: str) -> None:
    page = stack.request("GET", f"/v/{token}")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert_secure(page)
    html = page.text
    assert '<strong>SAH</strong>' in html and "DICABUT" not in html
    assert letter["number"] in html and "Surat Keterangan Tidak Mampu" in html
    assert "Desa Cijengkol, Kecamatan Caringin, Kabupaten Sukabumi" in html
    assert "Budi Contoh" in html and "Kepala Desa Cijengkol" in html
    assert "Uj*** Co****" in html and "Ujang" not in html
    assert letter["pdf_sha256"] in html and DEV_NOTICE in html
    assert 'name="viewport"' in html and "<script" not in html and "http" not in html.split("<body>")[1]
    assert_nik_hidden(html, nik)

    data = stack.request("GET", f"/v/{token}", headers=JSON)
    assert data.headers["Content-Type"] == "application/json"
    view = data.json()
    assert {k: view[k] for k in ("status", "number", "type", "title", "sha256", "revoked_at", "reason")} == {
        "status": "valid", "number": letter["number"], "type": "sktm", "title": "Surat Keterangan Tidak Mampu",
        "sha256": letter["pdf_sha256"], "revoked_at": None, "reason": None}
    assert view["issued_at"] and view["village"] == "Desa Cijengkol, Kecamatan Caringin, Kabupaten Sukabumi"
    assert view["signer"] == {"name": "Budi Contoh", "position": "Kepala Desa Cijengkol"}
    assert view["applicant"]["name"] == "Uj*** Co****"
    assert_nik_hidden(data.text, nik)


def check_uploads(stack: Stack, token: str, pdf: bytes) -> None:
    same = upload(stack, token, pdf)
    assert same.status_code == 200
    assert_secure(same)
    assert "Berkas ini sama persis dengan surat yang diterbitkan." in same.text
    assert "Tanda tangan elektronik valid" in same.text
    changed = upload(stack, token, tamper(pdf), headers=JSON).json()["check"]
    assert changed["identical"] is False and changed["sha256"] == hashlib.sha256(tamper(pdf)).hexdigest()
    assert changed["signature"]["valid"] is False
    assert "BERBEDA" in upload(stack, token, tamper(pdf)).text
    assert "Tanda tangan tidak valid" in upload(stack, token, tamper(pdf)).text
    check_false_signature_value(stack, token, pdf)
    not_pdf = upload(stack, token, b"<html>bukan surat</html>", headers=JSON)
    assert not_pdf.status_code == 422 and not_pdf.headers["Content-Type"] == "application/problem+json"
    friendly = stack.request("POST", f"/v/{token}/check")
    assert friendly.status_code == 422 and "Tidak ada berkas yang diunggah." in friendly.text


def new_api_lines(stack: Stack, since: int, timeout: float = 10) -> list[str]:
    """The API log's lines after offset since, once gunicorn's access line for the upload is among them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = stack.log("api")[since:].splitlines()
        if any('"POST /v/[token]/check ' in line for line in lines):
            return lines
        time.sleep(0.1)
    raise AssertionError(f"no access line for the upload:\n{stack.log('api')[since:]}")


def check_malformed_uploads(stack: Stack, token: str, pdf: bytes) -> None:
    """A truncated or garbled PDF: 422 naming the field, in Indonesian, and one log line, no traceback."""
    for broken in (pdf[:len(pdf) // 2], b"%PDF-1.7\n" + bytes(range(256)) * 16):
        since = len(stack.log("api"))
        answer = upload(stack, token, broken, headers=JSON)
        assert answer.status_code == 422 and answer.headers["Content-Type"] == "application/problem+json"
        problem = answer.json()
        assert problem["errors"] == [{"field": "file",
                                      "message": "berkas PDF rusak, terpotong atau tidak dapat dibaca"}]
        assert problem["detail"].startswith("Berkas yang diunggah bukan PDF yang utuh.")
        lines = new_api_lines(stack, since)
        assert "Traceback" not in "\n".join(lines)
        about_it = [line for line in lines if '"POST /v/[token]/check ' not in line]
        assert len(about_it) == 1 and "is not a readable PDF" in about_it[0], lines
    page = upload(stack, token, pdf[:len(pdf) // 2])  # a person's browser gets the page, with the reason
    assert page.status_code == 422 and "Berkas yang diunggah bukan PDF yang utuh." in page.text


def check_false_signature_value(stack: Stack, token: str, pdf: bytes) -> None:
    """The issued file with a false ECDSA value over the right digest: not valid, by the page and by pdfsig."""
    forged = forge_signature_value(pdf)
    answer = upload(stack, token, forged, headers=JSON).json()["check"]
    assert answer["identical"] is False and answer["sha256"] == hashlib.sha256(forged).hexdigest()
    assert (answer["signature"]["valid"], answer["signature"]["intact"]) == (False, False), answer
    assert answer["signature"]["problem"] == FORGED
    page = upload(stack, token, forged).text
    assert f"Tanda tangan tidak valid: {FORGED}" in page and "BERBEDA" in page
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "palsu.pdf").write_bytes(forged)
        report = subprocess.run(["pdfsig", "-nocert", Path(tmp) / "palsu.pdf"], capture_output=True, text=True,
                                timeout=60).stdout
    assert "Signature Validation: Signature is Invalid." in report, report


def check_unknown_tokens(stack: Stack, token: str) -> None:
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for wrong in (altered, "bukan-token", "%2e%2e"):
        page = stack.request("GET", f"/v/{wrong}")
        assert page.status_code == 404 and "TIDAK DITEMUKAN" in page.text and NOT_FOUND_LINE in page.text
        assert_secure(page)
    problem = stack.request("GET", f"/v/{altered}", headers=JSON)
    assert problem.status_code == 404 and problem.headers["Content-Type"] == "application/problem+json"
    assert stack.request("POST", f"/v/{altered}/check", files={"file": ("a.pdf", b"%PDF-1.7")}).status_code == 404


def check_too_large_upload(stack: Stack, token: str) -> None:
    """Over 1 MB is refused with a page, not a 500 (in process: gunicorn may reset an unread upload)."""
    settings = Settings(suratdesa_home=stack.home, database_url=stack.env.get("DATABASE_URL"),
                        broker_url=stack.env.get("BROKER_URL"))
    client = create_app(settings).test_client()
    # A body built by hand: werkzeug's own multipart encoder spools to a temporary file that it leaves
    # open when the app refuses the upload unread.
    head = b'--b\r\nContent-Disposition: form-data; name="file"; filename="surat.pdf"\r\n\r\n%PDF-1.7\n'
    big = head + b"0" * (1024 * 1024) + b"\r\n--b--\r\n"
    page = client.post(f"/v/{token}/check", data=big, content_type="multipart/form-data; boundary=b")
    assert page.status_code == 413 and "Berkas terlalu besar" in page.get_data(as_text=True)
    get_engine(settings).dispose()


def test_the_qr_code_leads_to_a_page_that_says_sah_until_the_letter_is_revoked(stack: Stack,
                                                                                tmp_path: Path) -> None:
    body, letter = issue_sktm(stack)
    token, nik = token_of(letter), body["applicant"]["nik"]
    download = stack.request("GET", f"/api/v1/letters/{letter['id']}/pdf", stack.official_token)
    assert download.status_code == 200
    pdf, path = download.content, tmp_path / "surat.pdf"
    path.write_bytes(pdf)
    assert hashlib.sha256(pdf).hexdigest() == letter["pdf_sha256"]

    [url] = decoded_qr_codes(path, tmp_path)
    assert url == f"{stack.base_url}/v/{token}"
    assert "<strong>SAH</strong>" in requests.get(url, timeout=10).text
    signature = subprocess.run(["pdfsig", "-nocert", path], capture_output=True, text=True, timeout=60).stdout
    assert "Signature is Valid." in signature and "ETSI.CAdES.detached" in signature
    assert "Total document signed" in signature

    check_issued_page(stack, token, letter, nik)
    check_uploads(stack, token, pdf)
    check_malformed_uploads(stack, token, pdf)
    check_unknown_tokens(stack, token)
    check_too_large_upload(stack, token)
    assert run_cli(stack.env, "verify", str(path)).strip() == (
        f"SAH: {letter['number']} (Surat Keterangan Tidak Mampu), tanda tangan valid "
        "(sertifikat pengembangan desa, bukan BSrE)")
    (tmp_path / "ubah.pdf").write_bytes(tamper(pdf))
    unknown = verify_cli(stack, tmp_path / "ubah.pdf")
    assert unknown.returncode == 2 and unknown.stdout.startswith("TIDAK DIKENAL: "), unknown

    revoked = stack.request("POST", f"/api/v1/letters/{letter['id']}/revoke", stack.official_token,
                            json={"reason": "Data pemohon keliru"})
    assert revoked.status_code == 200, revoked.text
    page = stack.request("GET", f"/v/{token}")
    assert page.status_code == 200 and "<strong>DICABUT</strong>" in page.text and "<strong>SAH" not in page.text
    assert "Alasan: Data pemohon keliru" in page.text
    view = stack.request("GET", f"/v/{token}", headers=JSON).json()
    assert (view["status"], view["reason"]) == ("revoked", "Data pemohon keliru") and view["revoked_at"]
    after = verify_cli(stack, path)
    assert after.returncode == 1, after
    assert after.stdout.startswith(f"DICABUT: {letter['number']} (Surat Keterangan Tidak Mampu) dicabut pada ")
    assert "Data pemohon keliru" in after.stdout


def xref_bomb(decoded_mib: int) -> bytes:
    """A small PDF whose cross-reference stream inflates to decoded_mib MiB of zeros when decoded."""
    head = b"%PDF-1.7\n"
    catalog = b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    pages = b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
    offsets = [len(head), len(head) + len(catalog), len(head) + len(catalog) + len(pages)]
    rows = bytes([0, 0, 0, 0, 0, 255]) + b"".join(bytes([1]) + at.to_bytes(4, "big") + bytes([0]) for at in offsets)
    deflate = zlib.compressobj(9)
    data = deflate.compress(rows) + b"".join(deflate.compress(bytes(1024 * 1024)) for _ in range(decoded_mib))
    data += deflate.flush()
    xref = (b"3 0 obj\n<< /Type /XRef /Size 4 /W [1 4 1] /Root 1 0 R /Filter /FlateDecode /Length %d >>\nstream\n"
            % len(data)) + data + b"\nendstream\nendobj\n"
    return head + catalog + pages + xref + b"startxref\n%d\n%%%%EOF\n" % offsets[2]


def test_a_pdf_bomb_is_refused_as_unreadable_without_being_inflated(api: Api) -> None:
    world = build_world(api)
    bomb = xref_bomb(decoded_mib=512)
    assert len(bomb) < 1024 * 1024  # within the upload limit: a real attack
    before, started = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.monotonic()
    # A body built by hand, as in check_too_large_upload: werkzeug's encoder leaves its spool file open.
    body = b'--b\r\nContent-Disposition: form-data; name="file"; filename="surat.pdf"\r\n\r\n' + bomb + b"\r\n--b--\r\n"
    answer = api.call("POST", f"/v/{world.verification_token}/check", headers=JSON, data=body,
                      content_type="multipart/form-data; boundary=b")
    took, grew_mib = time.monotonic() - started, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert answer.status_code == 422 and answer.get_json()["errors"][0]["field"] == "file"
    assert took < 3 and grew_mib < 100, (took, grew_mib)  # 512 MiB were never decoded

"""Village keys, PAdES signing and signature checks, read back by pyHanko and by poppler's pdfsig."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import stat
import subprocess
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from reportlab.pdfgen import canvas

from shared.letters.signing import signatures
from shared.letters.signing.keys import key_usage
from shared.letters.signing.signatures import (
    DEFAULT_REASON,
    DEV_DISCLAIMER,
    ensure_dev_ca,
    ensure_village_key,
    load_signer,
    sign_pdf,
    trust_roots,
    validate_signed_pdf,
)
from tests.conftest import _tool
from tests.pdftools import forge_signature_value

VILLAGE = {
    "village_code": "Ds.Cjk",
    "village_name": "Desa Cijengkol",
    "signer_position": "Kepala Desa Cijengkol",
}
P12_PASSWORD = b"rahasia-desa"


def letter_pdf() -> bytes:
    """A one-page PDF with uncompressed text, so a test can find and change a word."""
    buffer = BytesIO()
    page = canvas.Canvas(buffer, pageCompression=0)
    page.drawString(100, 750, "SURAT KETERANGAN TIDAK MAMPU")
    page.drawString(100, 720, "Nomor: 401/012/Ds.Cjk/XI/2026")
    page.showPage()
    page.save()
    return buffer.getvalue()


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    keys = tmp_path_factory.mktemp("home") / "keys"
    ensure_village_key(keys, **VILLAGE)
    return keys


@pytest.fixture(scope="module")
def signed_pdf(keys_dir: Path) -> bytes:
    signer = load_signer(keys_dir, village_code="Ds.Cjk")
    return sign_pdf(letter_pdf(), signer, reason=DEFAULT_REASON, location="Cijengkol")


def read_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- key material -------------------------------------------------------------------------------


def test_private_keys_are_readable_by_owner_only(keys_dir: Path) -> None:
    assert mode(keys_dir / "ca") == 0o700
    assert mode(keys_dir / "ca" / "ca.key.pem") == 0o600
    assert mode(keys_dir / "villages" / "Ds.Cjk") == 0o700
    assert mode(keys_dir / "villages" / "Ds.Cjk" / "signer.key.pem") == 0o600
    assert (keys_dir / "ca" / "ca.cert.pem").is_file()


def test_dev_ca_is_a_ca_that_disclaims_bsre(keys_dir: Path) -> None:
    ca = read_cert(keys_dir / "ca" / "ca.cert.pem")
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == ("suratdesa Development CA (bukan BSrE)")
    assert ca.issuer == ca.subject
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign
    assert ca.not_valid_after_utc - ca.not_valid_before_utc > dt.timedelta(days=9 * 365)


def test_village_certificate_names_position_and_village_and_comes_from_dev_ca(keys_dir: Path) -> None:
    ca = read_cert(keys_dir / "ca" / "ca.cert.pem")
    cert = read_cert(keys_dir / "villages" / "Ds.Cjk" / "signer.cert.pem")
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Kepala Desa Cijengkol"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Desa Cijengkol"
    assert "bukan BSrE" in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value
    assert cert.issuer == ca.subject
    cert.verify_directly_issued_by(ca)  # raises unless the CA's key signed it


def test_ensuring_keys_again_changes_nothing(keys_dir: Path) -> None:
    files = sorted(p for p in keys_dir.rglob("*") if p.is_file())
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files}
    ensure_dev_ca(keys_dir)
    ensure_village_key(keys_dir, **{**VILLAGE, "signer_position": "Sekretaris Desa"})
    assert sorted(p for p in keys_dir.rglob("*") if p.is_file()) == files
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files} == before


def test_racing_workers_end_with_one_matching_key_and_certificate(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: ensure_village_key(tmp_path, **VILLAGE), range(16)))
    folder = tmp_path / "villages" / "Ds.Cjk"
    key = serialization.load_pem_private_key((folder / "signer.key.pem").read_bytes(), password=None)
    cert = read_cert(folder / "signer.cert.pem")
    assert cert.public_key() == key.public_key()
    cert.verify_directly_issued_by(read_cert(tmp_path / "ca" / "ca.cert.pem"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ca", "villages"]  # no staging dirs left
    assert [p.name for p in (tmp_path / "villages").iterdir()] == ["Ds.Cjk"]


@pytest.mark.parametrize("code", ["../evil", "a/b", "", ".", "..", ".hidden", "Ds Cjk", "Ds.Cjk\n", "x" * 65])
def test_unsafe_village_codes_are_refused(tmp_path: Path, code: str) -> None:
    with pytest.raises(ValueError):
        ensure_village_key(tmp_path, village_code=code, village_name="Desa X", signer_position="Kepala Desa X")
    assert not (tmp_path / "villages").exists()


def test_numeric_village_code_gets_its_own_folder(tmp_path: Path) -> None:
    ensure_village_key(tmp_path, village_code="3202092001", village_name="Desa X", signer_position="Kades")
    assert (tmp_path / "villages" / "3202092001" / "signer.key.pem").is_file()


def test_load_signer_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_signer(tmp_path / "keys", village_code="Ds.Cjk")
    assert list(tmp_path.iterdir()) == []


def test_loaded_signer_is_cached_until_its_files_change(keys_dir: Path) -> None:
    first = load_signer(keys_dir, village_code="Ds.Cjk")
    assert load_signer(keys_dir, village_code="Ds.Cjk") is first
    assert first.is_development
    cert_path = keys_dir / "villages" / "Ds.Cjk" / "signer.cert.pem"
    later = cert_path.stat().st_mtime_ns + 1_000_000_000
    os.utime(cert_path, ns=(later, later))
    assert load_signer(keys_dir, village_code="Ds.Cjk") is not first


def test_trust_roots_are_the_dev_ca_plus_extra_files(keys_dir: Path, tmp_path: Path) -> None:
    bsre_cert = bsre_ca(tmp_path)[1]
    extra = tmp_path / "bsre-root.pem"
    extra.write_bytes(bsre_cert.public_bytes(serialization.Encoding.PEM))
    roots = trust_roots(keys_dir, [extra])
    assert [r.subject.native["common_name"] for r in roots] == [
        "suratdesa Development CA (bukan BSrE)",
        "BSrE Uji Root CA",
    ]


# --- signing and checking -----------------------------------------------------------------------


def test_signed_letter_is_valid_pades_over_the_whole_document(keys_dir: Path, signed_pdf: bytes) -> None:
    check = validate_signed_pdf(signed_pdf, trust_roots(keys_dir))
    assert check.valid, check.problem
    assert (check.signed, check.intact, check.trusted, check.covers_whole_document) == (True,) * 4
    assert check.subfilter == "/ETSI.CAdES.detached"
    assert check.is_development
    assert check.problem is None
    assert "Kepala Desa Cijengkol" in (check.signer_subject or "")
    assert check.signing_time is not None
    assert abs(dt.datetime.now(dt.UTC) - check.signing_time) < dt.timedelta(minutes=5)


def test_development_signature_says_it_is_not_bsre(signed_pdf: bytes) -> None:
    sig = PdfFileReader(BytesIO(signed_pdf)).embedded_signatures[0]
    assert sig.field_name == "TandaTanganDesa"
    assert str(sig.sig_object["/Reason"]) == f"{DEFAULT_REASON} {DEV_DISCLAIMER}"
    assert str(sig.sig_object["/Location"]) == "Cijengkol"


def test_each_thread_and_each_forked_child_signs_on_an_event_loop_of_its_own_kept_between_letters(
        keys_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    signer, roots = load_signer(keys_dir, village_code="Ds.Cjk"), trust_roots(keys_dir)

    def sign() -> bytes:
        return sign_pdf(letter_pdf(), signer, reason=DEFAULT_REASON, location="Cijengkol")

    first, made, new_event_loop = sign(), [], asyncio.new_event_loop

    def counted() -> asyncio.AbstractEventLoop:
        made.append(new_event_loop())
        return made[-1]

    for module in (asyncio, asyncio.events):  # asyncio.run makes its loop through asyncio.events
        monkeypatch.setattr(module, "new_event_loop", counted)
    second = sign()
    assert made == []  # the second letter is signed on the first one's loop
    loop = signatures._event_loop()
    assert signatures._event_loop() is loop and not loop.is_closed()
    with ThreadPoolExecutor(max_workers=2) as pool:  # a pool thread's loop, not this thread's
        from_threads = list(pool.map(lambda _: (sign(), signatures._event_loop() is loop), range(4)))
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # a worker's pool process: it must not run its parent's loop
        try:
            os.write(write, bytes([signatures._event_loop() is loop]) + sign())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as answer:
        from_child = answer.read()
    os.waitpid(child, 0)

    assert [used_ours for _, used_ours in from_threads] == [False] * 4
    assert from_child[0] == 0
    for pdf in (first, second, *(pdf for pdf, _ in from_threads), from_child[1:]):
        assert validate_signed_pdf(pdf, roots).valid


def test_pdfsig_finds_a_valid_cades_signature_over_the_whole_file(signed_pdf: bytes, tmp_path: Path) -> None:
    out = run_pdfsig(tmp_path, signed_pdf, "-nocert")
    assert "Signature is Valid." in out
    assert "Signature Type: ETSI.CAdES.detached" in out
    assert "Total document signed" in out
    assert "Signer Certificate Common Name: Kepala Desa Cijengkol" in out


def test_pdfsig_trusts_the_chain_only_once_the_dev_ca_is_trusted(
    keys_dir: Path, signed_pdf: bytes, tmp_path: Path
) -> None:
    # A private NSS database: pdfsig would otherwise read whatever ~/.pki/nssdb happens to trust.
    certutil, nssdb = _tool("certutil"), tmp_path / "nssdb"
    nssdb.mkdir()
    subprocess.run([certutil, "-N", "-d", f"sql:{nssdb}", "--empty-password"], check=True, timeout=30)
    before = run_pdfsig(tmp_path, signed_pdf, "-nssdir", f"sql:{nssdb}")
    assert "Signature is Valid." in before
    assert "Certificate issuer isn't Trusted." in before
    ca_pem = str(keys_dir / "ca" / "ca.cert.pem")
    add_ca = [certutil, "-A", "-d", f"sql:{nssdb}", "-n", "suratdesa-dev", "-t", "C,C,C", "-i", ca_pem]
    subprocess.run(add_ca, check=True, timeout=30)
    after = run_pdfsig(tmp_path, signed_pdf, "-nssdir", f"sql:{nssdb}")
    assert "Signature is Valid." in after
    assert "Certificate Validation: Certificate is Trusted." in after


def run_pdfsig(tmp_path: Path, pdf: bytes, *options: str) -> str:
    """pdfsig's report on pdf; without pdfsig the test fails under CI=true and is skipped elsewhere."""
    path = tmp_path / "surat.pdf"
    path.write_bytes(pdf)
    return subprocess.run([_tool("pdfsig"), *options, str(path)], capture_output=True, text=True, timeout=60).stdout


def changed_byte(signed_pdf: bytes) -> bytes:
    at = signed_pdf.index(b"TIDAK MAMPU")
    return signed_pdf[:at] + b"X" + signed_pdf[at + 1 :]


def test_one_changed_byte_breaks_the_signature(keys_dir: Path, signed_pdf: bytes) -> None:
    check = validate_signed_pdf(changed_byte(signed_pdf), trust_roots(keys_dir))
    assert check.signed and not check.intact and not check.valid
    assert check.problem == "Isi dokumen berubah setelah ditandatangani."


def test_pdfsig_finds_the_changed_byte(signed_pdf: bytes, tmp_path: Path) -> None:
    assert "Signature Validation: Digest Mismatch." in run_pdfsig(tmp_path, changed_byte(signed_pdf), "-nocert")


def test_a_false_signature_value_over_the_right_digest_is_not_valid(keys_dir: Path, signed_pdf: bytes) -> None:
    forged = forge_signature_value(signed_pdf)
    status = validate_pdf_signature(PdfFileReader(BytesIO(forged)).embedded_signatures[0],
                                    ValidationContext(trust_roots=trust_roots(keys_dir)))
    assert status.intact and not status.valid  # the forgery pyHanko sees: digest right, signature false
    check = validate_signed_pdf(forged, trust_roots(keys_dir))
    assert check.signed and check.covers_whole_document
    assert not check.intact and not check.valid
    assert check.problem == "Tanda tangan palsu: nilai tanda tangan tidak cocok dengan kunci sertifikat penanda tangan."


def test_pdfsig_finds_the_false_signature_value(signed_pdf: bytes, tmp_path: Path) -> None:
    out = run_pdfsig(tmp_path, forge_signature_value(signed_pdf), "-nocert")
    assert "Signature Validation: Signature is Invalid." in out and "Digest Mismatch" not in out
    assert "Total document signed" in out


def test_content_appended_after_signing_is_not_covered(keys_dir: Path, signed_pdf: bytes) -> None:
    writer = IncrementalPdfFileWriter(BytesIO(signed_pdf))
    stamp = generic.StreamObject(stream_data=b"BT /F1 24 Tf 100 650 Td (DISETUJUI) Tj ET")
    writer.add_stream_to_page(0, writer.add_object(stamp))
    out = BytesIO()
    writer.write(out)
    check = validate_signed_pdf(out.getvalue(), trust_roots(keys_dir))
    assert check.signed and check.intact and not check.covers_whole_document
    assert not check.valid
    assert check.problem == "Dokumen ditambah atau diubah setelah ditandatangani."


def test_key_from_another_deployments_ca_is_not_trusted(keys_dir: Path, tmp_path: Path) -> None:
    # Same CA name, same village: only the key tells them apart.
    impostor_keys = tmp_path / "keys"
    ensure_village_key(impostor_keys, **VILLAGE)
    impostor = load_signer(impostor_keys, village_code="Ds.Cjk")
    forged = sign_pdf(letter_pdf(), impostor, reason=DEFAULT_REASON, location="Cijengkol")
    check = validate_signed_pdf(forged, trust_roots(keys_dir))
    assert check.signed and check.intact and check.covers_whole_document
    assert not check.trusted and not check.valid
    assert check.problem == "Sertifikat penanda tangan tidak berasal dari otoritas yang dipercaya."
    assert validate_signed_pdf(forged, trust_roots(impostor_keys)).valid


def test_pkcs12_signer_signs_as_production_and_validates_against_its_root(keys_dir: Path, tmp_path: Path) -> None:
    p12_path, ca_cert = bsre_pkcs12(tmp_path)
    signer = load_signer(keys_dir, village_code="3202092001", pkcs12_path=p12_path, pkcs12_password=P12_PASSWORD)
    assert not signer.is_development
    signed = sign_pdf(letter_pdf(), signer, reason=DEFAULT_REASON, location="Cijengkol")
    root_pem = tmp_path / "bsre-root.pem"
    root_pem.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    check = validate_signed_pdf(signed, trust_roots(keys_dir, [root_pem]))
    assert check.valid, check.problem
    assert not check.is_development
    reason = PdfFileReader(BytesIO(signed)).embedded_signatures[0].sig_object["/Reason"]
    assert str(reason) == DEFAULT_REASON
    assert not validate_signed_pdf(signed, trust_roots(keys_dir)).trusted


def test_pkcs12_with_wrong_password_is_refused(keys_dir: Path, tmp_path: Path) -> None:
    p12_path, _ = bsre_pkcs12(tmp_path)
    with pytest.raises(ValueError):
        load_signer(keys_dir, village_code="3202092001", pkcs12_path=p12_path, pkcs12_password=b"salah")


def test_unsigned_pdf_is_reported_not_signed() -> None:
    check = validate_signed_pdf(letter_pdf(), [])
    assert (check.signed, check.intact, check.valid) == (False, False, False)
    assert check.problem == "Dokumen tidak memiliki tanda tangan elektronik."


@pytest.mark.parametrize("junk", [b"", b"garbage", b"%PDF-1.7\n%%EOF", bytes(range(256)) * 4])
def test_garbage_is_reported_not_signed(junk: bytes) -> None:
    check = validate_signed_pdf(junk, [])
    assert (check.signed, check.intact, check.valid) == (False, False, False)
    assert check.problem


@pytest.mark.parametrize("keep", [0.25, 0.5, 0.9, 0.99])
def test_truncated_signed_pdf_is_reported_not_signed(keys_dir: Path, signed_pdf: bytes, keep: float) -> None:
    check = validate_signed_pdf(signed_pdf[: int(len(signed_pdf) * keep)], trust_roots(keys_dir))
    assert (check.signed, check.intact, check.valid) == (False, False, False)
    assert check.problem


# --- a stand-in for a BSrE-issued PKCS#12 file --------------------------------------------------


def bsre_ca(tmp_path: Path) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "BSrE Uji Root CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder(
            name,
            name,
            key.public_key(),
            x509.random_serial_number(),
            now - dt.timedelta(days=1),
            now + dt.timedelta(days=3650),
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def bsre_pkcs12(tmp_path: Path) -> tuple[Path, x509.Certificate]:
    ca_key, ca_cert = bsre_ca(tmp_path)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Pemerintah Desa Cijengkol"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Kepala Desa Cijengkol"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder(
            ca_cert.subject,
            subject,
            key.public_key(),
            x509.random_serial_number(),
            now - dt.timedelta(hours=1),
            now + dt.timedelta(days=730),
        )
        .add_extension(key_usage(digital_signature=True, content_commitment=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    encryption = serialization.BestAvailableEncryption(P12_PASSWORD)
    path = tmp_path / "kades.p12"
    path.write_bytes(pkcs12.serialize_key_and_certificates(b"kades", key, cert, [ca_cert], encryption))
    return path, ca_cert


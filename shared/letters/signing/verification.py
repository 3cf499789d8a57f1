"""What anyone holding a letter may learn about it: the public view, an uploaded file's check, a verdict."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from typing import Any

from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlmodel import Session, col, select

from shared.config import Settings
from shared.db import get_existing
from shared.errors import FieldError, ValidationFailed
from shared.letters.documents.rendering import format_indonesian_date
from shared.letters.intake.catalog import load_catalog
from shared.letters.intake.nik import mask_nik
from shared.letters.signing.keys import is_development_certificate, trust_roots
from shared.letters.signing.provisioning import development_ca_certificate
from shared.letters.signing.signatures import SignatureCheck, validate_signed_pdf
from shared.models import Letter, LetterStatus, Village, as_utc
from shared.storage import LetterFiles
from shared.villages import village_today

log = logging.getLogger(__name__)

# secrets.token_urlsafe(32) gives 43 characters; anything else is answered without a database query.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{32,64}")
VERIFIABLE = (LetterStatus.ISSUED.value, LetterStatus.REVOKED.value)
DEV_NOTICE = "Ditandatangani dengan sertifikat pengembangan desa, bukan sertifikat BSrE."
SAME_FILE = "Berkas ini sama persis dengan surat yang diterbitkan."
OTHER_FILE = "Berkas ini BERBEDA dari surat yang diterbitkan."
# A PDF header may sit anywhere in the first kilobyte (ISO 32000-1, annex H).
_PDF_HEADER, _HEADER_WINDOW = b"%PDF-", 1024
_WORD_PARTS = re.compile(r"(\s+|-)")


def find_by_token(session: Session, token: str) -> Letter | None:
    """The issued or revoked letter whose QR code carries token; None for anything else."""
    if not TOKEN_PATTERN.fullmatch(token):
        return None
    query = select(Letter).where(Letter.verification_token == token, col(Letter.status).in_(VERIFIABLE))
    return session.exec(query).first()


def find_by_sha256(session: Session, digest: str) -> Letter | None:
    """The issued or revoked letter whose signed PDF has this SHA-256."""
    query = select(Letter).where(Letter.pdf_sha256 == digest.lower(), col(Letter.status).in_(VERIFIABLE))
    return session.exec(query).first()


def mask_name(name: str) -> str:
    """A name for public pages: the first two characters of each word, the rest as '*'."""
    # Hyphens separate words ("Siti-Rahmah"); an apostrophe is part of its word and masked with it.
    return "".join(part if _WORD_PARTS.fullmatch(part) or len(part) <= 2 else part[:2] + "*" * (len(part) - 2)
                   for part in _WORD_PARTS.split(name.strip()))


def local_date(moment: datetime | None, village: Village) -> str | None:
    """A stored moment as the village's date in Indonesian, e.g. "27 November 2026"."""
    return format_indonesian_date(village_today(village, now=moment)) if moment else None


def village_line(village: Village) -> str:
    """"Desa Cijengkol, Kecamatan Caringin, Kabupaten Sukabumi"."""
    return f"Desa {village.name}, Kecamatan {village.district}, Kabupaten {village.regency}"


def signed_with_development_certificate(letter: Letter, village: Village, settings: Settings) -> bool:
    """Whether the stored letter was signed with a development certificate rather than a certified one."""
    recorded = (letter.signer or {}).get("development_certificate")
    if isinstance(recorded, bool):  # recorded at issuance
        return recorded
    pdf = LetterFiles(settings).read(letter.id, "issued")
    try:
        signatures = PdfFileReader(BytesIO(pdf)).embedded_signatures if pdf else []
        if signatures:
            return is_development_certificate(signatures[0].signer_cert)
    except Exception:  # pyHanko raises many types on a damaged file; the page still needs an answer
        log.warning("letter %s: stored PDF could not be read for its certificate", letter.id, exc_info=True)
    # Without the file, go by the deployment: a village with no production key signs with a development one.
    return village.code not in settings.signing_keys


def _iso(moment: datetime | None) -> str | None:
    utc = as_utc(moment)
    return utc.isoformat() if utc else None


def public_view(letter: Letter, village: Village, settings: Settings) -> dict[str, Any]:
    """The letter as its verification page shows it (JSON-ready); the NIK and name come masked."""
    letter_type = load_catalog(settings.templates_dir).get(letter.type)
    signer = letter.signer or {}
    revoked = letter.status == LetterStatus.REVOKED
    development = signed_with_development_certificate(letter, village, settings)
    return {
        "status": "revoked" if revoked else "valid", "verdict": "DICABUT" if revoked else "SAH",
        "number": letter.number, "type": letter.type, "title": letter_type.title if letter_type else letter.type,
        "issued_at": _iso(letter.issued_at), "issued_on": local_date(letter.issued_at, village),
        "village": village_line(village),
        "signer": {"name": signer.get("name"),
                   "position": ", ".join([*signer.get("on_behalf", ()), signer.get("position", "")])},
        "applicant": {"name": mask_name(letter.applicant.get("name", "")),
                      "nik": mask_nik(letter.applicant.get("nik", ""))},
        "sha256": letter.pdf_sha256,
        "development_certificate": development, "certificate_notice": DEV_NOTICE if development else None,
        "revoked_at": _iso(letter.revoked_at) if revoked else None,
        "revoked_on": local_date(letter.revoked_at, village) if revoked else None,
        "reason": letter.reason if revoked else None,
    }


@dataclass(frozen=True)
class UploadCheck:
    """An uploaded file compared with the issued letter, and its signature checked."""

    sha256: str
    identical: bool
    signature: SignatureCheck

    @property
    def identity_text(self) -> str:
        return SAME_FILE if self.identical else OTHER_FILE

    @property
    def signature_text(self) -> str:
        return signature_text(self.signature)

    def as_json(self) -> dict[str, Any]:
        check = self.signature
        return {"identical": self.identical, "sha256": self.sha256, "identity": self.identity_text,
                "signature": {"valid": check.valid, "intact": check.intact, "trusted": check.trusted,
                              "covers_whole_document": check.covers_whole_document,
                              "development_certificate": check.is_development, "signer": check.signer_subject,
                              "problem": check.problem, "text": self.signature_text}}


def signature_text(check: SignatureCheck) -> str:
    """The signature's verdict in one Indonesian sentence; a development certificate is named as such."""
    if not check.valid:
        return f"Tanda tangan tidak valid: {check.problem or 'tidak dapat diperiksa.'}"
    return "Tanda tangan elektronik valid." + (f" {DEV_NOTICE}" if check.is_development else "")


def require_pdf(data: bytes | None) -> bytes:
    """data when it looks like a PDF; ValidationFailed on the `file` field otherwise."""
    if not data:
        raise ValidationFailed([FieldError("file", "pilih berkas PDF surat untuk diperiksa")],
                               "Tidak ada berkas yang diunggah.")
    if _PDF_HEADER not in data[:_HEADER_WINDOW]:
        raise ValidationFailed([FieldError("file", "berkas harus berupa PDF")], "Berkas yang diunggah bukan PDF.")
    return data


def require_readable_pdf(pdf: bytes, letter: Letter) -> None:
    """ValidationFailed on the `file` field, logged in one line, when the upload cannot be read as a PDF."""
    try:
        _ = PdfFileReader(BytesIO(pdf)).embedded_signatures  # reading the signature fields is the check
    except Exception as error:  # pyHanko raises many types on malformed input (and PdfDecodeLimitError on bombs)
        # The caller's mistake, not ours: one line, no traceback, and nothing of the file's content.
        log.warning("upload checked against letter %s is not a readable PDF (%s)", letter.id, type(error).__name__)
        raise ValidationFailed([FieldError("file", "berkas PDF rusak, terpotong atau tidak dapat dibaca")],
                               "Berkas yang diunggah bukan PDF yang utuh. Unggah berkas PDF surat "
                               "seperti yang diterima dari kantor desa.") from None


def check_signature(data: bytes, settings: Settings) -> SignatureCheck:
    """The file's signature checked against the deployment's trust roots."""
    return validate_signed_pdf(data, deployment_trust_roots(settings))


def deployment_trust_roots(settings: Settings) -> list[asn1_x509.Certificate]:
    """TRUSTED_CA_FILES, and outside production the development CA every host shares (from the database;
    a keys_dir copy only where the database has none, as in a test that made its keys on disk)."""
    shared_ca = None if settings.is_production else development_ca_certificate(settings)
    roots = trust_roots(settings.keys_dir, settings.trusted_ca_files,
                        include_development=not settings.is_production and shared_ca is None)
    if shared_ca is not None:
        roots.append(asn1_x509.Certificate.load(asn1_pem.unarmor(shared_ca)[2]))
    return roots


def check_upload(letter: Letter, data: bytes | None, settings: Settings) -> UploadCheck:
    """Whether an uploaded PDF is byte for byte the issued letter, and whether its signature holds."""
    pdf = require_pdf(data)
    require_readable_pdf(pdf, letter)
    digest = hashlib.sha256(pdf).hexdigest()
    return UploadCheck(sha256=digest, identical=digest == letter.pdf_sha256, signature=check_signature(pdf, settings))


@dataclass(frozen=True)
class FileVerdict:
    """The command line's answer about a file: one line, and its exit status (0 valid, 1 revoked, 2 not)."""

    exit_code: int
    message: str


def verify_file(session: Session, settings: Settings, data: bytes) -> FileVerdict:
    """Check a letter file on its own: its signature, and which issued letter (if any) it is."""
    check = check_signature(data, settings)
    letter = find_by_sha256(session, hashlib.sha256(data).hexdigest())
    if letter is None:
        return FileVerdict(2, f"TIDAK DIKENAL: berkas tidak sama dengan surat yang diterbitkan; "
                              f"{_signature_clause(check)}")
    letter_type = load_catalog(settings.templates_dir).get(letter.type)
    named = f"{letter.number} ({letter_type.title if letter_type else letter.type})"
    if letter.status == LetterStatus.REVOKED:
        when = local_date(letter.revoked_at, get_existing(session, Village, letter.village_id))
        return FileVerdict(1, f"DICABUT: {named} dicabut pada {when}, alasan: {letter.reason}; "
                              f"{_signature_clause(check)}")
    if not check.valid:
        return FileVerdict(2, f"TIDAK SAH: berkas sama dengan surat {named}, tetapi {_signature_clause(check)}")
    return FileVerdict(0, f"SAH: {named}, {_signature_clause(check)}")


def _signature_clause(check: SignatureCheck) -> str:
    if not check.valid:
        return f"tanda tangan tidak valid: {check.problem or 'tidak dapat diperiksa.'}"
    return "tanda tangan valid" + (" (sertifikat pengembangan desa, bukan BSrE)" if check.is_development else "")

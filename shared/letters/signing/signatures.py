"""PAdES signatures on letters: sign a PDF with a village's key, and check a signed PDF."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from shared.letters.signing.keys import (
    VillageSigner,
    ensure_dev_ca,
    ensure_village_key,
    is_development_certificate,
    load_signer,
    trust_roots,
)

__all__ = [
    "DEFAULT_REASON",
    "DEV_DISCLAIMER",
    "SignatureCheck",
    "VillageSigner",
    "ensure_dev_ca",
    "ensure_village_key",
    "load_signer",
    "sign_pdf",
    "trust_roots",
    "validate_signed_pdf",
]

log = logging.getLogger(__name__)

DEFAULT_REASON = "Surat keterangan desa ditandatangani secara elektronik"
DEV_DISCLAIMER = "(sertifikat pengembangan, bukan BSrE)"
# Reserving room for the CMS object up front skips pyHanko's dry run, roughly halving the cost of a
# signature. 8 kB holds an ECDSA signature with its chain many times over; bigger chains get more.
_MIN_BYTES_RESERVED = 8192
_RESERVE_MARGIN = 4096


@dataclass(frozen=True)
class SignatureCheck:
    """What a verifier learns from the signature of a letter PDF."""

    signed: bool
    intact: bool
    trusted: bool
    covers_whole_document: bool
    subfilter: str | None
    signer_subject: str | None
    signing_time: datetime | None
    is_development: bool
    problem: str | None  # Indonesian, shown to whoever checks the letter

    @property
    def valid(self) -> bool:
        """Signed, unchanged since signing, by a trusted signer, over the whole file."""
        return self.signed and self.intact and self.trusted and self.covers_whole_document


def sign_pdf(
    pdf: bytes, signer: VillageSigner, *, reason: str, location: str, field_name: str = "TandaTanganDesa"
) -> bytes:
    """Sign the whole PDF with the village's key: PAdES baseline B-B, invisible signature field."""
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=honest_reason(reason, signer),
        location=location,
        md_algorithm="sha256",
    )
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    pdf_signer = signers.PdfSigner(meta, signer=signer.signer)
    signed = BytesIO()
    pdf_signer.sign_pdf(writer, bytes_reserved=_bytes_reserved(signer), output=signed)
    return signed.getvalue()


def honest_reason(reason: str, signer: VillageSigner) -> str:
    """The reason to embed: a development signature always says it is not BSrE-certified."""
    # UU ITE: a letter signed without a BSrE certificate must not pass for a certified one.
    if signer.is_development and DEV_DISCLAIMER not in reason:
        return f"{reason} {DEV_DISCLAIMER}"
    return reason


def _bytes_reserved(signer: VillageSigner) -> int:
    # The CMS object embeds the signer's chain; a BSrE chain with RSA keys outgrows the dev one.
    chain = [signer.certificate, *signer.signer.cert_registry]
    return max(_MIN_BYTES_RESERVED, _RESERVE_MARGIN + sum(len(cert.dump()) for cert in chain))


def validate_signed_pdf(pdf: bytes, roots: Sequence[asn1_x509.Certificate]) -> SignatureCheck:
    """Check the letter's (first) signature against the trust roots; bad input gives a check, not an error."""
    try:
        signatures = PdfFileReader(BytesIO(pdf)).embedded_signatures
    except Exception:  # pyHanko raises many exception types on malformed input; a verifier needs an answer
        log.debug("unreadable PDF", exc_info=True)
        return _unsigned("Berkas bukan PDF yang utuh atau tidak dapat dibaca.")
    if not signatures:
        return _unsigned("Dokumen tidak memiliki tanda tangan elektronik.")
    embedded = signatures[0]
    try:
        status = validate_pdf_signature(embedded, _validation_context(roots))
    except Exception:
        log.warning("signature could not be validated", exc_info=True)
        return _broken(embedded)
    return _check_from_status(embedded, status)


def _validation_context(roots: Sequence[asn1_x509.Certificate]) -> ValidationContext:
    # Village certificates carry no CRL or OCSP locations and verifiers work offline: soft-fail lets
    # missing revocation info pass while a revocation that is found still fails.
    return ValidationContext(trust_roots=list(roots), allow_fetching=False, revocation_mode="soft-fail")


def _check_from_status(embedded: EmbeddedPdfSignature, status: PdfSignatureStatus) -> SignatureCheck:
    intact = status.intact and status.valid
    # A letter carries one signature; anything appended after it (even a signature) is a change.
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    return SignatureCheck(
        signed=True,
        intact=intact,
        trusted=status.trusted,
        covers_whole_document=whole,
        subfilter=_subfilter(embedded),
        signer_subject=status.signing_cert.subject.human_friendly,
        signing_time=status.signer_reported_dt,
        is_development=is_development_certificate(status.signing_cert),
        problem=_problem(digest_matches=status.intact, signature_matches=status.valid, trusted=status.trusted,
                         whole=whole),
    )


def _problem(*, digest_matches: bool, signature_matches: bool, trusted: bool, whole: bool) -> str | None:
    if not digest_matches:
        return "Isi dokumen berubah setelah ditandatangani."
    if not signature_matches:  # the right digest under a value the signer's key never made: a forgery
        return "Tanda tangan palsu: nilai tanda tangan tidak cocok dengan kunci sertifikat penanda tangan."
    if not whole:
        return "Dokumen ditambah atau diubah setelah ditandatangani."
    if not trusted:
        return "Sertifikat penanda tangan tidak berasal dari otoritas yang dipercaya."
    return None


def _subfilter(embedded: EmbeddedPdfSignature) -> str | None:
    value = embedded.sig_object.get("/SubFilter")
    return str(value) if value is not None else None


def _unsigned(problem: str) -> SignatureCheck:
    return SignatureCheck(False, False, False, False, None, None, None, False, problem)


def _broken(embedded: EmbeddedPdfSignature) -> SignatureCheck:
    problem = "Tanda tangan elektronik rusak dan tidak dapat diperiksa."
    return SignatureCheck(True, False, False, False, _subfilter(embedded), None, None, False, problem)

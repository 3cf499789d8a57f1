"""PAdES signatures on letters: sign a PDF with a village's key, and check a signed PDF."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from io import BytesIO
from typing import Any

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from shared.letters.documents import pdf_names
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

pdf_names.install()  # a signature reads and writes each name once per process, not byte by byte per letter


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
    pdf: bytes | IncrementalPdfFileWriter, signer: VillageSigner, *, reason: str, location: str,
    field_name: str = "TandaTanganDesa",
) -> bytes:
    """Sign the whole PDF with the village's key: PAdES baseline B-B, invisible signature field.

    pdf: the file, or a writer holding an update not yet written (the signature's revision then carries it)."""
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=honest_reason(reason, signer),
        location=location,
        md_algorithm="sha256",
    )
    writer = pdf if isinstance(pdf, IncrementalPdfFileWriter) else IncrementalPdfFileWriter(BytesIO(pdf))
    pdf_signer = signers.PdfSigner(meta, signer=prepared_signer(signer.signer))
    signed = BytesIO()
    # pyHanko's sign_pdf is asyncio.run around async_sign_pdf: a new event loop made and closed per letter
    _event_loop().run_until_complete(pdf_signer.async_sign_pdf(writer, bytes_reserved=_bytes_reserved(signer),
                                                               output=signed))
    return signed.getvalue()


class _KeptLoop:
    """An event loop kept for one thread of one process, closed with the thread."""

    def __init__(self) -> None:
        self.pid, self.loop = os.getpid(), asyncio.new_event_loop()

    def __del__(self) -> None:
        self.loop.close()


_threads = threading.local()


def _event_loop() -> asyncio.AbstractEventLoop:
    """This thread's event loop for signing, made on first use and kept: making one per signature (asyncio.run)
    took a tenth of the signature's time. A forked child makes its own, never using its parent's."""
    kept: _KeptLoop | None = getattr(_threads, "loop", None)
    if kept is None or kept.pid != os.getpid():
        kept = _threads.loop = _KeptLoop()
    return kept.loop


def honest_reason(reason: str, signer: VillageSigner) -> str:
    """The reason to embed: a development signature always says it is not BSrE-certified."""
    # UU ITE: a letter signed without a BSrE certificate must not pass for a certified one.
    if signer.is_development and DEV_DISCLAIMER not in reason:
        return f"{reason} {DEV_DISCLAIMER}"
    return reason


@lru_cache(maxsize=64)
def prepared_signer(base: signers.SimpleSigner) -> PreparedSigner:
    """The same key and chain as `base`, with its CMS template made on first use (one per loaded key)."""
    return PreparedSigner(signing_cert=base.signing_cert, signing_key=base.signing_key,
                          cert_registry=base.cert_registry, signature_mechanism=base.signature_mechanism,
                          prefer_pss=base.prefer_pss, embed_roots=base.embed_roots,
                          attribute_certs=base.attribute_certs)


class PreparedSigner(signers.SimpleSigner):
    """A SimpleSigner that builds its PAdES CMS once per digest algorithm and then only fills it in.

    In a PAdES B-B signature without a timestamp, the signed attributes (content type, message digest,
    signing certificate) and the whole SignedData around them (certificates, algorithms, signer id) are the
    same for every letter of one key but the message digest and the signature value. pyHanko builds and
    encodes all of it with asn1crypto for every signature, most of a signature's cost; here pyHanko builds it
    once, over a placeholder digest, and each letter puts its digest into the encoded attributes, signs them,
    and sets the signature value. Anything else (dry runs, timestamps, CAdES attributes) goes to pyHanko.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # digest algorithm -> the encoded attributes before and after the digest, the encoded ContentInfo
        self._templates: dict[str, tuple[bytes, bytes, bytes]] = {}

    async def async_sign(self, data_digest: bytes, digest_algorithm: str, dry_run: bool = False,
                         use_pades: bool = False, timestamper: Any = None,
                         signed_attr_settings: PdfCMSSignedAttributes | None = None, is_pdf_sig: bool = True,
                         encap_content_info: Any = None) -> cms.ContentInfo:
        """pyHanko's detached CMS signature over data_digest, from the template when the call is the plain one."""
        settings = signed_attr_settings or PdfCMSSignedAttributes()
        plain = (use_pades and is_pdf_sig and not dry_run and timestamper is None and encap_content_info is None
                 and settings.cades_signed_attrs is None and settings.adobe_revinfo_attr is None
                 and self.signed_attr_prov_spec is None and self.unsigned_attr_prov_spec is None)
        template = await self._template(digest_algorithm, len(data_digest)) if plain else None
        if template is None:
            return await super().async_sign(data_digest, digest_algorithm, dry_run, use_pades, timestamper,
                                            signed_attr_settings, is_pdf_sig, encap_content_info)
        before, after, content_info = template
        signed_attrs = before + data_digest + after  # DER as signed: a SET OF attributes
        signature = await self.async_sign_raw(signed_attrs, digest_algorithm)
        filled = cms.ContentInfo.load(content_info)  # a fresh copy: only the signer info is parsed and changed
        signer_info = filled["content"]["signer_infos"][0]
        signer_info["signed_attrs"] = cms.CMSAttributes.load(signed_attrs)
        signer_info["signature"] = signature
        return filled

    async def _template(self, digest_algorithm: str, digest_size: int) -> tuple[bytes, bytes, bytes] | None:
        templates = self._templates
        if digest_algorithm not in templates:
            placeholder = os.urandom(digest_size)
            made = await super().async_sign(placeholder, digest_algorithm, use_pades=True,
                                            signed_attr_settings=PdfCMSSignedAttributes())
            content_info = made.dump()
            attrs = made["content"]["signer_infos"][0]["signed_attrs"].dump()
            attrs = b"\x31" + attrs[1:]  # signed as a SET, embedded with the [0] tag
            if attrs.count(placeholder) != 1 or content_info.count(placeholder) != 1:
                return None  # the placeholder is random: this never happens, but pyHanko would still be right
            before, after = attrs.split(placeholder)
            templates[digest_algorithm] = (before, after, content_info)
        return templates[digest_algorithm]


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

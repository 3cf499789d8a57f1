"""The CMS built once per key: every letter still gets its own digest and signature, as pyHanko would make them."""

from __future__ import annotations

import hashlib
import re
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import cms
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from shared.letters.signing.signatures import (
    DEFAULT_REASON,
    ensure_village_key,
    load_signer,
    sign_pdf,
    trust_roots,
    validate_signed_pdf,
)
from tests.pdftools import pdfsig
from tests.shared.letters.signing.test_signatures import VILLAGE, letter_pdf


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    """A key of its own, so its CMS template is made in the test that uses it."""
    keys = tmp_path / "keys"
    ensure_village_key(keys, **VILLAGE)
    return keys


def signed_data(pdf: bytes) -> cms.SignedData:
    contents = re.search(rb"/Contents\s*<([0-9A-Fa-f]+)>", pdf)
    assert contents is not None
    return cms.ContentInfo.load(bytes.fromhex(contents.group(1).decode()), strict=False)["content"]


def signed_bytes_digest(pdf: bytes) -> bytes:
    """SHA-256 of what /ByteRange says is signed, computed here rather than by pyHanko."""
    byte_range = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)
    assert byte_range is not None
    start, length, start2, length2 = (int(n) for n in byte_range.groups())
    return hashlib.sha256(pdf[start:start + length] + pdf[start2:start2 + length2]).digest()


def message_digest(pdf: bytes) -> bytes:
    attrs = signed_data(pdf)["signer_infos"][0]["signed_attrs"]
    return next(a["values"][0].native for a in attrs if a["type"].native == "message_digest")


def other_letter() -> bytes:
    return letter_pdf().replace(b"TIDAK MAMPU", b"DOMISILI   ")


def test_letters_signed_one_after_another_each_carry_the_digest_of_their_own_bytes(keys_dir: Path) -> None:
    signer = load_signer(keys_dir, village_code="Ds.Cjk")
    letters = [sign_pdf(pdf, signer, reason=DEFAULT_REASON, location="Cijengkol")
               for pdf in (letter_pdf(), other_letter(), letter_pdf())]
    for signed in letters:
        assert message_digest(signed) == signed_bytes_digest(signed)
        check = validate_signed_pdf(signed, trust_roots(keys_dir))
        assert check.valid, check.problem
        assert "Signature is Valid." in pdfsig(signed) and "ETSI.CAdES.detached" in pdfsig(signed)
    assert message_digest(letters[0]) != message_digest(letters[1])


def test_the_cms_is_built_by_pyhanko_once_per_key(keys_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[bytes] = []
    real_sign = signers.SimpleSigner.async_sign

    async def counting_sign(self: signers.SimpleSigner, data_digest: bytes, *args: Any, **kwargs: Any
                            ) -> cms.ContentInfo:
        built.append(data_digest)
        return await real_sign(self, data_digest, *args, **kwargs)

    monkeypatch.setattr(signers.SimpleSigner, "async_sign", counting_sign)
    signer = load_signer(keys_dir, village_code="Ds.Cjk")
    for pdf in (letter_pdf(), other_letter(), letter_pdf()):
        assert validate_signed_pdf(sign_pdf(pdf, signer, reason="r", location="l"), trust_roots(keys_dir)).valid
    assert len(built) == 1  # the template, over a placeholder digest


def test_the_filled_in_cms_is_the_one_pyhanko_builds_but_for_digest_and_signature(keys_dir: Path) -> None:
    signer = load_signer(keys_dir, village_code="Ds.Cjk")
    ours = signed_data(sign_pdf(letter_pdf(), signer, reason="r", location="l"))
    meta = signers.PdfSignatureMetadata(field_name="TandaTanganDesa", subfilter=fields.SigSeedSubFilter.PADES,
                                        md_algorithm="sha256")
    out = BytesIO()
    signers.PdfSigner(meta, signer=signer.signer).sign_pdf(IncrementalPdfFileWriter(BytesIO(letter_pdf())),
                                                          output=out)
    theirs = signed_data(out.getvalue())
    for part in ("version", "digest_algorithms", "encap_content_info", "certificates"):
        assert ours[part].dump() == theirs[part].dump(), part
    mine, pyhankos = ours["signer_infos"][0], theirs["signer_infos"][0]
    for part in ("version", "sid", "digest_algorithm", "signature_algorithm"):
        assert mine[part].dump() == pyhankos[part].dump(), part
    assert [a["type"].native for a in mine["signed_attrs"]] == [a["type"].native for a in pyhankos["signed_attrs"]]
    fixed = [a.dump() for a in mine["signed_attrs"] if a["type"].native != "message_digest"]
    assert fixed == [a.dump() for a in pyhankos["signed_attrs"] if a["type"].native != "message_digest"]


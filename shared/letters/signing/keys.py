"""Key material of a deployment: its development CA and one signing key per village."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.keys import load_cert_from_pemder, load_certs_from_pemder, load_private_key_from_pemder
from pyhanko.sign.signers import SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore

from shared.villages import is_village_code

DEV_CA_COMMON_NAME = "suratdesa Development CA (bukan BSrE)"
DEV_CA_ORGANIZATION = "suratdesa"
DEV_SIGNER_UNIT = "suratdesa (sertifikat pengembangan, bukan BSrE)"
CA_VALIDITY = dt.timedelta(days=3653)
SIGNER_VALIDITY = dt.timedelta(days=1826)
# Folder names come from village settings; anything beyond this could climb out of keys_dir.


@dataclass(frozen=True)
class VillageSigner:
    """A village's pyHanko signer, its certificate, and whether that certificate is a development one."""

    signer: SimpleSigner
    certificate: asn1_x509.Certificate
    is_development: bool


def village_folder(village_code: str) -> str:
    """The folder name of a village code; ValueError unless letters, digits, '.', '-', '_'."""
    if not is_village_code(village_code):
        raise ValueError(f"Kode desa tidak dapat dipakai sebagai nama folder: {village_code!r}")
    return village_code


CA_FILES = ("ca.key.pem", "ca.cert.pem")
SIGNER_FILES = ("signer.key.pem", "signer.cert.pem")


def ca_folder(keys_dir: Path) -> Path:
    """Where the development CA's key and certificate live under keys_dir."""
    return keys_dir / "ca"


def village_key_folder(keys_dir: Path, village_code: str) -> Path:
    """Where a village's development key and certificate live under keys_dir."""
    return keys_dir / "villages" / village_folder(village_code)


def new_dev_ca() -> dict[str, bytes]:
    """A new development CA: its key and self-signed certificate as PEM files (CA_FILES)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return {"ca.key.pem": _key_pem(key), "ca.cert.pem": _cert_pem(_ca_certificate(key))}


def new_village_key(keys_dir: Path, *, village_name: str, signer_position: str) -> dict[str, bytes]:
    """A new development key for a village with its certificate, issued by the CA under keys_dir (SIGNER_FILES)."""
    ca_key, ca_cert = _read_dev_ca(keys_dir)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(signer_position, village_name, DEV_SIGNER_UNIT)
    cert = _signer_certificate(key.public_key(), subject, ca_key, ca_cert)
    return {"signer.key.pem": _key_pem(key), "signer.cert.pem": _cert_pem(cert)}


def read_key_files(folder: Path, names: Sequence[str]) -> dict[str, bytes] | None:
    """The named files of a key folder, or None unless every one is there."""
    if not all((folder / name).is_file() for name in names):
        return None
    return {name: (folder / name).read_bytes() for name in names}


def install_key_files(target: Path, files: dict[str, bytes]) -> None:
    """Make target hold exactly these files (a copy of the shared key); nothing is written when it does."""
    if read_key_files(target, list(files)) == files:
        return
    if target.exists():  # another key than the shared one (made on this host before it shared): set aside
        with contextlib.suppress(FileNotFoundError):  # another process of this host set it aside first
            os.rename(target, target.with_name(f".{target.name}.replaced-{os.getpid()}-{os.urandom(4).hex()}"))
    _publish(target, files)


def ensure_dev_ca(keys_dir: Path) -> None:
    """Create the deployment's development CA under keys_dir/ca unless one exists."""
    target = ca_folder(keys_dir)
    if not target.exists():
        _publish(target, new_dev_ca())


def ensure_village_key(keys_dir: Path, *, village_code: str, village_name: str, signer_position: str) -> None:
    """Create a village's development key and certificate (issued by the dev CA) unless they exist."""
    target = village_key_folder(keys_dir, village_code)
    if target.exists():
        return
    ensure_dev_ca(keys_dir)
    _publish(target, new_village_key(keys_dir, village_name=village_name, signer_position=signer_position))


def load_signer(
    keys_dir: Path,
    *,
    village_code: str,
    pkcs12_path: Path | None = None,
    pkcs12_password: bytes | None = None,
) -> VillageSigner:
    """The signer of a village: its PKCS#12 file when given, else its development key files."""
    if pkcs12_path is not None:
        return _pkcs12_signer(str(pkcs12_path), _stamp(pkcs12_path), pkcs12_password)
    folder = keys_dir / "villages" / village_folder(village_code)
    paths = (folder / "signer.key.pem", folder / "signer.cert.pem", keys_dir / "ca" / "ca.cert.pem")
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"No signing key for village {village_code!r}: missing {missing[0]}")
    return _dev_signer(*(str(p) for p in paths), tuple(_stamp(p) for p in paths))


def trust_roots(keys_dir: Path, extra_pem_paths: Sequence[Path] = (), *, include_development: bool = True
                ) -> list[asn1_x509.Certificate]:
    """The CAs a verifier trusts: the deployment's dev CA (when present and wanted) plus extra CA files (BSrE root)."""
    dev_ca = keys_dir / "ca" / "ca.cert.pem"
    paths = [dev_ca] if include_development and dev_ca.is_file() else []
    return list(load_certs_from_pemder([*paths, *extra_pem_paths]))


def is_development_certificate(cert: asn1_x509.Certificate) -> bool:
    """True when a certificate was issued by a suratdesa development CA, not a real certification body."""
    issuer = cert.issuer.native
    # Matching by name, not by key: every suratdesa dev CA, this deployment's or another's, is
    # development; claiming "development" of a certificate is never an overclaim.
    names = (issuer.get("common_name"), issuer.get("organization_name"))
    return names == (DEV_CA_COMMON_NAME, DEV_CA_ORGANIZATION)


# Loading and parsing keys costs milliseconds per letter; a changed file changes its stamp.
def _stamp(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_mtime_ns, info.st_size


@lru_cache(maxsize=64)
def _dev_signer(key_path: str, cert_path: str, ca_path: str, _stamps: tuple[object, ...]) -> VillageSigner:
    cert = load_cert_from_pemder(cert_path)
    registry = SimpleCertificateStore.from_certs([load_cert_from_pemder(ca_path)])
    key = load_private_key_from_pemder(key_path, passphrase=None)
    signer = SimpleSigner(signing_cert=cert, signing_key=key, cert_registry=registry)
    return VillageSigner(signer=signer, certificate=cert, is_development=is_development_certificate(cert))


@lru_cache(maxsize=16)
def _pkcs12_signer(path: str, _file_stamp: tuple[int, int], password: bytes | None) -> VillageSigner:
    # load_pkcs12_data raises on a bad file or password; load_pkcs12 would only log and return None.
    signer = SimpleSigner.load_pkcs12_data(Path(path).read_bytes(), other_certs=(), passphrase=password)
    cert = signer.signing_cert
    if cert is None:
        raise ValueError(f"PKCS#12 file {path} holds no certificate for its key")
    return VillageSigner(signer=signer, certificate=cert, is_development=is_development_certificate(cert))


def _read_dev_ca(keys_dir: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = serialization.load_pem_private_key((keys_dir / "ca" / "ca.key.pem").read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("The development CA key is not an ECDSA key")
    return key, x509.load_pem_x509_certificate((keys_dir / "ca" / "ca.cert.pem").read_bytes())


def _name(common_name: str, organization: str, unit: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "ID")]
    attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    if unit:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _ca_certificate(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    name = _name(DEV_CA_COMMON_NAME, DEV_CA_ORGANIZATION)
    usage = key_usage(key_cert_sign=True, crl_sign=True)
    return (
        x509.CertificateBuilder(
            issuer_name=name,
            subject_name=name,
            public_key=key.public_key(),
            serial_number=x509.random_serial_number(),
            not_valid_before=now - dt.timedelta(days=1),
            not_valid_after=now + CA_VALIDITY,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _signer_certificate(
    public_key: ec.EllipticCurvePublicKey,
    subject: x509.Name,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    # A certificate outliving its CA would fail path validation in its last years anyway.
    expires = min(now + SIGNER_VALIDITY, ca_cert.not_valid_after_utc)
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    return (
        x509.CertificateBuilder(
            issuer_name=ca_cert.subject,
            subject_name=subject,
            public_key=public_key,
            serial_number=x509.random_serial_number(),
            not_valid_before=now - dt.timedelta(hours=1),
            not_valid_after=expires,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        # pyHanko's validator and PAdES expect non-repudiation on a signer of documents.
        .add_extension(key_usage(digital_signature=True, content_commitment=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(aki, critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def key_usage(**granted: bool) -> x509.KeyUsage:
    """A KeyUsage extension with just the granted flags set."""
    flags = (
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
        "encipher_only",
        "decipher_only",
    )
    return x509.KeyUsage(**{flag: granted.get(flag, False) for flag in flags})


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _publish(target: Path, files: dict[str, bytes]) -> None:
    """Write files into a private staging directory, then rename it into place in one step."""
    # A directory rename is atomic: two workers racing see no key or a complete key and certificate,
    # and the loser's rename fails on the winner's non-empty directory, so nothing is ever replaced.
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))  # mode 0700
    try:
        for name, data in files.items():
            descriptor = os.open(staging / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as out:
                out.write(data)
        os.rename(staging, target)
    except OSError:
        if not target.exists():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)

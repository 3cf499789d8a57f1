"""Development keys every host shares: kept in the database, private keys encrypted under KEY_ENCRYPTION_SECRET.

The database is the one place every API and worker host reaches, so the development CA and each village's
development key are made once (by `suratdesa init`, or by the first worker that needs one) and inserted with
INSERT .. ON CONFLICT DO NOTHING: of two hosts starting together, the second finds the first's row and uses it.
Each host keeps a copy under SURATDESA_HOME/keys (mode 0600), checked against the database once per process.
Production keys do not pass through here: they are PKCS#12 files named by SIGNING_KEYS.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlmodel import Session

from shared.config import Settings
from shared.db import dialect_insert
from shared.letters.signing.keys import install_key_files, read_key_files
from shared.models import SharedKey, utcnow

# Development only (never accepted in production, see shared.production): a deployment without
# KEY_ENCRYPTION_SECRET still shares its development keys, encrypted under this public value.
DEVELOPMENT_KEY_SECRET = "suratdesa-development-key-encryption-secret"
CA_NAME = "ca"


class KeySecretMissing(RuntimeError):
    """KEY_ENCRYPTION_SECRET is needed and not set, or does not open the stored keys."""


def village_key_name(village_code: str) -> str:
    """The shared_key row of a village's development key."""
    return f"village/{village_code}"


def key_secret(settings: Settings) -> str:
    """KEY_ENCRYPTION_SECRET, or the public development value outside production."""
    if settings.key_encryption_secret is not None:
        return settings.key_encryption_secret.get_secret_value()
    if settings.is_production:
        raise KeySecretMissing("KEY_ENCRYPTION_SECRET is not set: the shared development keys cannot be opened")
    return DEVELOPMENT_KEY_SECRET


def _fernet(settings: Settings) -> Fernet:
    # HKDF turns any long random secret (e.g. `secrets.token_urlsafe(32)`) into Fernet's AES and HMAC keys.
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"suratdesa shared_key",
                   info=b"fernet v1").derive(key_secret(settings).encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def share_key(session: Session, settings: Settings, *, name: str, folder: Path, key_file: str, cert_file: str,
              make: Callable[[], dict[str, bytes]]) -> dict[str, bytes]:
    """The shared key `name` as its PEM files, made with `make` (or taken from folder) when the database has none
    yet; this host's copy in folder made to match. Race-safe: the first row inserted is the one every host uses."""
    row = session.get(SharedKey, name)
    if row is None:
        files = read_key_files(folder, (key_file, cert_file)) or make()  # a host's own key from before: kept
        _insert_once(session, SharedKey(name=name, certificate_pem=files[cert_file].decode(),
                                        encrypted_private_key=_fernet(settings).encrypt(files[key_file]).decode()))
        row = session.get(SharedKey, name, populate_existing=True)
        assert row is not None
    try:
        private_key = _fernet(settings).decrypt(row.encrypted_private_key.encode())
    except InvalidToken:
        raise KeySecretMissing(f"KEY_ENCRYPTION_SECRET does not open the shared key {name!r}: every host needs "
                               "the same secret") from None
    files = {key_file: private_key, cert_file: row.certificate_pem.encode()}
    install_key_files(folder, files)
    return files


def shared_certificate(session: Session, name: str) -> bytes | None:
    """A shared key's certificate (PEM), no secret needed; None when it has not been made."""
    row = session.get(SharedKey, name)
    return row.certificate_pem.encode() if row else None


def _insert_once(session: Session, row: SharedKey) -> None:
    values = {"name": row.name, "certificate_pem": row.certificate_pem,
              "encrypted_private_key": row.encrypted_private_key, "created_at": utcnow()}
    # On PostgreSQL a concurrent insert of the same name waits for the other to commit, then does nothing.
    session.execute(dialect_insert(session, SharedKey).values(**values).on_conflict_do_nothing(index_elements=["name"]))
    session.commit()

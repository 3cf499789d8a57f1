"""Provisioning: every village gets a development signing key unless a production key is configured.

The development CA and the village keys are shared through the database (shared.letters.signing.shared_keys),
so every host signs with the same key and trusts the same CA whichever host made them.
"""

from __future__ import annotations

from sqlmodel import Session, select

from shared.config import Settings
from shared.db import get_existing, session_scope
from shared.letters.documents.compose import default_signer
from shared.letters.signing.keys import (
    CA_FILES,
    SIGNER_FILES,
    ca_folder,
    new_dev_ca,
    new_village_key,
    village_key_folder,
)
from shared.letters.signing.shared_keys import CA_NAME, share_key, shared_certificate, village_key_name
from shared.models import Village

# Keys this process has checked against the database (its copy under keys_dir matches): (db, keys_dir, name).
_checked: set[tuple[str, str, str]] = set()
_ca_certificates: dict[str, bytes] = {}


def ensure_village_keys(session: Session, settings: Settings) -> None:
    """Share the deployment's dev CA and a key for each village without a configured PKCS#12 (made unless the
    database has them), and copy them under this host's keys_dir.

    Never in production: there every village signs with its own PKCS#12 (checked before start-up).
    """
    if settings.is_production:
        return
    share_dev_ca(session, settings)
    for village in session.exec(select(Village)).all():
        if village.code not in settings.signing_keys:
            share_village_key(session, settings, village)


def share_dev_ca(session: Session, settings: Settings) -> None:
    """The deployment's one development CA, in the database and under this host's keys_dir."""
    share_key(session, settings, name=CA_NAME, folder=ca_folder(settings.keys_dir), key_file=CA_FILES[0],
              cert_file=CA_FILES[1], make=new_dev_ca)
    _checked.add((settings.db_url, str(settings.keys_dir), CA_NAME))


def share_village_key(session: Session, settings: Settings, village: Village) -> None:
    """A village's one development key (issued by the shared CA), in the database and under keys_dir."""
    share_dev_ca(session, settings)
    name = village_key_name(village.code)
    share_key(session, settings, name=name, folder=village_key_folder(settings.keys_dir, village.code),
              key_file=SIGNER_FILES[0], cert_file=SIGNER_FILES[1],
              make=lambda: new_village_key(settings.keys_dir, village_name=f"Desa {village.name}",
                                           signer_position=default_signer(village)["position"]))
    _checked.add((settings.db_url, str(settings.keys_dir), name))


def local_village_key(settings: Settings, village: Village) -> None:
    """Make sure this host's copy of the village's development key is the shared one (once per process)."""
    if village.id is None or (settings.db_url, str(settings.keys_dir), village_key_name(village.code)) in _checked:
        return  # a village not in the database (the samples' demo village) has only the copy on disk
    with session_scope(settings) as session:
        share_village_key(session, settings, get_existing(session, Village, village.id))


def development_ca_certificate(settings: Settings) -> bytes | None:
    """The shared development CA's certificate (PEM), read once per process; None before it is made."""
    found = _ca_certificates.get(settings.db_url)
    if found is None:
        with session_scope(settings, read_only=True) as session:
            found = shared_certificate(session, CA_NAME)
        if found is not None:  # never changes once made
            _ca_certificates[settings.db_url] = found
    return found

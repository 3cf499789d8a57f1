"""Provisioning: every village gets a development signing key unless a production key is configured."""

from __future__ import annotations

from sqlmodel import Session, select

from shared.config import Settings
from shared.letters.documents.compose import default_signer
from shared.letters.signing.signatures import ensure_dev_ca, ensure_village_key
from shared.models import Village


def ensure_village_keys(session: Session, settings: Settings) -> None:
    """Create the deployment's dev CA and a key for each village without a configured PKCS#12.

    Never in production: there every village signs with its own PKCS#12 (checked before start-up).
    """
    if settings.is_production:
        return
    ensure_dev_ca(settings.keys_dir)
    for village in session.exec(select(Village)).all():
        if village.code in settings.signing_keys:
            continue
        ensure_village_key(settings.keys_dir, village_code=village.code, village_name=f"Desa {village.name}",
                           signer_position=default_signer(village)["position"])

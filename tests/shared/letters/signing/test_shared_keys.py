"""Development keys shared by every host through the database: one CA, one key per village, whoever made them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlmodel import select

from shared.accounts import create_village
from shared.config import Settings
from shared.db import get_engine, session_scope
from shared.letters.signing.keys import ca_folder, ensure_dev_ca, load_signer, village_key_folder
from shared.letters.signing.provisioning import ensure_village_keys
from shared.letters.signing.shared_keys import KeySecretMissing, share_key
from shared.letters.signing.signatures import sign_pdf, validate_signed_pdf
from shared.letters.signing.verification import deployment_trust_roots
from shared.letters.workflow.issuing import village_signer
from shared.models import SharedKey, Village
from tests.shared.letters.signing.test_signatures import letter_pdf


def host(database: Settings, name: str, **values: Any) -> Settings:
    """Another host of the same deployment: the same database, a SURATDESA_HOME of its own."""
    return Settings(suratdesa_home=database.home.parent / name, database_url=database.db_url, **values)


def ca_pem(settings: Settings) -> bytes:
    return (ca_folder(settings.keys_dir) / "ca.cert.pem").read_bytes()


@pytest.fixture
def village(database: Settings) -> str:
    with session_scope(database) as session:
        create_village(session, code="Ds.Uji", name="Uji", district="Caringin", regency="Sukabumi")
    return "Ds.Uji"


def test_two_hosts_get_the_same_ca_and_village_key_and_the_database_holds_no_plain_key(
        database: Settings, village: str) -> None:
    first, second = host(database, "api-1"), host(database, "worker-1")
    for settings in (first, second):
        with session_scope(settings) as session:
            ensure_village_keys(session, settings)
    assert ca_pem(first) == ca_pem(second)
    for name in ("signer.key.pem", "signer.cert.pem"):
        assert (village_key_folder(first.keys_dir, village) / name).read_bytes() == \
            (village_key_folder(second.keys_dir, village) / name).read_bytes()
    assert (village_key_folder(second.keys_dir, village) / "signer.key.pem").stat().st_mode & 0o777 == 0o600
    with session_scope(database) as session:
        rows = session.exec(select(SharedKey)).all()
    assert sorted(row.name for row in rows) == ["ca", "village/Ds.Uji"]
    assert all("PRIVATE KEY" not in row.encrypted_private_key for row in rows)  # Fernet tokens, not PEM


def test_hosts_starting_together_agree_on_one_ca(database: Settings, village: str) -> None:
    hosts = [host(database, f"host-{n}") for n in range(4)]

    def start(settings: Settings) -> bytes:
        with session_scope(settings) as session:
            ensure_village_keys(session, settings)
        return ca_pem(settings)

    with ThreadPoolExecutor(4) as pool:
        assert len(set(pool.map(start, hosts))) == 1
    for settings in hosts:
        get_engine(settings).dispose()


def test_a_worker_host_that_never_ran_init_signs_with_the_shared_key_and_another_host_trusts_it(
        database: Settings, village: str) -> None:
    with session_scope(database) as session:
        ensure_village_keys(session, database)  # `suratdesa init` on the first host
        row = session.exec(select(Village).where(Village.code == village)).one()
    worker, api = host(database, "worker-2"), host(database, "api-2")
    assert not worker.keys_dir.exists()
    signed = sign_pdf(letter_pdf(), village_signer(worker, row), reason="uji", location="Desa Uji")
    check = validate_signed_pdf(signed, deployment_trust_roots(api))  # api-2 has no keys folder at all
    assert check.valid and check.trusted and not api.keys_dir.exists()
    stranger = Settings(suratdesa_home=database.home.parent / "elsewhere")  # another deployment's CA
    with session_scope(stranger) as session:
        from shared.db import upgrade_schema

        upgrade_schema(stranger)
        ensure_village_keys(session, stranger)
    assert not validate_signed_pdf(signed, deployment_trust_roots(stranger)).trusted
    get_engine(stranger).dispose()


def test_a_trial_hosts_own_ca_becomes_the_shared_one_and_replaces_a_strangers_copy(database: Settings) -> None:
    trial = host(database, "trial")
    ensure_dev_ca(trial.keys_dir)  # made on disk before keys were shared (an embedded trial moving on)
    before = ca_pem(trial)
    stale = host(database, "stale")
    ensure_dev_ca(stale.keys_dir)
    with session_scope(trial) as session:
        ensure_village_keys(session, trial)
    with session_scope(stale) as session:
        ensure_village_keys(session, stale)
    assert ca_pem(trial) == before and ca_pem(stale) == before  # its letters keep verifying; the stranger's goes


def test_another_key_encryption_secret_cannot_open_the_keys(database: Settings, village: str) -> None:
    with session_scope(database) as session:
        ensure_village_keys(session, database)
    other = host(database, "other", key_encryption_secret="a-different-secret-of-32-characters!")
    with session_scope(other) as session, pytest.raises(KeySecretMissing, match="same secret"):
        ensure_village_keys(session, other)


def test_production_without_a_secret_opens_no_shared_key(database: Settings, village: str) -> None:
    with session_scope(database) as session:
        ensure_village_keys(session, database)
    settings = host(database, "production-host", suratdesa_env="production")
    with session_scope(settings) as session, pytest.raises(KeySecretMissing, match="KEY_ENCRYPTION_SECRET is not set"):
        share_key(session, settings, name="ca", folder=ca_folder(settings.keys_dir), key_file="ca.key.pem",
                  cert_file="ca.cert.pem", make=lambda: {})


def test_load_signer_reads_the_shared_copy(database: Settings, village: str) -> None:
    with session_scope(database) as session:
        ensure_village_keys(session, database)
    assert load_signer(database.keys_dir, village_code=village).is_development

"""Moving an embedded trial onto PostgreSQL and an object store without losing a letter (README, Deployment)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from sqlmodel import col, select

from shared.db import get_engine, session_scope
from shared.letters.signing.verification import check_upload
from shared.models import Client, Letter, LetterStatus, SharedKey
from shared.storage import LetterFiles
from tests.conftest import ROOT, SeaweedFS
from tests.shared.letters.signing.test_verification import Deployment, issued
from tests.shared.test_storage_migration import trial  # noqa: F401  (the fixture)

pytestmark = pytest.mark.services


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "services.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


def test_a_trial_moves_onto_postgresql_and_the_object_store_and_carries_on(
        trial: Deployment, postgres_url: str, seaweedfs: SeaweedFS, bucket: str) -> None:  # noqa: F811
    with session_scope(trial.settings) as session:
        before = {row.id: (row.number, row.pdf_sha256) for row in session.exec(select(Letter)).all()}
    get_engine(trial.settings).dispose()
    env = {**os.environ, "SURATDESA_HOME": str(trial.settings.home), "DATABASE_URL": postgres_url,
           **seaweedfs.env(bucket)}
    moved = cli(env, "migrate-database", "--from", trial.settings.db_url)
    assert moved.returncode == 0, moved.stderr
    assert "letter 3" in moved.stdout and "shared_key 2" in moved.stdout
    copied = cli(env, "migrate-storage")
    assert copied.returncode == 0 and "6 copied" in copied.stdout, copied.stderr
    assert cli(env, "init").returncode == 0
    audit = cli(env, "audit", "verify")
    assert audit.returncode == 0 and "3 letters checked; every event chain is intact" in audit.stdout
    again = cli(env, "migrate-database", "--from", trial.settings.db_url)
    assert again.returncode == 1 and "already holds rows" in again.stderr  # never mixed into a used database

    target = seaweedfs.settings(bucket, suratdesa_home=trial.settings.home.parent / "new-host",
                                database_url=postgres_url)
    with session_scope(target) as session:
        after = {row.id: (row.number, row.pdf_sha256) for row in session.exec(select(Letter)).all()}
        assert after == before  # every letter, its number and its file's digest
        assert len(session.exec(select(SharedKey)).all()) == 2  # the trial's CA and village key, not new ones
        old = session.exec(select(Letter).where(col(Letter.status) == LetterStatus.ISSUED)).first()
        assert old is not None
        pdf = LetterFiles(target).read(old.id, "issued")  # from the bucket, on a host without the trial's disk
        verdict = check_upload(old, pdf, target)
        assert verdict.identical and verdict.signature.valid and verdict.signature.trusted
        official = session.exec(select(Client).where(Client.name == "petugas")).one()
        post = session.exec(select(Client).where(Client.name == "pos-a")).one()
    new_id = issued(Deployment(target, official, post))  # ids and counters carry on where the trial stopped
    with session_scope(target) as session:
        letter = session.get(Letter, new_id)
        assert letter is not None and letter.status == LetterStatus.ISSUED
        numbers = sorted(int(re.split("/", n)[1]) for n, _ in [*before.values(), (letter.number, None)] if n)
    assert numbers == [1, 2, 3, 4]
    get_engine(target).dispose()

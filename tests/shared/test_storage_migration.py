"""`suratdesa migrate-storage`: a trial's local PDFs into the object store, each verified; idempotent, resumable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.accounts import create_client, ensure_demo_village
from shared.config import Settings
from shared.db import get_engine, session_scope, upgrade_schema
from shared.letters.signing.provisioning import ensure_village_keys
from shared.models import Role
from shared.storage.local import LocalStore
from shared.storage.s3 import S3Store
from tests.conftest import ROOT, SeaweedFS
from tests.shared.letters.signing.test_verification import Deployment, issued


@pytest.fixture
def trial(tmp_path: Path) -> Deployment:
    """An embedded trial (SQLite, files under its home) with three issued letters."""
    settings = Settings(suratdesa_home=tmp_path / "trial")
    upgrade_schema(settings)
    with session_scope(settings) as session:
        village = ensure_demo_village(session)
        assert village is not None
        ensure_village_keys(session, settings)
        official, _ = create_client(session, name="petugas", role=Role.OFFICIAL, village=village)
        post, _ = create_client(session, name="pos-a", role=Role.POST, village=village)
    deployment = Deployment(settings, official, post)
    for _ in range(3):
        issued(deployment)
    get_engine(settings).dispose()
    return deployment


def migrate(trial: Deployment, seaweedfs: SeaweedFS, bucket: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SURATDESA_HOME": str(trial.settings.home), **seaweedfs.env(bucket)}
    return subprocess.run([sys.executable, "-m", "services.cli", "migrate-storage"], env=env, capture_output=True,
                          text=True, timeout=120, cwd=ROOT)


def local_keys(trial: Deployment) -> list[str]:
    return list(LocalStore(trial.settings.home).keys("pdf/"))


def test_every_pdf_is_copied_verified_and_a_second_run_copies_nothing(
        trial: Deployment, seaweedfs: SeaweedFS, bucket: str) -> None:
    keys = local_keys(trial)
    assert len(keys) == 6  # three drafts, three issued
    first = migrate(trial, seaweedfs, bucket)
    assert first.returncode == 0, first.stderr
    assert "6 copied, 0 already there, 0 problems; 3 issued letters checked" in first.stdout
    store, local = S3Store.from_settings(seaweedfs.settings(bucket)), LocalStore(trial.settings.home)
    assert sorted(store.keys("pdf/")) == sorted(keys)
    assert all(store.get(key) == local.get(key) for key in keys)
    again = migrate(trial, seaweedfs, bucket)
    assert again.returncode == 0 and "0 copied, 6 already there, 0 problems" in again.stdout


def test_an_interrupted_copy_resumes_where_it_stopped(trial: Deployment, seaweedfs: SeaweedFS, bucket: str) -> None:
    store, local = S3Store.from_settings(seaweedfs.settings(bucket)), LocalStore(trial.settings.home)
    store.ensure_bucket()
    done = local_keys(trial)[:2]
    for key in done:  # what a run killed after two files had stored
        store.put_once(key, local.get(key))  # type: ignore[arg-type]
    result = migrate(trial, seaweedfs, bucket)
    assert result.returncode == 0 and "4 copied, 2 already there, 0 problems" in result.stdout


def test_a_pdf_that_does_not_match_its_letter_or_is_missing_is_named_and_fails(
        trial: Deployment, seaweedfs: SeaweedFS, bucket: str) -> None:
    local = LocalStore(trial.settings.home)
    issued_keys = [key for key in local_keys(trial) if key.endswith("-issued.pdf")]
    changed, lost = issued_keys[0], issued_keys[1]
    local.path(changed).write_bytes(local.path(changed).read_bytes() + b"\n% changed")
    local.path(lost).unlink()
    result = migrate(trial, seaweedfs, bucket)
    assert result.returncode == 1
    assert f"{changed}: source file does not match the letter's pdf_sha256; not copied" in result.stderr
    assert f"{lost}: issued letter's PDF is in neither store" in result.stderr
    store = S3Store.from_settings(seaweedfs.settings(bucket))
    assert not store.exists(changed) and store.exists(issued_keys[2])


def test_a_different_object_already_in_the_store_is_a_problem(
        trial: Deployment, seaweedfs: SeaweedFS, bucket: str) -> None:
    store = S3Store.from_settings(seaweedfs.settings(bucket))
    store.ensure_bucket()
    draft = next(key for key in local_keys(trial) if key.endswith("-draft.pdf"))
    store.put_once(draft, b"%PDF another file")
    result = migrate(trial, seaweedfs, bucket)
    assert result.returncode == 1 and f"{draft}: target holds a different file under this key" in result.stderr


def test_without_storage_url_it_refuses(trial: Deployment) -> None:
    env = {**os.environ, "SURATDESA_HOME": str(trial.settings.home)}
    result = subprocess.run([sys.executable, "-m", "services.cli", "migrate-storage"], env=env, capture_output=True,
                            text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 1 and "STORAGE_URL is not set" in result.stderr

"""SURATDESA_ENV=production refuses development defaults: the dev CA, missing secrets, placeholder values."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from shared.config import Settings
from shared.letters.signing.keys import ensure_village_key
from shared.letters.signing.shared_keys import DEVELOPMENT_KEY_SECRET
from shared.production import production_problems
from tests.conftest import ROOT, free_port

PASSWORD = "k3y-Desa-Cijengkol-2026"
READY: dict[str, Any] = {"database_url": "postgresql+psycopg://suratdesa:S3cure-db-pass@db:5432/suratdesa",
         "broker_url": "redis://:R3dis-pass@redis:6379/0", "public_base_url": "https://cijengkol.desa.id",
         "secret_key": "q8Vt2mXr7LpK4nWz9sBd3hYc6fJg1aEu"}


def self_signed(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A key and a certificate under a CA name that is not suratdesa's development CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Balai Sertifikasi Elektronik (uji)")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365)).sign(key, hashes.SHA256()))
    return key, cert


def write_p12(path: Path, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate, password: str) -> Path:
    encryption = serialization.BestAvailableEncryption(password.encode())
    path.write_bytes(pkcs12.serialize_key_and_certificates(b"signer", key, cert, None, encryption))
    return path


def production(tmp_path: Path, **values: Any) -> Settings:
    return Settings(suratdesa_home=tmp_path, suratdesa_env="production", **{**READY, **values})


@pytest.fixture
def real_p12(tmp_path: Path) -> Path:
    return write_p12(tmp_path / "cjk.p12", *self_signed("Kepala Desa Cijengkol"), PASSWORD)


def test_a_fully_configured_deployment_has_no_problem(tmp_path: Path, real_p12: Path) -> None:
    settings = production(tmp_path, signing_keys={"Ds.Cjk": {"pkcs12": real_p12, "password": PASSWORD}})
    assert production_problems(settings, ["Ds.Cjk"]) == []  # no KEY_ENCRYPTION_SECRET: production opens no dev key
    strong = production(tmp_path, signing_keys={"Ds.Cjk": {"pkcs12": real_p12, "password": PASSWORD}},
                        key_encryption_secret="x4Lq9-ZfT2m8VwRk0pN7sY3cUe6hJbGa")
    assert production_problems(strong, ["Ds.Cjk"]) == []


def test_the_development_defaults_are_each_named(tmp_path: Path) -> None:
    problems = production_problems(Settings(suratdesa_home=tmp_path, suratdesa_env="production"), ["Ds.Cjk"])
    assert [problem.split()[0] for problem in problems] == [
        "DATABASE_URL", "BROKER_URL", "PUBLIC_BASE_URL", "PUBLIC_BASE_URL", "SECRET_KEY", "village"]
    assert "SQLite" in problems[0] and "127.0.0.1" in problems[2] and "https://" in problems[3]
    assert "SECRET_KEY is not set" in problems[4]
    assert "Ds.Cjk" in problems[5] and "development CA" in problems[5]


@pytest.mark.parametrize("values, expected", [
    ({"database_url": "postgresql+psycopg://suratdesa:changeme@db/suratdesa"}, "DATABASE_URL has a placeholder"),
    ({"broker_url": "redis://:Secret@redis:6379/0"}, "BROKER_URL has a placeholder"),
    ({"ratelimit_storage_url": "memory://"}, "RATELIMIT_STORAGE_URL is memory://"),
    ({"public_base_url": "https://localhost:8000"}, "PUBLIC_BASE_URL is https://localhost:8000"),
    ({"public_base_url": "http://cijengkol.desa.id"}, "PUBLIC_BASE_URL must start with https://"),
    ({"secret_key": "changeme"}, "SECRET_KEY is a placeholder"),
    ({"secret_key": "short-but-not-a-placeholder"}, "SECRET_KEY is shorter than 32"),
    ({"key_encryption_secret": "changeme"}, "KEY_ENCRYPTION_SECRET is a placeholder"),
    ({"key_encryption_secret": DEVELOPMENT_KEY_SECRET}, "KEY_ENCRYPTION_SECRET is a placeholder"),
    ({"key_encryption_secret": "s3cret-but-short"}, "KEY_ENCRYPTION_SECRET is shorter than 32"),
])
def test_each_unsafe_setting_is_named(tmp_path: Path, real_p12: Path, values: dict[str, str], expected: str) -> None:
    keys = {"Ds.Cjk": {"pkcs12": real_p12, "password": PASSWORD}}
    problems = production_problems(production(tmp_path, signing_keys=keys, **values), ["Ds.Cjk"])
    assert len(problems) == 1 and problems[0].startswith(expected), problems


@pytest.mark.parametrize("password, expected", [
    ("", "SIGNING_KEYS[Ds.Cjk].password is empty"),
    ("suratdesa", "SIGNING_KEYS[Ds.Cjk].password is a placeholder value"),
    ("wrong-password-42", "cannot be opened with its password"),
])
def test_a_signing_key_without_a_real_password_is_named(tmp_path: Path, real_p12: Path, password: str,
                                                        expected: str) -> None:
    settings = production(tmp_path, signing_keys={"Ds.Cjk": {"pkcs12": real_p12, "password": password}})
    [problem] = production_problems(settings, ["Ds.Cjk"])
    assert expected in problem
    assert not password or password not in problem  # a secret is named, never shown


def test_a_pkcs12_from_the_development_ca_or_missing_is_named(tmp_path: Path) -> None:
    ensure_village_key(tmp_path / "keys", village_code="Ds.Cjk", village_name="Desa Cijengkol",
                       signer_position="Kepala Desa Cijengkol")
    folder = tmp_path / "keys" / "villages" / "Ds.Cjk"
    key = serialization.load_pem_private_key((folder / "signer.key.pem").read_bytes(), password=None)
    cert = x509.load_pem_x509_certificate((folder / "signer.cert.pem").read_bytes())
    dev_p12 = write_p12(tmp_path / "dev.p12", key, cert, PASSWORD)  # type: ignore[arg-type]
    keys = {"Ds.Cjk": {"pkcs12": dev_p12, "password": PASSWORD},
            "Ds.Sdr": {"pkcs12": tmp_path / "nowhere.p12", "password": PASSWORD}}
    problems = production_problems(production(tmp_path, signing_keys=keys), ["Ds.Cjk", "Ds.Sdr"])
    assert "development CA" in problems[0] and "Ds.Cjk" in problems[0]
    assert problems[1] == f"SIGNING_KEYS[Ds.Sdr].pkcs12: no file at {tmp_path / 'nowhere.p12'}"


def test_a_typo_in_suratdesa_env_is_refused_rather_than_run_as_development(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="suratdesa_env"):
        Settings(suratdesa_home=tmp_path, suratdesa_env="prod")  # type: ignore[arg-type]


@pytest.mark.parametrize("command", [["api", "--port", "0"], ["worker"], ["init"], ["dev", "--port", "0"]])
def test_every_command_that_starts_the_service_refuses_and_says_why(tmp_path: Path, command: list[str]) -> None:
    if command[-1] == "0":
        command[-1] = str(free_port())
    env = {**os.environ, "SURATDESA_HOME": str(tmp_path / "home"), "SURATDESA_ENV": "production"}
    result = subprocess.run([sys.executable, "-m", "services.cli", *command], env=env, capture_output=True,
                            text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 1, result
    assert result.stderr.startswith("error: SURATDESA_ENV=production, but this deployment still runs on "
                                    "development defaults:")
    for setting in ("DATABASE_URL", "BROKER_URL", "PUBLIC_BASE_URL", "SECRET_KEY"):
        assert f"  - {setting}" in result.stderr
    assert not (tmp_path / "home").exists()  # refused before anything was created


def test_production_neither_creates_nor_trusts_the_development_ca(tmp_path: Path) -> None:
    from reportlab.pdfgen import canvas

    from shared.accounts import ensure_demo_village
    from shared.db import get_engine, session_scope, upgrade_schema
    from shared.letters.signing.keys import load_signer
    from shared.letters.signing.provisioning import ensure_village_keys
    from shared.letters.signing.signatures import sign_pdf
    from shared.letters.signing.verification import check_signature

    development = Settings(suratdesa_home=tmp_path)
    production = Settings(suratdesa_home=tmp_path, suratdesa_env="production", **READY)
    upgrade_schema(development)
    with session_scope(development) as session:
        ensure_demo_village(session)
        ensure_village_keys(session, production)
        assert not (tmp_path / "keys").exists()
        ensure_village_keys(session, development)
    get_engine(development).dispose()
    page = tmp_path / "page.pdf"
    drawing = canvas.Canvas(str(page))
    drawing.drawString(72, 720, "Surat keterangan")
    drawing.showPage()
    drawing.save()
    signed = sign_pdf(page.read_bytes(), load_signer(development.keys_dir, village_code="Ds.Cjk"),
                      reason="uji", location="Cijengkol")
    assert check_signature(signed, development).valid
    production_check = check_signature(signed, production)
    assert production_check.intact and not production_check.trusted and not production_check.valid

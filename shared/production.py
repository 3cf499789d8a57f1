"""What keeps a deployment with SURATDESA_ENV=production from starting: development defaults left in place."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlmodel import select

from shared.config import Settings, VillageKey
from shared.db import session_scope
from shared.letters.signing.keys import load_signer
from shared.models import Village

# Values that are someone's example, not a secret (compared without case).
PLACEHOLDERS = frozenset({
    "changeme", "change-me", "change_me", "changeit", "secret", "password", "passwd", "passw0rd", "suratdesa",
    "admin", "root", "postgres", "redis", "test", "example", "default", "todo", "xxx", "123456", "12345678",
})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0"})


def is_placeholder(value: str | None) -> bool:
    """Whether a secret is one of the well-known example values."""
    return value is not None and value.strip().lower() in PLACEHOLDERS


def _database_problems(settings: Settings) -> list[str]:
    if not settings.database_url or settings.database_url.startswith("sqlite"):
        return ["DATABASE_URL is not set to PostgreSQL: production does not run on the embedded SQLite file"]
    try:
        password = make_url(settings.database_url).password
    except ArgumentError:
        return ["DATABASE_URL cannot be read as a database URL"]
    return ["DATABASE_URL has a placeholder password"] if is_placeholder(password) else []


def _broker_problems(settings: Settings) -> list[str]:
    if not settings.broker_url or settings.broker_url.startswith("sqla+"):
        return ["BROKER_URL is not set to Redis: production does not run on the embedded SQLite broker"]
    problems = []
    if is_placeholder(urlsplit(settings.broker_url).password):
        problems.append("BROKER_URL has a placeholder password")
    if settings.ratelimit_storage.startswith("memory://"):
        problems.append("RATELIMIT_STORAGE_URL is memory://: each API process would count failed attempts alone")
    return problems


def _public_url_problems(settings: Settings) -> list[str]:
    url = urlsplit(settings.public_base_url)
    problems = []
    if (url.hostname or "") in LOOPBACK_HOSTS:
        problems.append(f"PUBLIC_BASE_URL is {settings.public_base_url}: QR codes must lead to a public address")
    if url.scheme != "https":
        problems.append("PUBLIC_BASE_URL must start with https://: the verification page is opened from QR codes")
    return problems


def _key_problems(settings: Settings, code: str, key: VillageKey) -> list[str]:
    where = f"SIGNING_KEYS[{code}]"
    password = key.password.get_secret_value()
    if not password:
        return [f"{where}.password is empty"]
    if is_placeholder(password):
        return [f"{where}.password is a placeholder value"]
    if not key.pkcs12.is_file():
        return [f"{where}.pkcs12: no file at {key.pkcs12}"]
    try:
        signer = load_signer(settings.keys_dir, village_code=code, pkcs12_path=key.pkcs12,
                             pkcs12_password=password.encode())
    except Exception as exc:  # pyHanko and cryptography raise many kinds for a bad file or password
        return [f"{where}: {key.pkcs12} cannot be opened with its password ({type(exc).__name__})"]
    if signer.is_development:
        return [f"{where}: {key.pkcs12} holds a certificate of the suratdesa development CA, not a real one"]
    return []


def _key_secret_problems(settings: Settings) -> list[str]:
    # Production signs with PKCS#12 files only and never opens a shared development key, so an unset
    # KEY_ENCRYPTION_SECRET is fine there; a weak one that is set would protect nothing and is refused.
    from shared.letters.signing.shared_keys import DEVELOPMENT_KEY_SECRET

    if settings.key_encryption_secret is None:
        return []
    secret = settings.key_encryption_secret.get_secret_value()
    if secret == DEVELOPMENT_KEY_SECRET or is_placeholder(secret):
        return ["KEY_ENCRYPTION_SECRET is a placeholder or the development default"]
    if len(secret) < 32:
        return ["KEY_ENCRYPTION_SECRET is shorter than 32 characters: use e.g. "
                "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`"]
    return []


def _signing_problems(settings: Settings, village_codes: Iterable[str]) -> list[str]:
    problems = []
    for code in village_codes:
        key = settings.signing_keys.get(code)
        if key is None:
            problems.append(f"village {code} has no PKCS#12 key in SIGNING_KEYS: it would sign with the "
                            "development CA")
        else:
            problems += _key_problems(settings, code, key)
    return problems


MIN_SECRET_KEY = 32


def _secret_key_problems(settings: Settings) -> list[str]:
    key = settings.secret_key.get_secret_value() if settings.secret_key else ""
    if not key:
        return ["SECRET_KEY is not set: it signs the pages' session cookies and CSRF tokens"]
    if is_placeholder(key):
        return ["SECRET_KEY is a placeholder value"]
    if len(key) < MIN_SECRET_KEY:
        return [f"SECRET_KEY is shorter than {MIN_SECRET_KEY} characters"]
    return []


def production_problems(settings: Settings, village_codes: Iterable[str]) -> list[str]:
    """Every reason the deployment is not fit for production, one sentence each; empty when it is."""
    return [*_database_problems(settings), *_broker_problems(settings), *_public_url_problems(settings),
            *_secret_key_problems(settings), *_key_secret_problems(settings),
            *_signing_problems(settings, village_codes)]


def village_codes(settings: Settings) -> list[str]:
    """The villages in the database; none when it cannot be read (not created yet, or not reachable)."""
    if not settings.database_url or settings.database_url.startswith("sqlite"):
        return []  # already a problem; reading would create the embedded database as a side effect
    try:
        with session_scope(settings) as session:
            return list(session.exec(select(Village.code)).all())
    except SQLAlchemyError:
        return []

"""Staff users: people at hamlet posts and the village office who sign in to the pages with a password.

Each user is backed by a Client row of its own (kind `staff`, the same name, role and village), so the
workflow treats a person like any API client: letters' client_id, who may see what, and events that say
`official:<username>`. That row's token hash can match no token. Passwords are hashed with argon2id.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from shared.db import get_existing, saved_id
from shared.errors import DomainError, NotFound
from shared.models import Client, ClientKind, Role, StaffUser, Village, utcnow

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")
MIN_PASSWORD = 10
_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verifying against this when the user is unknown costs what a known user's check costs: no timing oracle.

    Made on first use, not at import: every API process imports this module, and a hash takes a while."""
    return _hasher.hash(secrets.token_urlsafe(16))


def generate_password() -> str:
    """A strong password to hand over once: 128 random bits, URL-safe characters."""
    return secrets.token_urlsafe(16)


def _unusable_token_hash() -> str:
    # Stored token hashes are 64 lowercase hex digits (SHA-256); "!" is never one of them.
    return "!" + secrets.token_hex(32)[:63]


def _checked_username(username: str) -> str:
    if not USERNAME.match(username):
        raise DomainError(f"nama pengguna '{username}' tidak valid (huruf kecil, angka, titik, strip; 2-40 karakter)")
    return username


def _checked_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise DomainError(f"kata sandi terlalu pendek (paling sedikit {MIN_PASSWORD} karakter)")
    return password


def create_user(session: Session, *, username: str, full_name: str, role: Role, village: Village,
                password: str) -> StaffUser:
    """A new staff user and its own client row; the name may be neither a user's nor an API client's yet."""
    full_name = full_name.strip()
    if not 1 <= len(full_name) <= 100:
        raise DomainError("nama lengkap wajib diisi (paling banyak 100 karakter)")
    client = Client(name=_checked_username(username), role=role.value, kind=ClientKind.STAFF.value,
                    village_id=saved_id(village), token_hash=_unusable_token_hash())
    session.add(client)
    try:
        session.flush()
        user = StaffUser(username=username, full_name=full_name, role=role.value, village_id=saved_id(village),
                         client_id=saved_id(client), password_hash=_hasher.hash(_checked_password(password)))
        session.add(user)
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise DomainError(f"nama '{username}' sudah dipakai oleh pengguna atau klien API lain") from exc
    return user


def find_user(session: Session, username: str) -> StaffUser:
    """The user named username; NotFound otherwise."""
    user = session.exec(select(StaffUser).where(StaffUser.username == username)).first()
    if user is None:
        raise NotFound(f"pengguna '{username}' tidak ada")
    return user


def sign_in(session: Session, username: str, password: str) -> StaffUser | None:
    """The active user with this username and password; None for any mismatch (unknown, wrong, disabled)."""
    user = session.exec(select(StaffUser).where(StaffUser.username == username.strip().lower())).first()
    try:
        _hasher.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled_at is not None:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        session.add(user)
        session.commit()
    return user


def password_stamp(user: StaffUser) -> str:
    """A short digest of the user's password hash: a session holding an older stamp ends (reset-password)."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def active_user(session: Session, user_id: int, stamp: str) -> tuple[StaffUser, Client] | None:
    """The user a session names, with its client, while it is enabled and its password unchanged."""
    user = session.get(StaffUser, user_id)
    if user is None or user.disabled_at is not None or not secrets.compare_digest(password_stamp(user), stamp):
        return None
    return user, get_existing(session, Client, user.client_id)


def list_users(session: Session) -> list[tuple[StaffUser, Village]]:
    """Every staff user with its village, oldest first."""
    return list(session.exec(select(StaffUser, Village).join(Village).order_by(col(StaffUser.id))).all())


def disable_user(session: Session, username: str) -> StaffUser:
    """Refuse the user's sign-in and end their sessions from now on (their letters and events stay)."""
    user = find_user(session, username)
    user.disabled_at = user.disabled_at or utcnow()
    client = get_existing(session, Client, user.client_id)
    client.revoked_at = client.revoked_at or user.disabled_at
    session.add_all([user, client])
    session.commit()
    return user


def reset_password(session: Session, username: str, password: str) -> StaffUser:
    """Give the user a new password; sessions signed in with the old one end."""
    user = find_user(session, username)
    user.password_hash = _hasher.hash(_checked_password(password))
    session.add(user)
    session.commit()
    return user


def has_users(session: Session) -> bool:
    """Whether any staff user exists (the dev runner creates two on first start)."""
    return session.exec(select(StaffUser.id).limit(1)).first() is not None

"""Villages and API clients (hamlet posts and officials); tokens are kept only as hashes."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlmodel import Session, col, func, select

from shared.db import saved_id
from shared.errors import DomainError, NotFound
from shared.letters.intake.schemas import field_errors
from shared.models import Client, ClientKind, Role, Village, utcnow
from shared.villages import DEMO_PROFILE, Name, is_village_code, load_village_file, save_village


def hash_token(token: str) -> str:
    """The stored form of a token: tokens carry 256 random bits, so one SHA-256 is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


_NAME = TypeAdapter(Name)


def _village_name(field: str, value: str) -> str:
    """value checked as a profile's names are (length, invisible characters) and kept as they are stored."""
    try:
        return _NAME.validate_python(value)
    except ValidationError as exc:
        raise DomainError(f"{field}: {field_errors(exc)[0].message}") from exc


def create_village(session: Session, *, code: str, name: str, district: str, regency: str,
                   province: str = "", profile: dict[str, Any] | None = None) -> Village:
    """Add a village; its code is what letter numbers and the CLI call it."""
    if not is_village_code(code):
        raise DomainError(f"kode desa '{code}' tidak valid (huruf, angka, titik, strip; 2-32 karakter)")
    name, district, regency = (_village_name(f, v) for f, v in (("name", name), ("district", district),
                                                                 ("regency", regency)))
    province = _village_name("province", province) if province else ""
    default_signer = {"key": "kades", "name": "-", "position": f"Kepala Desa {name}"}
    village = Village(code=code, name=name, district=district, regency=regency, province=province,
                      profile=profile or {"office_address": "", "signers": [default_signer]})
    session.add(village)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise DomainError(f"desa dengan kode '{code}' sudah ada") from exc
    return village


def ensure_demo_village(session: Session, *, letter_types: Collection[str] | None = None) -> Village | None:
    """Create Desa Cijengkol from its profile file when the deployment has no village yet."""
    if session.exec(select(func.count()).select_from(Village)).one():
        return None
    return save_village(session, load_village_file(DEMO_PROFILE, letter_types=letter_types))[0]


def find_village(session: Session, code: str | None) -> Village:
    """The village with code; without a code, the only village there is."""
    if code is not None:
        village = session.exec(select(Village).where(Village.code == code)).first()
        if village is None:
            raise NotFound(f"desa dengan kode '{code}' tidak ada")
        return village
    villages = session.exec(select(Village).limit(2)).all()
    if len(villages) != 1:
        raise DomainError("ada lebih dari satu desa (atau belum ada): sebutkan --village KODE")
    return villages[0]


def create_client(session: Session, *, name: str, role: Role, village: Village) -> tuple[Client, str]:
    """A new client and its token; the token is shown once and only its hash is stored."""
    token = secrets.token_urlsafe(32)
    client = Client(name=name, role=role.value, village_id=saved_id(village), token_hash=hash_token(token))
    session.add(client)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise DomainError(f"klien bernama '{name}' sudah ada") from exc
    return client, token


# built once, with a bound parameter: building the query and its cache key anew cost a tenth of its execution
CLIENT_BY_TOKEN = (select(Client).options(joinedload(Client.village))  # type: ignore[arg-type]  # typed as Village
                   .where(col(Client.token_hash) == bindparam("token_hash")))


def authenticate(session: Session, token: str) -> Client | None:
    """The active client holding token, if any.

    Its village is read in the same statement and stays in the session, where every request that goes on to
    use it (a submission dates its letter in the village's zone) finds it without another round trip."""
    client = session.execute(CLIENT_BY_TOKEN, {"token_hash": hash_token(token)}).scalars().first()
    # a staff user's row holds no token (shared.staff); checked here too, whatever its stored hash
    if client is None or client.revoked_at is not None or client.kind != ClientKind.API:
        return None
    return client


def list_clients(session: Session) -> list[tuple[Client, Village]]:
    """Every client with its village, oldest first."""
    query = select(Client, Village).join(Village).where(Client.kind == ClientKind.API).order_by(col(Client.id))
    return list(session.exec(query).all())


def revoke_client(session: Session, name: str) -> Client:
    """Refuse the client's token from now on."""
    client = session.exec(select(Client).where(Client.name == name, Client.kind == ClientKind.API)).first()
    if client is None:  # a staff user is disabled with `users disable`
        raise NotFound(f"klien bernama '{name}' tidak ada")
    client.revoked_at = client.revoked_at or utcnow()
    session.add(client)
    session.commit()
    return client


def has_clients(session: Session) -> bool:
    """Whether any client exists (the dev runner creates two on first start)."""
    return bool(session.exec(select(func.count()).select_from(Client).where(Client.kind == ClientKind.API)).one())

"""Database tables (SQLModel) and the public shapes built from them."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any, overload

from sqlalchemy import JSON, Column, DateTime, Index, LargeBinary, String, UniqueConstraint
from sqlmodel import Field, Relationship, SQLModel


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


@overload
def as_utc(moment: datetime) -> datetime: ...


@overload
def as_utc(moment: None) -> None: ...


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _timestamp(**kwargs: Any) -> Any:
    return Field(sa_column=Column(DateTime(timezone=True), **kwargs))


class Role(enum.StrEnum):
    POST = "post"
    OFFICIAL = "official"


class LetterStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    ISSUED = "issued"
    REJECTED = "rejected"
    REVOKED = "revoked"
    FAILED = "failed"


class Village(SQLModel, table=True):
    """A village office; every client and every letter belongs to one."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(32), unique=True, nullable=False))
    name: str = Field(max_length=100)
    district: str = Field(max_length=100)
    regency: str = Field(max_length=100)
    province: str = Field(default="", max_length=100)
    profile: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _timestamp(nullable=False, default=utcnow)


class VillageEmblem(SQLModel, table=True):
    """A village's emblem as its profile file gave it (PNG or JPEG, up to MAX_LOGO_BYTES), beside the village row.

    Not in the row: every API request reads the village with its client, and only a render needs the emblem. The
    profile names it by its SHA-256 (`logo_digest`), so a worker reads it once per emblem, not once per letter."""

    __tablename__ = "village_emblem"

    village_id: int = Field(foreign_key="village.id", primary_key=True)
    digest: str = Field(max_length=64)  # hex SHA-256 of image, as the profile's logo_digest says
    image: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class ClientKind(enum.StrEnum):
    API = "api"  # a program holding a bearer token
    STAFF = "staff"  # a person signing in to the pages (a StaffUser); its token hash matches no token


class Client(SQLModel, table=True):
    """Who acts on letters: an API caller (a token, of which only a hash is kept) or a staff user's own row.

    Staff users and API clients share the one namespace of names, so `official:<name>` in an event names one
    of them only."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(100), unique=True, nullable=False))
    role: str = Field(max_length=16)
    kind: str = Field(default=ClientKind.API.value, max_length=8)
    village_id: int = Field(foreign_key="village.id", index=True)
    token_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    created_at: datetime = _timestamp(nullable=False, default=utcnow)
    revoked_at: datetime | None = _timestamp(nullable=True)
    # Loaded with the client when a token is checked (shared.accounts.authenticate), so the session keeps the
    # village at hand for the request: its identity map holds rows only while something refers to them.
    village: Village = Relationship()


class StaffUser(SQLModel, table=True):
    """A person at a hamlet post or the village office who signs in to the pages with a password.

    Each is backed by a Client row of its own (kind staff, same name, role and village), so letters'
    client_id, what each may see and the events' actor work as for API clients."""

    __tablename__ = "staff_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(sa_column=Column(String(100), unique=True, nullable=False))
    full_name: str = Field(max_length=100)
    role: str = Field(max_length=16)
    village_id: int = Field(foreign_key="village.id", index=True)
    client_id: int = Field(foreign_key="client.id", unique=True)
    password_hash: str = Field(max_length=200)  # argon2id, PHC string
    disabled_at: datetime | None = _timestamp(nullable=True)
    created_at: datetime = _timestamp(nullable=False, default=utcnow)


class Letter(SQLModel, table=True):
    """One resident's request and, once issued, the letter itself."""

    __table_args__ = (
        UniqueConstraint("village_id", "number", name="uq_letter_village_number"),
        UniqueConstraint("village_id", "number_scope", "number_year", "number_seq", name="uq_letter_sequence"),
        # A village's and a post's letters newest first, a page at a time (the lists, the inbox, a post's status
        # poll): read straight off the index, where indexes on the village and the post alone made the database
        # fetch and sort every letter of the village, or walk back through every village's newest letters. (A
        # post's query names its village too: with the village first, one index serves it.)
        Index("ix_letter_village_id_created_at", "village_id", "created_at", "id"),
        Index("ix_letter_village_id_client_id_created_at", "village_id", "client_id", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    village_id: int = Field(foreign_key="village.id")
    client_id: int = Field(foreign_key="client.id")
    type: str = Field(max_length=40, index=True)
    status: str = Field(max_length=24, index=True)
    applicant: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    fields: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    number: str | None = Field(default=None, max_length=80)
    number_scope: str | None = Field(default=None, max_length=40)
    number_year: int | None = None
    number_seq: int | None = None
    verification_token: str | None = Field(
        default=None, sa_column=Column(String(64), unique=True, nullable=True)
    )
    # The short code on the resident's receipt (tanda terima) that opens /s/<code>; letters from before it: None
    tracking_code: str | None = Field(default=None, sa_column=Column(String(16), unique=True, nullable=True))
    signer: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    pdf_sha256: str | None = Field(default=None, max_length=64, index=True)  # `suratdesa verify` looks it up
    reason: str | None = Field(default=None, max_length=500)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=2000)
    created_at: datetime = _timestamp(nullable=False, default=utcnow)
    updated_at: datetime = _timestamp(nullable=False, default=utcnow)
    # When issuing took the letter's number and token (status still `approved`); the letter is dated that day.
    numbered_at: datetime | None = _timestamp(nullable=True)
    issued_at: datetime | None = _timestamp(nullable=True)
    revoked_at: datetime | None = _timestamp(nullable=True)
    # When the sweeper last sent the letter's task again; it waits a threshold before sending another.
    requeued_at: datetime | None = _timestamp(nullable=True)
    # The lease of the attempt at the letter's next step (shared.letters.workflow.leases): the attempt's number,
    # the process running it, and until when it is live. Taken by the statement that counts the attempt, ended
    # by any change of status; none while no attempt runs.
    lease_attempt: int | None = None
    lease_holder: str | None = Field(default=None, max_length=120)
    lease_expires_at: datetime | None = _timestamp(nullable=True)


class Attachment(SQLModel, table=True):
    """A required document (syarat) a hamlet post attached to a letter: a cleaned scan, stored by ids only.

    The uploaded file name is never kept; the bytes live in storage under the letter's and this row's id.
    """

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    letter_id: uuid.UUID = Field(foreign_key="letter.id", index=True)
    kind: str = Field(max_length=40)  # one of the letter type's requirements, e.g. "ktp"
    content_type: str = Field(max_length=40)  # decided from the content: image/jpeg, image/png, application/pdf
    size: int
    sha256: str = Field(max_length=64)
    client_id: int = Field(foreign_key="client.id")
    created_at: datetime = _timestamp(nullable=False, default=utcnow)


class LetterEvent(SQLModel, table=True):
    """One change to a letter: what, when, by whom; chained by hash to the one before."""

    __tablename__ = "letter_event"
    # A letter's events in order, and the newest (the chain's head, looked up for every event written): one probe
    # of this index. With an index on letter_id alone the planner could walk the primary key back from the newest
    # event of all letters, through every event written since this letter's last one.
    __table_args__ = (Index("ix_letter_event_letter_id_id", "letter_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    letter_id: uuid.UUID = Field(foreign_key="letter.id")
    type: str = Field(max_length=32)
    actor: str = Field(max_length=120)
    at: datetime = _timestamp(nullable=False, default=utcnow)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class LetterCounter(SQLModel, table=True):
    """The last sequence number handed out per village, scope and year.

    The scope is a classification code (per-type numbering: types sharing a code share a sequence, since
    the number would otherwise repeat) or '*' when the village numbers all its letters in one sequence.
    """

    __tablename__ = "letter_counter"

    village_id: int = Field(foreign_key="village.id", primary_key=True)
    scope: str = Field(max_length=40, primary_key=True)
    year: int = Field(primary_key=True)
    last_seq: int = 0


class IdempotencyKey(SQLModel, table=True):
    """An `Idempotency-Key` a client sent with a submission, and the response it got (kept >= 72 hours)."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("client_id", "key", name="uq_idempotency_client_key"),)

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id")
    key: str = Field(max_length=255)
    # SHA-256 of the canonical JSON body: the same key with another body is refused
    fingerprint: str = Field(max_length=64)
    state: str = Field(max_length=16)
    letter_id: uuid.UUID | None = Field(default=None, foreign_key="letter.id")
    response_status: int | None = None
    response_body: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = _timestamp(nullable=False, default=utcnow, index=True)


class SharedKey(SQLModel, table=True):
    """A development key every host uses: the deployment's development CA ("ca") or a village's ("village/<code>").

    The private key is encrypted (Fernet) under KEY_ENCRYPTION_SECRET; a row is inserted once and never changed,
    so two hosts that start together agree on the one that was inserted first.
    """

    __tablename__ = "shared_key"

    name: str = Field(max_length=80, primary_key=True)
    certificate_pem: str
    encrypted_private_key: str
    created_at: datetime = _timestamp(nullable=False, default=utcnow)

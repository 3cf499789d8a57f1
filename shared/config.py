"""Settings: the one place that reads the environment."""

from __future__ import annotations

import re
from functools import cache, cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.letters.workflow.numbering import check_number_pattern


class VillageKey(BaseModel):
    """A village's production signing key: a PKCS#12 file (e.g. from BSrE) and its password."""

    pkcs12: Path
    password: SecretStr


class Settings(BaseSettings):
    """Every knob of the service, read from the environment (see README, "Configuration")."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    suratdesa_home: Path = Field(default=Path("var"))
    # "production" turns on the start-up checks of shared.production; anything else is a typo, not a mode.
    suratdesa_env: Literal["development", "production"] = "development"
    database_url: str | None = None
    broker_url: str | None = None
    public_base_url: str = "http://127.0.0.1:8000"
    letter_templates_dir: Path | None = None
    # Worker limits; the Redis visibility timeout is derived from them (see shared.queue).
    task_soft_time_limit: int = 60
    task_time_limit: int = 90
    # Seconds the API waits for the broker; then the letter stays stored and the sweeper sends it later.
    enqueue_timeout: float = 1.0
    # Reliability (see shared.letters.workflow.attempts and shared.letters.workflow.sweeper): a letter whose step keeps
    # failing is `failed` after this many attempts; the sweeper wakes every sweep_interval seconds, sends
    # again the task of letters idle in submitted/approved for sweep_stuck_after seconds (at most sweep_batch
    # per pass), and forgets Idempotency-Keys older than idempotency_key_hours.
    letter_max_attempts: int = Field(default=5, ge=1, le=50)
    sweep_interval: float = Field(default=10.0, gt=0)
    sweep_stuck_after: float = Field(default=60.0, gt=0)
    sweep_batch: int = Field(default=200, ge=1)
    idempotency_key_hours: int = Field(default=72, ge=72)
    # A running attempt holds a lease on its letter for attempt_lease seconds and renews it every quarter of
    # that; the sweeper looks every lease_check_interval seconds for leases that ran out (their process died)
    # and sends those letters' steps again at once (see shared.letters.workflow.leases).
    attempt_lease: float = Field(default=10.0, ge=1)
    lease_check_interval: float = Field(default=2.0, gt=0)
    # Letter numbers: the pattern's placeholders are classification, seq, village_code, roman_month,
    # month and year; checked like a village profile's. A village profile may override it.
    number_pattern: str = "{classification}/{seq:03d}/{village_code}/{roman_month}/{year}"
    # Production keys per village code, as JSON: {"Ds.Cjk": {"pkcs12": "/keys/cjk.p12", "password": "..."}}.
    # A village without one signs with a key from the deployment's development CA.
    signing_keys: dict[str, VillageKey] = Field(default_factory=dict)
    # Further CA certificates (PEM) that verification trusts, e.g. the BSrE root.
    trusted_ca_files: list[Path] = Field(default_factory=list)
    # Rate limits per client address (the limits library's syntax); only failures count: answers 401 on the API,
    # and 404 (unknown token) on the verification pages. Uploads to check a file all count (each one is
    # parsed and its signature validated). A value given is checked (_valid_rate_limit); the defaults are known good.
    auth_failure_limit: str = Field(default="10/minute", validate_default=False)
    verify_miss_limit: str = Field(default="60/minute", validate_default=False)
    verify_check_limit: str = Field(default="20/minute", validate_default=False)
    # Where the rate-limit counters live; by default the broker's Redis, else each process's memory.
    ratelimit_storage_url: str | None = None
    # Signs the pages' session cookies and CSRF tokens. Development keeps a random one under home
    # (session-secret); production refuses to start without one of its own (shared.production).
    secret_key: SecretStr | None = None
    # Where PDFs (and attachments) live: unset, files under SURATDESA_HOME; s3://bucket/prefix, an S3-compatible
    # bucket at S3_ENDPOINT_URL (AWS itself when unset) with the AWS_* credentials (see shared.storage).
    storage_url: str | None = None
    s3_endpoint_url: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: SecretStr | None = None
    aws_default_region: str = "us-east-1"
    # Downloads of PDFs answer 302 to a presigned URL of the bucket, valid this many seconds, instead of
    # streaming through the API.
    storage_presigned_downloads: bool = False
    storage_presign_seconds: int = Field(default=300, ge=10, le=3600)
    # Encrypts the development CA's and development village keys' private keys in the database, where every
    # host reads them (shared.letters.signing.shared_keys); development falls back to a fixed, public value.
    key_encryption_secret: SecretStr | None = None
    # Reverse proxies in front of the API that append to X-Forwarded-For; 0 trusts the peer address only.
    trusted_proxy_count: int = Field(default=0, ge=0, le=5)
    # Webhooks (see shared.webhooks): endpoints on loopback, private or link-local addresses are refused unless
    # webhook_allow_private (tests, a village LAN); attempt n waits webhook_retry_base * 2^(n-1) seconds (at most
    # webhook_retry_max_delay) with jitter, for webhook_retry_hours; an endpoint failing for
    # webhook_disable_after_hours is disabled. webhook_timeout bounds one attempt (connect and answer).
    webhook_allow_private: bool = False
    webhook_retry_base: float = Field(default=30.0, gt=0)
    webhook_retry_max_delay: float = Field(default=6 * 3600.0, gt=0)
    webhook_retry_hours: float = Field(default=27.0, ge=24)  # "over at least a day"
    webhook_disable_after_hours: float = Field(default=72.0, gt=0)
    webhook_timeout: float = Field(default=10.0, gt=0, le=25)  # an attempt stays within the task's soft limit

    @field_validator("auth_failure_limit", "verify_miss_limit", "verify_check_limit")
    @classmethod
    def _valid_rate_limit(cls, value: str) -> str:
        # imported here: a worker counts no failures, and with the defaults it need not carry the limits library
        # (1.7 MB of its resident memory)
        from limits import parse

        parse(value)  # raises ValueError on e.g. "10 per fortnight"
        return value

    @field_validator("key_encryption_secret", "aws_secret_access_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value  # compose passes `${VAR:-}` as an empty string

    @field_validator("storage_url")
    @classmethod
    def _valid_storage_url(cls, url: str | None) -> str | None:
        if url and not re.fullmatch(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^/].*)?/?", url):
            raise ValueError("must be s3://bucket or s3://bucket/prefix (bucket: 3-63 lowercase letters, digits, "
                             "'.', '-')")
        return url

    @property
    def storage_location(self) -> tuple[str, str]:
        """STORAGE_URL's bucket, and its prefix ending in '/' (or empty)."""
        assert self.storage_url
        bucket, _, prefix = self.storage_url.removeprefix("s3://").partition("/")
        prefix = prefix.strip("/")
        return bucket, f"{prefix}/" if prefix else ""

    @field_validator("number_pattern")
    @classmethod
    def _valid_number_pattern(cls, pattern: str) -> str:
        return check_number_pattern(pattern)

    @cached_property
    def home(self) -> Path:
        return self.suratdesa_home.resolve()

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'suratdesa.db'}"

    @property
    def broker(self) -> str:
        return self.broker_url or f"sqla+sqlite:///{self.home / 'broker.db'}"

    @property
    def ratelimit_storage(self) -> str:
        """Where failures are counted (services.api.security): RATELIMIT_STORAGE_URL, else a Redis broker, or memory."""
        if self.ratelimit_storage_url:
            return self.ratelimit_storage_url
        return self.broker if self.broker.startswith(("redis://", "rediss://")) else "memory://"

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @cached_property  # resolved once: every submission and every step looks its catalog up by it
    def templates_dir(self) -> Path:
        if self.letter_templates_dir:
            return self.letter_templates_dir.resolve()
        return Path(__file__).resolve().parent.parent / "templates" / "letters"

    @property
    def is_production(self) -> bool:
        return self.suratdesa_env == "production"


@cache
def get_settings() -> Settings:
    """This process's settings, read from the environment once (Settings is frozen)."""
    return Settings()

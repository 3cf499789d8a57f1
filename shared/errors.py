"""Domain errors; the API maps each to one RFC 9457 problem response."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of a request, at a dotted path such as `applicant.nik`."""

    field: str
    message: str


class DomainError(Exception):
    """Base of every error a caller can cause; `detail` is Indonesian, shown to people."""

    status = 400
    title = "Permintaan tidak dapat diproses"
    slug = "bad-request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ValidationFailed(DomainError):
    status = 422
    title = "Data tidak valid"
    slug = "validation"

    def __init__(self, errors: list[FieldError], detail: str | None = None) -> None:
        fields = ", ".join(e.field for e in errors)
        super().__init__(detail or f"Periksa kembali isian: {fields}.")
        self.errors = errors


class NotFound(DomainError):
    status = 404
    title = "Tidak ditemukan"
    slug = "not-found"


class Forbidden(DomainError):
    status = 403
    title = "Tidak diizinkan"
    slug = "forbidden"


class Unauthorized(DomainError):
    status = 401
    title = "Perlu autentikasi"
    slug = "unauthorized"


class WrongStatus(DomainError):
    """The letter is not in a status that allows this action."""

    status = 409
    title = "Status surat tidak sesuai"
    slug = "wrong-status"


class ServiceUnavailable(DomainError):
    status = 503
    title = "Layanan sementara tidak tersedia"
    slug = "unavailable"

    def __init__(self, detail: str, retry_after: int = 5) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class IdempotencyKeyInvalid(ValidationFailed):
    """The Idempotency-Key header is not 1-255 printable ASCII characters."""

    status = 400
    title = "Idempotency-Key tidak valid"
    slug = "idempotency-key-invalid"


class IdempotencyKeyReused(ValidationFailed):
    """The client used this Idempotency-Key before, with a different body."""

    title = "Idempotency-Key sudah dipakai"
    slug = "idempotency-key-reused"


class IdempotencyInProgress(DomainError):
    """A request with this Idempotency-Key is still being handled."""

    status = 409
    title = "Permintaan yang sama masih diproses"
    slug = "idempotency-in-progress"
    retry_after = 1


class TemplateError(Exception):
    """A letter-type file is broken; the message names the file and the field."""


class ProfileError(Exception):
    """A village profile file is broken; the message names the file and the field."""

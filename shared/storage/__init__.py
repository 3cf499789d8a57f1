"""Stored files (PDFs, attachments) behind one interface: local files under SURATDESA_HOME or an S3 bucket.

Keys are deterministic paths such as `pdf/ab/<letter id>-issued.pdf` (never a NIK); every backend writes a
key once (the first complete write wins) and hands back what is stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Protocol

from shared.config import Settings


class BlobStore(Protocol):
    """Where blobs live; every backend writes a key at most once."""

    def put_once(self, key: str, data: bytes) -> bytes:
        """Store data unless the key exists already; the stored bytes either way (the first writer's win)."""

    def get(self, key: str) -> bytes | None:
        """The stored bytes, or None when the key was never written."""

    def exists(self, key: str) -> bool:
        """Whether the key has been written."""

    def stream(self, key: str) -> tuple[Iterator[bytes], int] | None:
        """The stored bytes in chunks with their length, or None; for downloads that need not hold the file."""

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every stored key starting with prefix."""

    def download_url(self, key: str, *, filename: str, content_type: str) -> str | None:
        """A short-lived URL a client may fetch the blob from directly, or None where there is none."""


def open_store(settings: Settings) -> BlobStore:
    """The deployment's store: STORAGE_URL s3://bucket/prefix, else files under SURATDESA_HOME."""
    if settings.storage_url:
        from shared.storage.s3 import S3Store

        return S3Store.from_settings(settings)
    from shared.storage.local import LocalStore

    return LocalStore(settings.home)


def letter_key(letter_id: uuid.UUID, kind: str) -> str:
    """A letter's PDF of this kind ("draft", "issued"): named by letter id only."""
    return f"pdf/{letter_id.hex[:2]}/{letter_id.hex}-{kind}.pdf"


class LetterFiles:
    """A letter's draft and issued PDFs in the deployment's store."""

    def __init__(self, settings: Settings, store: BlobStore | None = None) -> None:
        self.store = store or open_store(settings)

    def write_once(self, letter_id: uuid.UUID, kind: str, data: bytes) -> bytes:
        """Store the PDF unless one is stored already; the stored bytes either way (the first writer's win).

        Of two writers (a worker that woke up late and the one that finished the letter meanwhile) the
        second never replaces what the first stored.
        """
        return self.store.put_once(letter_key(letter_id, kind), data)

    def exists(self, letter_id: uuid.UUID, kind: str) -> bool:
        """Whether the letter's file of this kind has been written."""
        return self.store.exists(letter_key(letter_id, kind))

    def read(self, letter_id: uuid.UUID, kind: str) -> bytes | None:
        """The stored PDF, or None."""
        return self.store.get(letter_key(letter_id, kind))


__all__ = ["BlobStore", "LetterFiles", "letter_key", "open_store"]

"""Blobs as files under SURATDESA_HOME (the embedded default): atomic, durable, written once via link(2)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

CHUNK = 64 * 1024


class LocalStore:
    """Files under root, one per key (`pdf/ab/<id>-issued.pdf` is root/pdf/ab/<id>-issued.pdf)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        """The file of a key; ValueError for a key that would leave root."""
        parts = key.split("/")
        if not key or key.startswith("/") or any(part in ("", ".", "..") for part in parts):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root.joinpath(*parts)

    def put_once(self, key: str, data: bytes) -> bytes:
        """Link a complete, fsynced temporary file into place; link(2) never replaces an existing file, so the
        first writer's file stays and a later writer gets it back."""
        target = self.path(key)
        created = _missing_directories(target.parent)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.link(temp, target)
        except FileExistsError:
            return target.read_bytes()
        finally:
            Path(temp).unlink(missing_ok=True)  # linked, or a full disk or killed write: no stray file
        # A name lives in its directory: without these a power cut can lose the placed file or a new directory.
        for directory in (target.parent, *(new.parent for new in created)):
            _fsync_directory(directory)
        return data

    def get(self, key: str) -> bytes | None:
        target = self.path(key)
        return target.read_bytes() if target.is_file() else None

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def stream(self, key: str) -> tuple[Iterator[bytes], int] | None:
        try:
            handle = self.path(key).open("rb")
        except FileNotFoundError:
            return None
        return _chunks(handle), os.fstat(handle.fileno()).st_size

    def keys(self, prefix: str = "") -> Iterator[str]:
        base = self.root.joinpath(*prefix.split("/")[:-1])  # walk the prefix's folder only, not all of home
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            key = path.relative_to(self.root).as_posix()
            if path.is_file() and not path.name.startswith(".tmp-") and key.startswith(prefix):
                yield key

    def download_url(self, key: str, *, filename: str, content_type: str) -> str | None:
        return None  # files are served through the API


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def _missing_directories(directory: Path) -> list[Path]:
    """directory and those of its parents that do not exist yet, innermost first."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    return missing


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

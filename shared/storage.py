"""Stored PDFs, named by letter id (never by NIK), written atomically."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from shared.config import Settings


class LetterFiles:
    """Where a letter's draft and issued PDFs live under SURATDESA_HOME; keys are deterministic."""

    def __init__(self, settings: Settings) -> None:
        self.root = settings.pdf_dir

    def path(self, letter_id: uuid.UUID, kind: str) -> Path:
        return self.root / letter_id.hex[:2] / f"{letter_id.hex}-{kind}.pdf"

    def write(self, letter_id: uuid.UUID, kind: str, data: bytes) -> Path:
        """Write via a temporary file and rename, so a reader never sees half a PDF; on disk once it returns."""
        target = self.path(letter_id, kind)
        self._store(target, data, lambda temp: os.replace(temp, target))
        return target

    def write_once(self, letter_id: uuid.UUID, kind: str, data: bytes) -> bytes:
        """Store data unless the file exists already: the bytes on disk either way (the first writer's win).

        The whole file is linked into place in one step, so of two writers (a worker that woke up late and the
        one that finished the letter meanwhile) the second never replaces what the first stored.
        """
        target = self.path(letter_id, kind)
        try:
            self._store(target, data, lambda temp: os.link(temp, target))
        except FileExistsError:
            return target.read_bytes()
        return data

    def _store(self, target: Path, data: bytes, place: Callable[[str], None]) -> None:
        created = _missing_directories(target.parent)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            place(temp)
        finally:
            Path(temp).unlink(missing_ok=True)  # renamed, linked, or a full disk or killed write: no stray file
        # A name lives in its directory: without these a power cut can lose the placed file or a new directory.
        for directory in (target.parent, *(new.parent for new in created)):
            _fsync_directory(directory)

    def exists(self, letter_id: uuid.UUID, kind: str) -> bool:
        """Whether the letter's file of this kind has been written."""
        return self.path(letter_id, kind).is_file()

    def read(self, letter_id: uuid.UUID, kind: str) -> bytes | None:
        target = self.path(letter_id, kind)
        return target.read_bytes() if target.exists() else None


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

"""Where attachments' bytes live: the two storage calls, and nothing else touches the files.

SURATDESA_HOME/attachments/<letter hex[:2]>/<letter hex>/<attachment hex>: named by ids only, never by a NIK or
the uploaded name. Written like the PDFs (shared/storage.py): a temporary file, fsynced, renamed into place, then
the directories fsynced, so a reader never sees half a file and a power cut after success loses nothing.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

from shared.config import Settings


def _path(settings: Settings, letter_id: uuid.UUID, attachment_id: uuid.UUID) -> Path:
    return settings.home / "attachments" / letter_id.hex[:2] / letter_id.hex / attachment_id.hex


def store_attachment(settings: Settings, letter_id: uuid.UUID, attachment_id: uuid.UUID, data: bytes) -> None:
    """Write an attachment's bytes atomically; on disk once this returns."""
    target = _path(settings, letter_id, attachment_id)
    created = [parent for parent in (target.parent, target.parent.parent, target.parent.parent.parent)
               if not parent.exists()]
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    finally:
        Path(temp).unlink(missing_ok=True)
    for directory in (target.parent, *(new.parent for new in created)):
        descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def read_attachment(settings: Settings, letter_id: uuid.UUID, attachment_id: uuid.UUID) -> bytes | None:
    """An attachment's bytes, or None if none is stored under these ids."""
    target = _path(settings, letter_id, attachment_id)
    return target.read_bytes() if target.is_file() else None

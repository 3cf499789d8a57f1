"""Where attachments' bytes live: the two storage calls, and nothing else touches the stored files.

Key `attachments/<letter hex[:2]>/<letter hex>/<attachment hex>` in the deployment's store (shared.storage: files
under SURATDESA_HOME, or the S3 bucket): named by ids only, never by a NIK or the uploaded name, and written once,
as PDFs are (an attachment id is new for every upload).
"""

from __future__ import annotations

import uuid

from shared.config import Settings
from shared.storage import open_store


def attachment_key(letter_id: uuid.UUID, attachment_id: uuid.UUID) -> str:
    """The stored name of one attachment of a letter."""
    return f"attachments/{letter_id.hex[:2]}/{letter_id.hex}/{attachment_id.hex}"


def store_attachment(settings: Settings, letter_id: uuid.UUID, attachment_id: uuid.UUID, data: bytes) -> None:
    """Store an attachment's bytes; stored in full (never half a file) once this returns."""
    open_store(settings).put_once(attachment_key(letter_id, attachment_id), data)


def read_attachment(settings: Settings, letter_id: uuid.UUID, attachment_id: uuid.UUID) -> bytes | None:
    """An attachment's bytes, or None if none is stored under these ids."""
    return open_store(settings).get(attachment_key(letter_id, attachment_id))

"""Copying stored files from one store to another (a trial's local files into the object store), verified."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from shared.models import Letter
from shared.storage import BlobStore, letter_key

log = logging.getLogger(__name__)
# Everything suratdesa stores: letters' PDFs, and the attachments of office records.
PREFIXES = ("pdf/", "attachments/")


@dataclass
class MigrationReport:
    """What a copy did: keys copied now, keys found already there (and equal), and every problem by key."""

    copied: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)


def issued_digests(session: Session) -> dict[str, str]:
    """Every issued (or revoked) letter's PDF key and the SHA-256 the database recorded at issue."""
    rows = session.exec(select(Letter.id, Letter.pdf_sha256).where(col(Letter.pdf_sha256).is_not(None))).all()
    return {letter_key(letter_id, "issued"): digest for letter_id, digest in rows if digest}


def migrate_store(*, source: BlobStore, target: BlobStore, digests: dict[str, str],
                  prefixes: Iterable[str] = PREFIXES) -> MigrationReport:
    """Copy every key of source into target and read each back from target to verify it.

    An issued PDF must match its letter's pdf_sha256, in source and in target. Idempotent and resumable: a key
    already in target is compared, not written again, so a second run (or one after an interruption) copies
    only what is missing and reports any difference.
    """
    report = MigrationReport()
    for prefix in prefixes:
        for key in source.keys(prefix):
            _copy_one(key, source, target, digests.get(key), report)
    for key in sorted(set(digests) - set(report.copied) - set(report.present) - set(report.problems)):
        report.problems[key] = "issued letter's PDF is in neither store"
    return report


def _copy_one(key: str, source: BlobStore, target: BlobStore, digest: str | None, report: MigrationReport) -> None:
    data = source.get(key)
    if data is None:
        report.problems[key] = "vanished from the source while copying"
        return
    if digest is not None and hashlib.sha256(data).hexdigest() != digest:
        report.problems[key] = "source file does not match the letter's pdf_sha256; not copied"
        return
    present = target.exists(key)
    if not present:
        target.put_once(key, data)
    stored = target.get(key)  # read back: the copy is verified against what the target now serves
    if stored != data:
        report.problems[key] = "target holds a different file under this key"
        return
    (report.present if present else report.copied).append(key)
    log.info("%s %s", "verified" if present else "copied", key)

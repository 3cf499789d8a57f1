"""Stored files on local disk: written once, atomically and durably (the file, then the directory entries)."""

from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path

import pytest

from shared.config import Settings
from shared.storage import LetterFiles, letter_key
from shared.storage.local import LocalStore


def identity(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_dev, info.st_ino


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, object]]:
    """The real os.fsync and os.link, each call recorded in order: ("link", target) or ("fsync", what)."""
    recorded: list[tuple[str, object]] = []
    real_fsync, real_link = os.fsync, os.link

    def fsync(fd: int) -> None:
        info = os.fstat(fd)
        recorded.append(("fsync", ("dir" if stat.S_ISDIR(info.st_mode) else "file", info.st_dev, info.st_ino)))
        real_fsync(fd)

    def link(source: str, target: str) -> None:
        real_link(source, target)
        recorded.append(("link", Path(target)))

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "link", link)
    return recorded


def synced_directories_after_link(calls: list[tuple[str, object]]) -> list[tuple[int, int]]:
    linked = [i for i, (name, _) in enumerate(calls) if name == "link"]
    assert len(linked) == 1, calls
    return [(what[1], what[2]) for name, what in calls[linked[0] + 1:]  # type: ignore[index]
            if name == "fsync" and what[0] == "dir"]  # type: ignore[index]


def test_a_write_syncs_the_file_then_after_linking_it_its_directory_and_new_parents(
        settings: Settings, calls: list[tuple[str, object]]) -> None:
    store, letter_id = LocalStore(settings.home), uuid.uuid4()
    assert not settings.home.exists()
    assert LetterFiles(settings, store).write_once(letter_id, "draft", b"%PDF-1.7 draft") == b"%PDF-1.7 draft"
    target = store.path(letter_key(letter_id, "draft"))
    assert target == settings.home / "pdf" / letter_id.hex[:2] / f"{letter_id.hex}-draft.pdf"  # today's layout
    assert target.read_bytes() == b"%PDF-1.7 draft" and LetterFiles(settings).read(letter_id, "draft") == \
        b"%PDF-1.7 draft"
    linked = calls.index(("link", target))
    assert [name for name, what in calls[:linked]] == ["fsync"]  # the file's data, before it gets its name
    synced = synced_directories_after_link(calls)
    assert identity(target.parent) in synced  # the new name's entry
    assert identity(settings.home / "pdf") in synced and identity(settings.home) in synced  # new directories


def test_a_write_into_an_existing_directory_syncs_that_directory(
        settings: Settings, calls: list[tuple[str, object]]) -> None:
    store, key = LocalStore(settings.home), letter_key(uuid.uuid4(), "issued")
    store.path(key).parent.mkdir(parents=True)
    store.put_once(key, b"%PDF-1.7 issued")
    assert synced_directories_after_link(calls) == [identity(store.path(key).parent)]
    assert [p.name for p in store.path(key).parent.iterdir()] == [store.path(key).name]  # no temporary file left


def test_the_first_write_of_a_key_wins_and_a_later_writer_gets_it_back(settings: Settings) -> None:
    store, key = LocalStore(settings.home), "attachments/abc/1"
    assert store.put_once(key, b"first") == b"first"
    assert store.put_once(key, b"second") == b"first"
    assert store.get(key) == b"first" and store.exists(key) and not store.exists("attachments/abc/2")
    chunks, length = store.stream(key)  # type: ignore[misc]
    assert b"".join(chunks) == b"first" and length == 5
    assert store.stream("attachments/abc/2") is None and store.get("attachments/abc/2") is None
    assert list(store.keys("attachments/")) == [key] and list(store.keys("pdf/")) == []


def test_a_write_that_fails_leaves_neither_a_stray_file_nor_a_stored_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store, key = LocalStore(tmp_path), letter_key(uuid.uuid4(), "draft")

    def full_disk(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        store.put_once(key, b"%PDF-1.7 second")
    assert store.get(key) is None and list(store.path(key).parent.iterdir()) == []


@pytest.mark.parametrize("key", ["", "/etc/passwd", "pdf/../../x", "pdf//x", "./x"])
def test_a_key_cannot_leave_the_store(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="not a storage key"):
        LocalStore(tmp_path).path(key)

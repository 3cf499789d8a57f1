"""Stored PDFs: written atomically and durably (the file, then the directory entries that name it)."""

from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path

import pytest

from shared.config import Settings
from shared.storage import LetterFiles


def identity(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_dev, info.st_ino


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, object]]:
    """The real os.fsync and os.replace, each call recorded in order: ("replace", target) or ("fsync", what)."""
    recorded: list[tuple[str, object]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        info = os.fstat(fd)
        recorded.append(("fsync", ("dir" if stat.S_ISDIR(info.st_mode) else "file", info.st_dev, info.st_ino)))
        real_fsync(fd)

    def replace(source: str, target: str) -> None:
        real_replace(source, target)
        recorded.append(("replace", Path(target)))

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return recorded


def synced_directories_after_replace(calls: list[tuple[str, object]]) -> list[tuple[int, int]]:
    replaced = [i for i, (name, _) in enumerate(calls) if name == "replace"]
    assert len(replaced) == 1, calls
    return [(what[1], what[2]) for name, what in calls[replaced[0] + 1:]  # type: ignore[index]
            if name == "fsync" and what[0] == "dir"]  # type: ignore[index]


def test_a_write_syncs_the_file_then_after_the_rename_its_directory_and_new_parents(
        settings: Settings, calls: list[tuple[str, object]]) -> None:
    files = LetterFiles(settings)
    assert not files.root.exists()
    letter_id = uuid.uuid4()
    target = files.write(letter_id, "draft", b"%PDF-1.7 draft")
    assert target.read_bytes() == b"%PDF-1.7 draft" and files.read(letter_id, "draft") == b"%PDF-1.7 draft"
    replaced = calls.index(("replace", target))
    assert [name for name, what in calls[:replaced]] == ["fsync"]  # the file's data, before it gets its name
    synced = synced_directories_after_replace(calls)
    assert identity(target.parent) in synced  # the new name's entry
    assert identity(files.root) in synced and identity(files.root.parent) in synced  # the new directories' entries


def test_a_write_into_an_existing_directory_syncs_that_directory(
        settings: Settings, calls: list[tuple[str, object]]) -> None:
    files = LetterFiles(settings)
    letter_id = uuid.uuid4()
    files.path(letter_id, "issued").parent.mkdir(parents=True)
    target = files.write(letter_id, "issued", b"%PDF-1.7 issued")
    assert synced_directories_after_replace(calls) == [identity(target.parent)]
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temporary file left behind


def test_a_write_that_fails_leaves_neither_a_stray_file_nor_the_old_one_changed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files, letter_id = LetterFiles(Settings(suratdesa_home=tmp_path)), uuid.uuid4()
    files.write(letter_id, "draft", b"%PDF-1.7 first")

    def full_disk(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        files.write(letter_id, "draft", b"%PDF-1.7 second")
    assert files.read(letter_id, "draft") == b"%PDF-1.7 first"
    assert [p.name for p in files.path(letter_id, "draft").parent.iterdir()] == [f"{letter_id.hex}-draft.pdf"]

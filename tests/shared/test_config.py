"""Settings: one typed object, read from the environment."""

from __future__ import annotations

import pytest

from shared.config import get_settings


def test_the_environment_is_read_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    get_settings.cache_clear()
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://surat.example.id")
    first = get_settings()
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://lain.example.id")
    assert get_settings() is first and first.public_base_url == "https://surat.example.id"
    get_settings.cache_clear()

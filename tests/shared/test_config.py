"""Settings: one typed object, read from the environment once; a NUMBER_PATTERN is refused as a profile's is."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.config import Settings, get_settings
from shared.errors import ProfileError
from shared.villages import load_village_file
from tests.shared.test_villages import profile_copy

DEFAULT = "{classification}/{seq:03d}/{village_code}/{roman_month}/{year}"


@pytest.mark.parametrize(("pattern", "message"), [
    ("{classification}/{village_code}/{year}", r"needs \{seq\.\.\.\} and \{year\}"),
    ("{classification}/{seq:03d}/{village_code}", r"needs \{seq\.\.\.\} and \{year\}"),
    ("{klasifikasi}/{seq:03d}/{year}", r"cannot be formatted \(KeyError\('klasifikasi'\)\); placeholders: "),
    ("{classification}/{seq:03x/{year}", r"cannot be formatted"),
])
def test_a_bad_number_pattern_stops_the_settings_as_it_stops_a_profile(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pattern: str, message: str) -> None:
    monkeypatch.setenv("NUMBER_PATTERN", pattern)
    with pytest.raises(ValidationError, match=r"number_pattern\n  Value error, " + message):
        Settings()
    profile = profile_copy(tmp_path, (f'number_pattern = "{DEFAULT}"', f'number_pattern = "{pattern}"'))
    with pytest.raises(ProfileError, match=r"field number_pattern: Value error, " + message):
        load_village_file(profile)


def test_a_good_number_pattern_is_taken_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMBER_PATTERN", "{seq:04d}/{village_code}/{year}")
    assert Settings().number_pattern == "{seq:04d}/{village_code}/{year}"


def test_the_environment_is_read_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    get_settings.cache_clear()
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://surat.example.id")
    first = get_settings()
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://lain.example.id")
    assert get_settings() is first and first.public_base_url == "https://surat.example.id"
    get_settings.cache_clear()

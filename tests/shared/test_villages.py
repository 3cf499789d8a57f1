"""Village profiles: the demo file, broken files named by file and field, `villages load` creating and updating."""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import os
import random
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlmodel import delete, select

from shared.accounts import create_village
from shared.config import Settings
from shared.db import get_engine, session_scope, upgrade_schema
from shared.errors import DomainError, ProfileError
from shared.letters.intake.catalog import load_catalog
from shared.letters.signing.signatures import ensure_village_key
from shared.models import Village, VillageEmblem
from shared.villages import (
    DEMO_PROFILE,
    MAX_LOGO_BYTES,
    VillageProfile,
    approval_required,
    demo_village,
    load_village_file,
    save_village,
    village_emblem,
    village_profile,
    village_today,
)
from tests.conftest import ROOT, run_cli

LETTER_TYPES = load_catalog(Settings().templates_dir).types


def profile_copy(tmp_path: Path, *edits: tuple[str, str], name: str = "cijengkol.toml") -> Path:
    """The demo profile with text replaced, next to a copy of its emblem."""
    text = DEMO_PROFILE.read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    (tmp_path / "cijengkol-logo.png").write_bytes((DEMO_PROFILE.parent / "cijengkol-logo.png").read_bytes())
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_demo_profile_has_fictitious_officials_delegation_and_an_emblem() -> None:
    village = demo_village()
    assert (village.code, village.name, village.district, village.regency) == ("Ds.Cjk", "Cijengkol", "Caringin",
                                                                               "Sukabumi")
    signers = {s["key"]: s for s in village.profile["signers"]}
    assert signers["kades"]["name"] == "Budi Contoh" and signers["sekdes"]["name"] == "Siti Contohwati"
    assert signers["kasi_pelayanan"]["on_behalf"] == ["a.n. Kepala Desa Cijengkol", "u.b. Sekretaris Desa"]
    emblem = (DEMO_PROFILE.parent / "cijengkol-logo.png").read_bytes()
    assert village.profile["logo_digest"] == hashlib.sha256(emblem).hexdigest()
    assert village_emblem(village) == emblem  # kept from the file: the demo village is in no database
    assert village.profile["paper"] == "F4" and village.profile["sequence"] == "per_type"
    assert approval_required(village, "sktm", default=True)


@pytest.mark.parametrize(("edit", "message"), [
    (('name = "Budi Contoh"', 'nama = "Budi Contoh"'), r"field signers\.0\.name: Field required"),
    (('paper = "F4"', 'paper = "Letter"'), r"field paper: Input should be 'F4' or 'A4'"),
    (('sequence = "per_type"', 'sequence = "yearly"'), r"field sequence"),
    (('["a.n. Kepala Desa Cijengkol", "u.b. Sekretaris Desa"]', '["u.b. Sekretaris Desa"]'),
     r"field signers\.2\.on_behalf: .*must start with 'a\.n\.'"),
    (('pengantar = "sekdes"', 'pengantar = "carik"'), r"field signer_by_type: .*'carik' is not among"),
    (('# pengantar = false', 'surat_sakti = false'), r"field approval: .*unknown letter type 'surat_sakti'"),
    (('{classification}/{seq:03d}', '{klasifikasi}/{seq:03d}'), r"field number_pattern: .*cannot be formatted"),
    (('{seq:03d}/', ''), r"field number_pattern: .*needs \{seq"),
    (('{classification}/{seq:03d}', '{seq:03d}'), r"field sequence: .*needs \{classification\}"),
    (('logo = "cijengkol-logo.png"', 'logo = "lambang.png"'), r"field logo: cannot read .*lambang\.png"),
    (('postal_code = "43154"', 'postal_code = "4315"'), r"field postal_code"),
    (('name = "Budi Contoh"', 'name = "Budi\u200bContoh"'), r"field signers\.0\.name: .*\(U\+200B\)"),
    (('position = "Sekretaris Desa"', 'position = "Sekretaris \u202eDesa"'),
     r"field signers\.1\.position: .*\(U\+202E\)"),
    (('"u.b. Sekretaris Desa"', '"u.b. Sekretaris Desa\u200f"'), r"field signers\.2\.on_behalf\.1: .*\(U\+200F\)"),
    (('name = "Cijengkol"', 'name = "Cijeng\u00adkol"'), r"field name: .*\(U\+00AD\)"),
    (('office_address = "Jl. Raya', 'office_address = "\ufeffJl. Raya'), r"field office_address: .*\(U\+FEFF\)"),
])
def test_a_broken_profile_names_file_and_field(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    with pytest.raises(ProfileError, match=r"^desa\.toml: " + message):
        load_village_file(profile_copy(tmp_path, edit, name="desa.toml"), letter_types=LETTER_TYPES)


def test_a_profile_is_kept_composed_and_a_leading_byte_order_mark_is_no_content(tmp_path: Path) -> None:
    path = profile_copy(tmp_path, ('name = "Budi Contoh"', 'name = "Budi Conto\u0301h"'))
    path.write_bytes(codecs.BOM_UTF8 + path.read_bytes())
    record = load_village_file(path, letter_types=LETTER_TYPES)
    assert record.profile["signers"][0]["name"] == "Budi Cont\u00f3h"


def test_a_logo_must_be_an_image(tmp_path: Path) -> None:
    path = profile_copy(tmp_path)
    (tmp_path / "cijengkol-logo.png").write_text("not a picture")
    with pytest.raises(ProfileError, match=r"cijengkol.toml: field logo: cijengkol-logo.png is not a PNG or JPEG"):
        load_village_file(path)


def test_villages_load_refuses_a_broken_file_without_a_traceback(tmp_path: Path) -> None:
    path = profile_copy(tmp_path, ('district = "Caringin"', 'district = ""'), name="sudajaya.toml")
    env = {**os.environ, "SURATDESA_HOME": str(tmp_path / "home")}
    run_cli(env, "init")
    result = subprocess.run([sys.executable, "-m", "services.cli", "villages", "load", str(path)], env=env,
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 1
    assert "sudajaya.toml: field district" in result.stderr and "Traceback" not in result.stderr


def test_villages_load_creates_then_updates_by_code(tmp_path: Path) -> None:
    env = {**os.environ, "SURATDESA_HOME": str(tmp_path / "home")}
    run_cli(env, "init")  # the demo village, Ds.Cjk, from templates/villages/cijengkol.toml
    other = profile_copy(tmp_path, ('code = "Ds.Cjk"', 'code = "Ds.Sdj"'), ('name = "Cijengkol"', 'name = "Sudajaya"'),
                         name="sudajaya.toml")
    assert "village Ds.Sdj created from sudajaya.toml" in run_cli(env, "villages", "load", str(other))
    assert (tmp_path / "home" / "keys" / "villages" / "Ds.Sdj" / "signer.key.pem").is_file()
    changed = profile_copy(tmp_path, ('paper = "F4"', 'paper = "A4"'), ('# pengantar = false', 'pengantar = false'))
    assert "village Ds.Cjk updated" in run_cli(env, "villages", "load", str(changed))
    settings = Settings(suratdesa_home=tmp_path / "home")
    with session_scope(settings) as session:
        villages = {v.code: v for v in session.exec(select(Village)).all()}
    get_engine(settings).dispose()
    assert set(villages) == {"Ds.Cjk", "Ds.Sdj"} and villages["Ds.Sdj"].name == "Sudajaya"
    assert villages["Ds.Cjk"].profile["paper"] == "A4"
    assert not approval_required(villages["Ds.Cjk"], "pengantar", default=True)


def noise_png(side: int, seed: int) -> bytes:
    """A PNG of random pixels: it does not compress, so side 370 weighs about 400 kB, near MAX_LOGO_BYTES."""
    pixels = random.Random(seed).randbytes(side * side * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), pixels).save(out, "PNG")
    return out.getvalue()


def test_a_heavy_emblem_stays_out_of_the_village_row_and_is_read_once_per_emblem(tmp_path: Path,
                                                                                   db_settings: Settings) -> None:
    """Every API request reads its client's village row: an emblem near the limit must not ride along. The worker
    reads it once per emblem, and a changed emblem (a new digest) anew."""
    heavy, other = noise_png(370, 1), noise_png(370, 2)
    assert 350_000 < len(heavy) < MAX_LOGO_BYTES and heavy != other
    path = profile_copy(tmp_path)
    (tmp_path / "cijengkol-logo.png").write_bytes(heavy)
    with session_scope(db_settings) as session:
        village, _ = save_village(session, load_village_file(path))
        stored = session.exec(select(VillageEmblem).where(VillageEmblem.village_id == village.id)).one()
        assert stored.image == heavy and village.profile["logo_digest"] == hashlib.sha256(heavy).hexdigest()
        assert len(json.dumps(village.profile)) < 2_000  # the row every request reads: names and settings only
        assert village_emblem(village, session) == heavy
        session.exec(delete(VillageEmblem))
        session.commit()
        assert village_emblem(village, session) == heavy  # kept by this process: not read again

        (tmp_path / "cijengkol-logo.png").write_bytes(other)
        village, created = save_village(session, load_village_file(path))
        assert not created and village_emblem(village, session) == other  # a new digest: read anew

        path.write_text(path.read_text(encoding="utf-8").replace('logo = "cijengkol-logo.png"', ""), encoding="utf-8")
        village, _ = save_village(session, load_village_file(path))
        assert "logo_digest" not in village.profile and village_emblem(village, session) is None
        assert session.exec(select(VillageEmblem)).all() == []
    get_engine(db_settings).dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    settings = Settings(suratdesa_home=tmp_path / "home", **({"database_url": url} if url else {}))
    settings.suratdesa_home.mkdir()
    upgrade_schema(settings)
    return settings


ACCEPTED_CODES = ["Ds.Cjk", "3202092001", "Ds_Cjk-2", "ab", "x" * 32]
REFUSED_CODES = ["a", "x" * 33, "-Cjk", ".hidden", "../evil", "Ds Cjk", "Ds/Cjk", "Ds.Cjk\n"]


def _where_a_code_is_refused(tmp_path: Path, code: str) -> list[str]:
    refused = []
    profile = {"code": code, "name": "X", "district": "D", "regency": "R", "office_address": "Jl. X",
               "signers": [{"key": "kades", "name": "N", "position": "Kepala Desa X"}]}
    try:
        VillageProfile.model_validate(profile)
    except ValueError:
        refused.append("profile")
    settings = Settings(suratdesa_home=tmp_path / "home")
    tmp_path.joinpath("home").mkdir(exist_ok=True)
    upgrade_schema(settings)
    with session_scope(settings) as session:
        try:
            create_village(session, code=code, name="X", district="D", regency="R")
        except DomainError:
            refused.append("database")
    try:
        ensure_village_key(tmp_path / "keys", village_code=code, village_name="Desa X", signer_position="Kades")
    except ValueError:
        refused.append("keys")
    return refused


@pytest.mark.parametrize("code", ACCEPTED_CODES + REFUSED_CODES)
def test_a_village_code_has_one_shape_for_profiles_the_database_and_key_folders(tmp_path: Path, code: str) -> None:
    expected = ["profile", "database", "keys"] if code in REFUSED_CODES else []
    assert _where_a_code_is_refused(tmp_path, code) == expected


def test_villages_create_checks_names_as_a_profile_does(tmp_path: Path) -> None:
    env = {**os.environ, "SURATDESA_HOME": str(tmp_path / "home")}
    run_cli(env, "init")
    result = subprocess.run([sys.executable, "-m", "services.cli", "villages", "create", "--code", "Ds.Sdr", "--name",
                             "Suda\u200bjaya", "--district", "Cicurug", "--regency", "Sukabumi"], env=env,
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 1 and "name: " in result.stderr and "(U+200B)" in result.stderr, result.stderr
    settings = Settings(suratdesa_home=tmp_path / "home")
    names: dict[str, Any] = {"name": "Sudajaya", "district": "Cicurug", "regency": "Sukabumi", "province": "Jawa Barat"}
    with session_scope(settings) as session:
        for field, value in (("district", "Cicu\u202erug"), ("regency", "\ufeffSukabumi"),
                             ("province", "Jawa\u00adBarat")):
            with pytest.raises(DomainError, match=rf"^{field}: .*\(U\+"):
                create_village(session, code="Ds.Sdr", **{**names, field: value})
        village = create_village(session, code="Ds.Sdr", **{**names, "name": "Suda\u0301jaya",
                                                            "regency": "Sukabumi\u00a0Barat"})
        assert (village.name, village.regency) == ("Sud\u00e1jaya", "Sukabumi Barat")
        assert village.profile["signers"][0]["position"] == "Kepala Desa Sud\u00e1jaya"
    get_engine(settings).dispose()


def village_in(zone: str) -> Village:
    village = demo_village()
    village.profile = {**village.profile, "time_zone": zone}
    return village


def test_half_past_eleven_utc_is_already_tomorrow_in_a_wib_village() -> None:
    assert village_today(demo_village(), now=datetime(2026, 12, 1, 23, 30, tzinfo=UTC)) == date(2026, 12, 2)
    assert village_today(demo_village(), now=datetime(2026, 12, 1, 16, 59, tzinfo=UTC)) == date(2026, 12, 1)


def test_wita_and_wit_villages_roll_over_one_and_two_hours_before_a_wib_one() -> None:
    def dates(now: datetime) -> tuple[date, date, date]:
        return tuple(village_today(village_in(zone), now=now) for zone in ("WIB", "WITA", "WIT"))  # type: ignore[return-value]

    eve, new_year = date(2026, 12, 31), date(2027, 1, 1)
    assert dates(datetime(2026, 12, 31, 14, 59, tzinfo=UTC)) == (eve, eve, eve)
    assert dates(datetime(2026, 12, 31, 15, 0, tzinfo=UTC)) == (eve, eve, new_year)  # 00:00 WIT
    assert dates(datetime(2026, 12, 31, 16, 0, tzinfo=UTC)) == (eve, new_year, new_year)  # 00:00 WITA
    assert dates(datetime(2026, 12, 31, 17, 0, tzinfo=UTC)) == (new_year, new_year, new_year)  # 00:00 WIB
    assert village_today(demo_village(), now=datetime(2026, 12, 31, 17, 0)) == new_year  # naive (SQLite): UTC


def test_the_stored_profile_is_read_back_typed() -> None:
    village = demo_village()
    profile = village_profile(village)
    assert (profile.code, profile.name, profile.paper, profile.time_zone) == ("Ds.Cjk", "Cijengkol", "F4", "WIB")
    assert profile.signers[0].name == "Budi Contoh" and profile.sequence == "per_type"
    assert profile.logo_digest == hashlib.sha256((DEMO_PROFILE.parent / "cijengkol-logo.png").read_bytes()).hexdigest()
    village.profile = {**village.profile, "paper": "B5"}
    with pytest.raises(ValueError, match="paper"):  # a row edited by hand is refused, not read with a default
        village_profile(village)


def test_a_profile_read_again_after_its_row_changed_is_the_new_one() -> None:
    """Checked profiles are kept by content: a changed row (another signer, a renamed village) is checked anew,
    and the kept one cannot be changed in place by a caller."""
    village = demo_village()
    first = village_profile(village)
    assert village_profile(village) is first
    village.profile = {**village.profile, "signers": [{"key": "sekdes", "name": "Ujang Permana",
                                                        "position": "Sekretaris Desa"}],
                       "default_signer": None, "signer_by_type": {}}
    village.name = "Cijengkol Baru"
    changed = village_profile(village)
    assert [s.name for s in changed.signers] == ["Ujang Permana"]
    assert changed.name == "Cijengkol Baru"
    with pytest.raises(ValueError, match="frozen"):
        first.paper = "A4"

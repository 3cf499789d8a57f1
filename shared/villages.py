"""Village profiles: one TOML file per village, checked, then stored in `Village` (settings in `profile`)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlmodel import Session, select

from shared.db import saved_id
from shared.errors import ProfileError
from shared.letters.intake.schemas import PlainText
from shared.letters.workflow.numbering import check_number_pattern
from shared.models import Village, VillageEmblem, as_utc, utcnow
from shared.tomlfiles import load_toml_model

DEMO_PROFILE = Path(__file__).resolve().parent.parent / "templates" / "villages" / "cijengkol.toml"
# A village code's shape, the one definition: letter numbers, key file names and the CLI all use it.
VILLAGE_CODE = r"^[A-Za-z0-9][A-Za-z0-9._-]{1,31}$"
_VILLAGE_CODE = re.compile(VILLAGE_CODE)
MAX_LOGO_BYTES = 512 * 1024
IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")  # PNG, JPEG: what the renderer embeds
Name = Annotated[PlainText, Field(min_length=1, max_length=100)]
# The zones a profile names, as printed after times of day, and where each village's day begins and ends.
TIME_ZONES = {"WIB": ZoneInfo("Asia/Jakarta"), "WITA": ZoneInfo("Asia/Makassar"), "WIT": ZoneInfo("Asia/Jayapura")}



def is_village_code(code: str) -> bool:
    """Whether code has a village code's shape (2-32 letters, digits, dots, dashes, underscores)."""
    return _VILLAGE_CODE.fullmatch(code) is not None

class SignerProfile(BaseModel):
    """An official who signs letters, and on whose behalf ("a.n." then "u.b." lines)."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")  # how the profile refers to this signer
    name: Name
    position: Name  # "Kepala Desa Cijengkol", "Sekretaris Desa", "Kasi Pelayanan"
    staff_number: PlainText | None = Field(default=None, max_length=60)  # NIP / NIPD, printed under the name
    on_behalf: list[PlainText] = Field(default_factory=list, max_length=3)

    @field_validator("on_behalf")
    @classmethod
    def _delegation_order(cls, lines: list[str]) -> list[str]:
        for i, line in enumerate(lines):
            prefix = "a.n. " if i == 0 else "u.b. "
            if not line.startswith(prefix) or len(line) <= len(prefix):
                raise ValueError(f"line {i + 1} must start with '{prefix.strip()}' and name a position")
        return lines


class VillageProfile(BaseModel):
    """Everything a village file says; see templates/villages/cijengkol.toml."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=VILLAGE_CODE)  # used in letter numbers, e.g. Ds.Cjk
    name: Name  # without "Desa"
    district: Name
    regency: Name
    province: PlainText = Field(default="", max_length=100)
    # `villages create` makes a village without one; the letterhead then shows no address line
    office_address: PlainText = Field(default="", max_length=200)
    postal_code: str | None = Field(default=None, pattern=r"^[0-9]{5}$")
    place: PlainText | None = Field(default=None, max_length=60)  # in "Cijengkol, 27 November 2026"; the name if unset
    logo: str | None = None  # a PNG or JPEG, relative to the profile file
    paper: Literal["F4", "A4"] = "F4"
    # printed after times of day ("08.30 WIB"), and the zone of the village's date: see village_today
    time_zone: Literal["WIB", "WITA", "WIT"] = "WIB"
    number_pattern: str | None = None  # else the deployment's NUMBER_PATTERN
    sequence: Literal["per_type", "shared"] = "per_type"
    signers: list[SignerProfile] = Field(min_length=1)
    default_signer: str | None = None  # a signer key; the first signer if unset
    signer_by_type: dict[str, str] = Field(default_factory=dict)  # letter type -> signer key
    approval: dict[str, bool] = Field(default_factory=dict)  # letter type -> needs an official's approval

    @field_validator("number_pattern")
    @classmethod
    def _pattern_formats(cls, pattern: str | None) -> str | None:
        return None if pattern is None else check_number_pattern(pattern)

    @field_validator("sequence")
    @classmethod
    def _per_type_numbers_differ(cls, sequence: str, info: ValidationInfo) -> str:
        pattern = info.data.get("number_pattern")
        if sequence == "per_type" and pattern and "{classification" not in pattern:
            raise ValueError("per_type needs {classification} in number_pattern, or two types would share a number")
        return sequence

    @field_validator("signer_by_type", "approval")
    @classmethod
    def _known_letter_types(cls, by_type: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        known = (info.context or {}).get("letter_types")
        if known is None:
            return by_type
        unknown = [code for code in by_type if code not in known]
        if unknown:
            raise ValueError(f"unknown letter type '{unknown[0]}'; known: {', '.join(sorted(known))}")
        return by_type

    @field_validator("signers")
    @classmethod
    def _unique_keys(cls, signers: list[SignerProfile]) -> list[SignerProfile]:
        keys = [s.key for s in signers]
        if len(set(keys)) != len(keys):
            raise ValueError("two signers share a key")
        return signers

    @field_validator("default_signer", "signer_by_type")
    @classmethod
    def _named_signers_exist(cls, named: str | dict[str, str] | None, info: ValidationInfo) -> Any:
        keys = [s.key for s in info.data.get("signers", [])]
        for key in ([named] if isinstance(named, str) else (named or {}).values()):
            if keys and key not in keys:
                raise ValueError(f"signer '{key}' is not among the signers ({', '.join(keys)})")
        return named


class StoredVillageProfile(VillageProfile):
    """A profile as read back from its village row: the emblem's digest (see VillageEmblem) instead of its file name.

    Frozen: village_profile hands the same checked profile to every caller that reads the same row."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    logo_digest: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class VillageRecord:
    """A checked profile as the village row stores it: names in columns, the rest in `profile` (JSON)."""

    code: str
    name: str
    district: str
    regency: str
    province: str
    profile: dict[str, Any]
    emblem: bytes | None = None  # the logo file's bytes, kept as the village's VillageEmblem


def load_village_file(path: Path, *, letter_types: Collection[str] | None = None) -> VillageRecord:
    """Read and check a village file; a broken one raises ProfileError naming file and field."""
    profile = load_toml_model(path, VillageProfile, ProfileError, context={"letter_types": letter_types})
    logo = _logo_image(path, profile.logo) if profile.logo else None
    stored = profile.model_dump(exclude={"code", "name", "district", "regency", "province", "logo"},
                                exclude_none=True)
    if logo:
        stored["logo_digest"] = emblem_digest(logo)  # the image in the database: the worker needs no shared disk
    return VillageRecord(code=profile.code, name=profile.name, district=profile.district,
                         regency=profile.regency, province=profile.province, profile=stored, emblem=logo)


def _logo_image(profile_path: Path, logo: str) -> bytes:
    file = (profile_path.parent / logo).resolve()
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise ProfileError(f"{profile_path.name}: field logo: cannot read {file}: {exc.strerror}") from exc
    if not data.startswith(IMAGE_SIGNATURES):
        raise ProfileError(f"{profile_path.name}: field logo: {file.name} is not a PNG or JPEG image")
    if len(data) > MAX_LOGO_BYTES:
        raise ProfileError(f"{profile_path.name}: field logo: {file.name} is over {MAX_LOGO_BYTES // 1024} kB")
    return data


def save_village(session: Session, record: VillageRecord) -> tuple[Village, bool]:
    """Create the village, or update the one with the same code; True when it was created."""
    village = session.exec(select(Village).where(Village.code == record.code)).first()
    created = village is None
    village = village or Village(code=record.code, name=record.name, district=record.district,
                                 regency=record.regency)
    village.name, village.district, village.regency = record.name, record.district, record.regency
    village.province, village.profile = record.province, record.profile
    session.add(village)
    session.flush()  # the new village's id, for its emblem
    set_village_emblem(session, village, record.emblem)
    session.commit()
    session.refresh(village)
    return village, created


def set_village_emblem(session: Session, village: Village, image: bytes | None) -> None:
    """Give the village this emblem (its profile names the digest), or none; the caller commits."""
    village_id = saved_id(village)
    kept = session.get(VillageEmblem, village_id)
    profile = {key: value for key, value in village.profile.items() if key != "logo_digest"}
    if image is None:
        if kept is not None:
            session.delete(kept)
    else:
        digest = profile["logo_digest"] = emblem_digest(image)
        kept = kept or VillageEmblem(village_id=village_id, digest=digest, image=image)
        kept.digest, kept.image = digest, image
        session.add(kept)
    village.profile = profile  # a new dict: the JSON column sees the change
    session.add(village)


def emblem_digest(image: bytes) -> str:
    """How a profile names its emblem: the image's hex SHA-256."""
    return hashlib.sha256(image).hexdigest()


def village_emblem(village: Village, session: Session | None = None) -> bytes | None:
    """The image the village's profile names as its emblem, or None: kept by this process once read (by digest, so
    a changed emblem is read anew), else read with session. A village the database does not hold (demo_village)
    has its emblem kept from the start; without a session, one not kept raises LookupError."""
    digest = village_profile(village).logo_digest
    if digest is None:
        return None
    image = _EMBLEMS.get(digest)
    if image is not None:
        return image
    if session is None:
        raise LookupError(f"the emblem of village {village.code} is not read yet")
    image = session.exec(select(VillageEmblem.image).where(VillageEmblem.village_id == saved_id(village),
                                                           VillageEmblem.digest == digest)).first()
    if image is None:  # the profile changed since the village was read: the step fails, and is tried again
        raise LookupError(f"village {village.code} has no emblem {digest[:12]} (its profile changed meanwhile?)")
    _keep_emblem(digest, image)
    return image


def _keep_emblem(digest: str, image: bytes) -> None:
    if len(_EMBLEMS) >= EMBLEMS_KEPT:
        _EMBLEMS.clear()  # bounded, and safe beside other threads, as _CHECKED_PROFILES
    _EMBLEMS[digest] = image


# Emblems by digest: a worker serves many villages, each emblem up to MAX_LOGO_BYTES (the prepared, scaled copy
# the renderer draws is kept apart, by shared.letters.documents.emblem).
EMBLEMS_KEPT = 16
_EMBLEMS: dict[str, bytes] = {}


def demo_village() -> Village:
    """Desa Cijengkol from its profile file, not stored (for samples and benchmarks); its emblem kept in memory."""
    record = load_village_file(DEMO_PROFILE)
    if record.emblem is not None:
        _keep_emblem(emblem_digest(record.emblem), record.emblem)
    return Village(id=1, code=record.code, name=record.name, district=record.district, regency=record.regency,
                   province=record.province, profile=record.profile)


def village_profile(village: Village) -> StoredVillageProfile:
    """The village's profile, typed and checked again, from its columns and its stored `profile`.

    A letter's render asks for it several times and a worker serves the same villages all day: the check runs
    once per content of the row (a changed profile is a new key), not once per question."""
    row = json.dumps([village.code, village.name, village.district, village.regency, village.province,
                      village.profile], sort_keys=True, ensure_ascii=False)
    key = hashlib.sha256(row.encode()).digest()
    profile = _CHECKED_PROFILES.get(key)
    if profile is None:
        if len(_CHECKED_PROFILES) >= CHECKED_PROFILES_KEPT:
            _CHECKED_PROFILES.clear()  # bounded, and safe beside other threads (gthread workers)
        profile = _CHECKED_PROFILES[key] = StoredVillageProfile.model_validate({
            **village.profile, "code": village.code, "name": village.name, "district": village.district,
            "regency": village.regency, "province": village.province})
    return profile


# Checked profiles by the SHA-256 of their row; each is small but for its emblem (MAX_LOGO_BYTES at most).
CHECKED_PROFILES_KEPT = 64
_CHECKED_PROFILES: dict[bytes, StoredVillageProfile] = {}


def village_time_zone(village: Village) -> ZoneInfo:
    """The zone of the village's dates (its profile's WIB, WITA or WIT)."""
    return TIME_ZONES[village_profile(village).time_zone]


def local_date(zone: ZoneInfo, moment: datetime | None = None) -> date:
    """The date in zone at moment (now unless given); a naive moment (SQLite) is UTC, as everything stored is."""
    return (as_utc(moment) or utcnow()).astimezone(zone).date()


def village_today(village: Village, *, now: datetime | None = None) -> date:
    """What day it is for this village: the date in its own time zone, now or at the moment given."""
    return local_date(village_time_zone(village), now)


def approval_required(village: Village, type_code: str, default: bool) -> bool:
    """Whether an official must approve this type here: the village's switch, else the template's."""
    return village_profile(village).approval.get(type_code, default)

"""What a letter says, laid out as plain data: the renderer's only input."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Letterhead:
    """The kop surat: the lines in capitals, the office address and an optional logo."""

    lines: tuple[str, ...]  # e.g. ("PEMERINTAH KABUPATEN SUKABUMI", "KECAMATAN CARINGIN", "DESA CIJENGKOL")
    address: str
    logo_path: str | None = None
    logo: bytes | None = None  # the image itself (PNG or JPEG), as a village profile stores it


@dataclass(frozen=True)
class SignerBlock:
    """Who signs, and on whose behalf ("a.n." / "u.b." lines above the position)."""

    name: str
    position: str  # e.g. "Kepala Desa Cijengkol" or "Sekretaris Desa"
    staff_number: str | None = None  # NIP / NIPD, printed under the name when present
    on_behalf: tuple[str, ...] = ()  # e.g. ("a.n. Kepala Desa Cijengkol",) or (..., "u.b. Kasi Pelayanan")


@dataclass(frozen=True)
class Section:
    """A data table with aligned colons, optionally under a heading (e.g. "Data Ibu")."""

    rows: tuple[tuple[str, str], ...]
    heading: str | None = None


@dataclass(frozen=True)
class PeopleTable:
    """People listed together, e.g. the family members moving along: a numbered table under column titles."""

    columns: tuple[str, ...]  # e.g. ("Nama", "NIK", "Hubungan"); the renderer adds the "No." column
    rows: tuple[tuple[str, ...], ...]
    heading: str | None = None


@dataclass(frozen=True)
class LetterDocument:
    """A letter ready to lay out. Every string is plain text exactly as typed: the renderer escapes it."""

    letterhead: Letterhead
    title: str  # printed in capitals, bold, underlined
    opening: str
    sections: tuple[Section | PeopleTable, ...]
    statement: tuple[str, ...]  # paragraphs of the statement proper
    closing: str
    place: str  # "Cijengkol" for "Cijengkol, 27 November 2026"
    letter_date: date
    signer: SignerBlock
    validity_until: date | None = None  # adds "Surat keterangan ini berlaku sampai dengan ..."
    document_name: str = "surat keterangan"  # what the letter calls itself in that line
    number: str | None = None  # None: a draft (KONSEP watermark, no number line value)
    verification_url: str | None = None  # None: no QR code
    paper: str = "F4"  # "F4" (215 x 330 mm) or "A4"
    extra: dict[str, str] = field(default_factory=dict)  # e.g. {"signature_note": "..."}

    @property
    def is_draft(self) -> bool:
        return self.number is None

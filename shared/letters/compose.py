"""From a stored letter, its type and its village to the LetterDocument the renderer lays out."""

from __future__ import annotations

import calendar
from datetime import date, time
from typing import Any

from shared.letters.catalog import PLACEHOLDER, FieldSpec, LetterType
from shared.letters.document import LetterDocument, Letterhead, Section, SignerBlock
from shared.letters.rendering import format_indonesian_date
from shared.models import Village

SEX = {"L": "Laki-laki", "P": "Perempuan"}
CLOSING = ("Demikian surat keterangan ini dibuat dengan sebenarnya untuk dapat dipergunakan "
           "sebagaimana mestinya.")


def add_months(start: date, months: int) -> date:
    """start plus a number of calendar months, the day clamped to the month's length."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return start.replace(year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1]))


def letterhead(village: Village) -> Letterhead:
    """The kop surat of a village."""
    lines = (f"PEMERINTAH KABUPATEN {village.regency.upper()}", f"KECAMATAN {village.district.upper()}",
             f"DESA {village.name.upper()}")
    return Letterhead(lines=lines, address=village.profile.get("office_address", ""),
                      logo_path=village.profile.get("logo_path"))


def default_signer(village: Village) -> dict[str, Any]:
    """The village's first signer, normally the Kepala Desa."""
    signers = village.profile.get("signers") or [{"name": "-", "position": f"Kepala Desa {village.name}"}]
    return dict(signers[0])


def signer_block(signer: dict[str, Any]) -> SignerBlock:
    """A signer as stored (name, position, staff_number, on_behalf) as the renderer wants it."""
    return SignerBlock(name=signer["name"], position=signer["position"],
                       staff_number=signer.get("staff_number"), on_behalf=tuple(signer.get("on_behalf", ())))


def _value_text(spec: FieldSpec | None, value: Any) -> str:
    if spec is not None and spec.type == "enum":
        return spec.options.get(value, str(value))
    if spec is not None and spec.type == "date":
        return format_indonesian_date(date.fromisoformat(value))
    if spec is not None and spec.type == "time":
        return time.fromisoformat(value).strftime("%H.%M") + " WIB"
    if isinstance(value, bool):
        return "Ya" if value else "Tidak"
    return str(value)


def applicant_section(applicant: dict[str, Any]) -> Section:
    """Nama, NIK, Tempat/Tanggal Lahir and the rest of the KTP data, in the usual order."""
    born = f"{applicant['birth_place']}, {format_indonesian_date(date.fromisoformat(applicant['birth_date']))}"
    rows = [("Nama", applicant["name"]), ("NIK", applicant["nik"]), ("Tempat/Tanggal Lahir", born),
            ("Jenis Kelamin", SEX[applicant["sex"]]), ("Agama", applicant["religion"]),
            ("Pekerjaan", applicant["occupation"])]
    if applicant.get("marital_status"):
        rows.append(("Status Perkawinan", applicant["marital_status"]))
    rows += [("Kewarganegaraan", applicant.get("nationality") or "WNI"), ("Alamat", applicant["address"])]
    return Section(rows=tuple(rows))


def _person_rows(person: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    rows = [("Nama", person["name"]), ("NIK", person["nik"])]
    if person.get("birth_date"):
        rows.append(("Tanggal Lahir", format_indonesian_date(date.fromisoformat(person["birth_date"]))))
    if person.get("sex"):
        rows.append(("Jenis Kelamin", SEX[person["sex"]]))
    if person.get("relation"):
        rows.append(("Hubungan", person["relation"]))
    return tuple(rows)


def field_sections(letter_type: LetterType, fields: dict[str, Any]) -> list[Section]:
    """The type's own facts: plain values in one table, each person under a heading of their own."""
    plain, people = [], []
    for spec in letter_type.fields:
        value = fields.get(spec.name)
        if value is None or not spec.printed:
            continue
        if spec.type == "person":
            people.append(Section(rows=_person_rows(value), heading=spec.label))
        elif spec.type == "persons":
            people += [Section(rows=_person_rows(p), heading=f"{spec.label} {i}") for i, p in
                       enumerate(value, 1)]
        else:
            plain.append((spec.label, _value_text(spec, value)))
    return ([Section(rows=tuple(plain))] if plain else []) + people


def statement(letter_type: LetterType, applicant: dict[str, Any], fields: dict[str, Any],
              village: Village) -> tuple[str, ...]:
    """The type's statement paragraphs with placeholders filled (user text stays plain text)."""
    def fill(match: Any) -> str:
        scope, name = match.group(1), match.group(2)
        if scope == "village":
            return str(getattr(village, name, ""))
        if scope == "applicant":
            return _value_text(None, applicant.get(name, ""))
        spec = next((f for f in letter_type.fields if f.name == name), None)
        return _value_text(spec, fields[name]) if name in fields else "-"
    return tuple(PLACEHOLDER.sub(fill, paragraph) for paragraph in letter_type.statement)


def opening(village: Village) -> str:
    """'Yang bertanda tangan di bawah ini, Kepala Desa ..., menerangkan dengan sebenarnya bahwa:'."""
    head = default_signer(village)["position"]
    return (f"Yang bertanda tangan di bawah ini, {head}, Kecamatan {village.district}, "
            f"Kabupaten {village.regency}, menerangkan dengan sebenarnya bahwa:")


def build_document(*, letter_type: LetterType, village: Village, applicant: dict[str, Any],
                   fields: dict[str, Any], signer: dict[str, Any], letter_date: date,
                   number: str | None = None, verification_url: str | None = None) -> LetterDocument:
    """Everything the renderer needs; a letter without a number is a draft."""
    validity = add_months(letter_date, letter_type.validity_months) if letter_type.validity_months else None
    return LetterDocument(
        letterhead=letterhead(village), title=letter_type.title, opening=opening(village),
        sections=(applicant_section(applicant), *field_sections(letter_type, fields)),
        statement=statement(letter_type, applicant, fields, village), closing=CLOSING,
        place=village.profile.get("place") or village.name, letter_date=letter_date,
        signer=signer_block(signer), validity_until=validity, number=number,
        verification_url=verification_url, paper=village.profile.get("paper", "F4"))

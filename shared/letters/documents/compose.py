"""From a stored letter, its type and its village to the LetterDocument the renderer lays out."""

from __future__ import annotations

import calendar
from datetime import date, time
from typing import Any

from shared.letters.documents.document import LetterDocument, Letterhead, PeopleTable, Section, SignerBlock
from shared.letters.documents.wording import format_amount, format_indonesian_date, format_time, format_weekday_date
from shared.letters.intake.catalog import APPLICANT, PLACEHOLDER, FieldSpec, LayoutSection, LetterType
from shared.models import Village
from shared.villages import village_profile

SEX = {"L": "Laki-laki", "P": "Perempuan"}
CLOSING = "Demikian {} ini dibuat dengan sebenarnya untuk dapat dipergunakan sebagaimana mestinya."


def add_months(start: date, months: int) -> date:
    """start plus a number of calendar months, the day clamped to the month's length."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return start.replace(year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1]))


def letterhead(village: Village, emblem: bytes | None) -> Letterhead:
    """The kop surat of a village, with its emblem (see village_emblem) when the profile has one."""
    lines = (f"PEMERINTAH KABUPATEN {village.regency.upper()}", f"KECAMATAN {village.district.upper()}",
             f"DESA {village.name.upper()}")
    profile = village_profile(village)
    address = profile.office_address
    if profile.postal_code:
        address = f"{address}, Kode Pos {profile.postal_code}"
    return Letterhead(lines=lines, address=address, logo=emblem)


def signer_for(village: Village, type_code: str | None = None) -> dict[str, Any]:
    """Who signs a letter of this type: the profile's choice for the type, else its default signer."""
    profile = village_profile(village)
    wanted = profile.signer_by_type.get(type_code or "") or profile.default_signer
    signer = next((s for s in profile.signers if s.key == wanted), profile.signers[0])
    return signer.model_dump(exclude_none=True)  # as the letter row keeps it


def default_signer(village: Village) -> dict[str, Any]:
    """The village's default signer, normally the Kepala Desa."""
    return signer_for(village)


def signer_block(signer: dict[str, Any]) -> SignerBlock:
    """A signer as stored (name, position, staff_number, on_behalf) as the renderer wants it."""
    return SignerBlock(name=signer["name"], position=signer["position"],
                       staff_number=signer.get("staff_number"), on_behalf=tuple(signer.get("on_behalf", ())))


def _value_text(spec: FieldSpec | None, value: Any, zone: str = "WIB") -> str:
    if spec is None:  # an applicant's value in a statement
        return str(value)
    match spec.type:
        case "enum":
            return spec.options.get(value, str(value))
        case "date":
            day = date.fromisoformat(value)
            return format_weekday_date(day) if spec.weekday else format_indonesian_date(day)
        case "time":
            return format_time(time.fromisoformat(value), zone)
        case "amount":
            return format_amount(value)
        case "integer":
            return f"{value} {spec.unit}" if spec.unit else str(value)
        case "boolean":
            return "Ya" if value else "Tidak"
        case "person":
            return str(value["name"])
        case "persons":
            return f"{len(value)} orang"
    return str(value)


def applicant_rows(applicant: dict[str, Any]) -> list[tuple[str, str]]:
    """Nama, NIK, Tempat/Tanggal Lahir and the rest of the KTP data, in the usual order."""
    born = f"{applicant['birth_place']}, {format_indonesian_date(date.fromisoformat(applicant['birth_date']))}"
    rows = [("Nama", applicant["name"]), ("NIK", applicant["nik"]), ("Tempat/Tanggal Lahir", born),
            ("Jenis Kelamin", SEX[applicant["sex"]]), ("Agama", applicant["religion"]),
            ("Pekerjaan", applicant["occupation"])]
    if applicant.get("marital_status"):
        rows.append(("Status Perkawinan", applicant["marital_status"]))
    return rows + [("Kewarganegaraan", applicant.get("nationality") or "WNI"), ("Alamat", applicant["address"])]


def _person_rows(person: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [("Nama", person["name"]), ("NIK", person["nik"])]
    if person.get("birth_date"):
        rows.append(("Tanggal Lahir", format_indonesian_date(date.fromisoformat(person["birth_date"]))))
    if person.get("sex"):
        rows.append(("Jenis Kelamin", SEX[person["sex"]]))
    if person.get("relation"):
        rows.append(("Hubungan", person["relation"]))
    return rows


def people_table(people: list[dict[str, Any]], heading: str | None) -> PeopleTable:
    """Several persons as one table; a column only when someone in the list has that fact."""
    columns = [("Nama", lambda p: p["name"]), ("NIK", lambda p: p["nik"])]
    if any(p.get("birth_date") for p in people):
        columns.append(("Tanggal Lahir", lambda p: format_indonesian_date(date.fromisoformat(p["birth_date"]))
                        if p.get("birth_date") else "-"))
    if any(p.get("sex") for p in people):
        columns.append(("L/P", lambda p: p.get("sex") or "-"))
    if any(p.get("relation") for p in people):
        columns.append(("Hubungan", lambda p: p.get("relation") or "-"))
    rows = tuple(tuple(value(person) for _title, value in columns) for person in people)
    return PeopleTable(columns=tuple(title for title, _value in columns), rows=rows, heading=heading)


def _rows_of(name: str, letter_type: LetterType, applicant: dict[str, Any], fields: dict[str, Any],
             zone: str) -> list[tuple[str, str]]:
    if name == APPLICANT:
        return applicant_rows(applicant)
    spec, value = letter_type.field(name), fields.get(name)
    if value is None:
        return []
    return _person_rows(value) if spec.type == "person" else [(spec.label, _value_text(spec, value, zone))]


def _block(section: LayoutSection, letter_type: LetterType, applicant: dict[str, Any], fields: dict[str, Any],
           zone: str) -> Section | PeopleTable | None:
    first = section.show[0]
    if first != APPLICANT and letter_type.field(first).type == "persons":  # alone in its section
        return people_table(fields[first], section.heading) if fields.get(first) else None
    rows = [row for name in section.show for row in _rows_of(name, letter_type, applicant, fields, zone)]
    return Section(rows=tuple(rows), heading=section.heading) if rows else None


def data_sections(letter_type: LetterType, applicant: dict[str, Any], fields: dict[str, Any],
                  zone: str = "WIB") -> tuple[Section | PeopleTable, ...]:
    """The letter's data tables in the type's layout; a block with nothing to print is left out."""
    blocks = (_block(section, letter_type, applicant, fields, zone) for section in letter_type.sections())
    return tuple(block for block in blocks if block is not None)


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
        return _value_text(spec, fields[name], time_zone(village)) if name in fields else "-"
    return tuple(PLACEHOLDER.sub(fill, paragraph) for paragraph in letter_type.statement)


def opening(village: Village, signer: dict[str, Any], letter_type: LetterType) -> str:
    """'Yang bertanda tangan di bawah ini, Kepala Desa ..., menerangkan dengan sebenarnya bahwa:'."""
    # a delegate signs for the Kepala Desa ("a.n. Kepala Desa X"): the letter speaks in the head's name
    delegation = signer.get("on_behalf") or ()
    principal = delegation[0].removeprefix("a.n.").strip() if delegation else signer["position"]
    return (f"Yang bertanda tangan di bawah ini, {principal}, Kecamatan {village.district}, "
            f"Kabupaten {village.regency}, {letter_type.opening}")


def time_zone(village: Village) -> str:
    """How the village's clocks are named on paper: WIB, WITA or WIT."""
    return village_profile(village).time_zone


def build_document(*, letter_type: LetterType, village: Village, emblem: bytes | None, applicant: dict[str, Any],
                   fields: dict[str, Any], signer: dict[str, Any], letter_date: date,
                   number: str | None = None, verification_url: str | None = None) -> LetterDocument:
    """Everything the renderer needs; a letter without a number is a draft. emblem: the village's (village_emblem)."""
    validity = add_months(letter_date, letter_type.validity_months) if letter_type.validity_months else None
    profile = village_profile(village)
    return LetterDocument(
        letterhead=letterhead(village, emblem), title=letter_type.title, opening=opening(village, signer, letter_type),
        sections=data_sections(letter_type, applicant, fields, profile.time_zone),
        statement=statement(letter_type, applicant, fields, village),
        closing=CLOSING.format(letter_type.document_name),
        place=profile.place or village.name, letter_date=letter_date,
        signer=signer_block(signer), validity_until=validity, document_name=letter_type.document_name,
        number=number, verification_url=verification_url, paper=profile.paper)

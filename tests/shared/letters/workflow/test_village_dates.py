"""A letter follows its village's calendar, not the server's: intake, draft, issue and the yearly sequence.

Every moment is given to the workflow as a UTC instant chosen by hand; the expected dates are written out.
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.accounts import create_client, create_village
from shared.db import session_scope
from shared.errors import ValidationFailed
from shared.letters.intake.catalog import load_catalog
from shared.letters.intake.validation import example_request
from shared.letters.signing.provisioning import ensure_village_keys
from shared.letters.workflow import lifecycle
from shared.letters.workflow.issuing import issue_letter
from shared.models import Client, Letter, Role, Village
from shared.storage import LetterFiles
from tests.conftest import Office, in_person
from tests.pdftools import pdf_text

FUTURE = "tanggal tidak boleh di masa depan"


def request(office: Office, code: str, **fields: Any) -> dict[str, Any]:
    body = copy.deepcopy(example_request(load_catalog(office.settings.templates_dir).types[code]))
    body["fields"].update(fields)
    return body


def submit(office: Office, body: dict[str, Any], now: datetime, client: Client | None = None) -> uuid.UUID:
    with session_scope(office.settings) as session:
        return lifecycle.submit_letter(session=session, settings=office.settings, client=client or office.post,
                                      body=body, now=now).id


def refusals(office: Office, body: dict[str, Any], now: datetime) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        submit(office, body, now)
    return {error.field: error.message for error in caught.value.errors}


def issued(office: Office, now: datetime, client: Client | None = None,
           official: Client | None = None) -> Letter:
    """An SKTM submitted, drafted, approved and issued, every step at the moment now."""
    letter_id = submit(office, request(office, "sktm"), now, client)
    settings = office.settings
    with session_scope(settings) as session:
        ensure_village_keys(session, settings)  # made once per village, as `suratdesa init` does
        assert lifecycle.render_draft(session=session, settings=settings, letter_id=letter_id, now=now)
        lifecycle.approve_letter(session=session, settings=settings, letter_id=letter_id,
                                 actor=official or office.official, checked_in_person=in_person())
        assert issue_letter(session=session, settings=settings, letter_id=letter_id, now=now)
        return session.get(Letter, letter_id)  # type: ignore[return-value]


def set_time_zone(office: Office, village_id: int, zone: str) -> None:
    with session_scope(office.settings) as session:
        village = session.get(Village, village_id)
        assert village is not None
        village.profile = {**village.profile, "time_zone": zone}
        session.add(village)
        session.commit()


def test_a_birth_on_the_villages_today_is_accepted_at_one_in_the_morning_wib(office: Office) -> None:
    one_am_wib = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)  # still 1 December on a UTC server
    letter_id = submit(office, request(office, "kelahiran", birth_date="2026-12-02"), one_am_wib)
    with session_scope(office.settings) as session:
        assert session.get(Letter, letter_id).fields["birth_date"] == "2026-12-02"  # type: ignore[union-attr]
    tomorrow = request(office, "kelahiran", birth_date="2026-12-03")
    tomorrow["applicant"]["birth_date"] = "2026-12-03"
    assert refusals(office, tomorrow, one_am_wib) == {"applicant.birth_date": FUTURE, "fields.birth_date": FUTURE}


def test_the_rules_judge_an_age_by_the_villages_today(office: Office) -> None:
    """Born 2 December 1971: 55, so lansia, from midnight WIB on, though the UTC date is still the 1st."""
    body = request(office, "kartu_sehat_desa", category="lansia")
    body["applicant"].update(nik="3202090212710007", birth_date="1971-12-02", sex="L")
    refused = refusals(office, body, datetime(2026, 12, 1, 16, 59, tzinfo=UTC))  # 23:59 WIB, 1 December
    assert refused == {"fields.category": "kelompok lansia hanya untuk pemohon berusia 55 tahun atau lebih; "
                                          "usia pemohon 54 tahun"}
    submit(office, body, datetime(2026, 12, 1, 17, 0, tzinfo=UTC))  # 00:00 WIB, 2 December


def draft_text(office: Office, now: datetime) -> str:
    letter_id = submit(office, request(office, "sktm"), now)
    with session_scope(office.settings) as session:
        assert lifecycle.render_draft(session=session, settings=office.settings, letter_id=letter_id, now=now)
    return pdf_text(LetterFiles(office.settings).read(letter_id, "draft"))  # type: ignore[arg-type]


def test_the_draft_is_dated_in_the_villages_zone(office: Office) -> None:
    late_evening_utc = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)  # 06:30 WIB, 2 December
    assert "Uji, 2 Desember 2026" in draft_text(office, late_evening_utc)
    afternoon_utc = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)  # 22:30 WIB, but 00:30 WIT on the 2nd
    assert "Uji, 1 Desember 2026" in draft_text(office, afternoon_utc)
    set_time_zone(office, office.village.id, "WIT")
    assert "Uji, 2 Desember 2026" in draft_text(office, afternoon_utc)


def test_a_letter_issued_after_midnight_wib_on_new_years_eve_starts_the_new_years_sequence(office: Office) -> None:
    before = [issued(office, datetime(2026, 12, 31, 16, 30, tzinfo=UTC)) for _ in range(2)]  # 23:30 WIB
    after = issued(office, datetime(2026, 12, 31, 17, 30, tzinfo=UTC))  # 00:30 WIB, 1 January 2027
    assert [letter.number for letter in before] == ["401/001/Ds.Uji/XII/2026", "401/002/Ds.Uji/XII/2026"]
    assert (after.number, after.number_year, after.number_seq) == ("401/001/Ds.Uji/I/2027", 2027, 1)
    text = pdf_text(LetterFiles(office.settings).read(after.id, "issued"))  # type: ignore[arg-type]
    assert "Nomor: 401/001/Ds.Uji/I/2027" in text and "Uji, 1 Januari 2027" in text


def test_a_wit_village_is_in_the_new_year_while_a_wib_village_is_not(office: Office) -> None:
    with session_scope(office.settings) as session:
        east = create_village(session, code="Ds.Tmr", name="Timur", district="Abepura", regency="Jayapura")
        post = create_client(session, name="pos-timur", role=Role.POST, village=east)[0]
        official = create_client(session, name="petugas-timur", role=Role.OFFICIAL, village=east)[0]
    set_time_zone(office, east.id, "WIT")  # type: ignore[arg-type]
    instant = datetime(2026, 12, 31, 15, 30, tzinfo=UTC)  # 22:30 WIB, 00:30 WIT
    assert issued(office, instant).number == "401/001/Ds.Uji/XII/2026"
    assert issued(office, instant, post, official).number == "401/001/Ds.Tmr/I/2027"

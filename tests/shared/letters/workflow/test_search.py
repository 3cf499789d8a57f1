"""The officials' search on SQLite and PostgreSQL (applicant data is JSON): by number, name, whole NIK."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import col, update

from shared.db import session_scope
from shared.errors import Forbidden
from shared.letters.intake.catalog import load_catalog
from shared.letters.intake.validation import example_request
from shared.letters.workflow import lifecycle
from shared.letters.workflow.search import search_letters
from shared.models import Letter
from tests.conftest import Office


def letter(office: Office, *, name: str, nik: str, number: str | None, status: str, **applicant: str) -> uuid.UUID:
    """A letter submitted through the workflow, then given the number and status of one issued (or not)."""
    body = example_request(load_catalog(office.settings.templates_dir).types["sktm"])
    body["applicant"] = {**body["applicant"], "name": name, "nik": nik, **applicant}
    with session_scope(office.settings) as session:
        letter_id = lifecycle.submit_letter(session=session, settings=office.settings, client=office.post,
                                            body=body).id
        session.exec(update(Letter).where(col(Letter.id) == letter_id).values(number=number, status=status))
        session.commit()
    return letter_id


def test_search_finds_issued_letters_by_number_name_and_whole_nik(office: Office) -> None:
    ujang = letter(office, name="Ujang Contoh", nik="3202091203850001", number="401/001/Ds.Uji/XII/2026",
                   status="issued")
    siti = letter(office, name="Siti Nur'aini", nik="3202094506900003", number="401/002/Ds.Uji/XII/2026",
                  status="revoked", birth_date="1990-06-05", sex="P")
    letter(office, name="Ujang Menunggu", nik="3202091203850001", number=None, status="awaiting_approval")
    with session_scope(office.settings, read_only=True) as session:
        def found(text: str) -> list[uuid.UUID]:
            return [x.id for x in search_letters(session, official=office.official, text=text)]

        assert found("401/001") == [ujang]
        assert found("UJANG") == [ujang]  # any case; the letter awaiting approval is not searched
        assert found("nur'aini") == [siti]
        assert found("3202091203850001") == [ujang]
        assert found("320209120385") == []  # part of a NIK finds nothing
        assert found("%") == [] and found("_") == []  # LIKE wildcards are text
        assert found("401/") == [siti, ujang]  # newest first
        with pytest.raises(Forbidden):
            search_letters(session, official=office.post, text="Ujang")

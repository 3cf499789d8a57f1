"""Attempts on SQLite and PostgreSQL: counted, bounded, ended in `failed` with the error, and retried."""

from __future__ import annotations

import uuid

import pytest

from shared.config import Settings
from shared.db import get_existing, session_scope
from shared.errors import Forbidden, WrongStatus
from shared.letters.intake.catalog import load_catalog
from shared.letters.intake.validation import example_request
from shared.letters.workflow import lifecycle
from shared.letters.workflow.attempts import STOPPED_UNREPORTED, begin_attempt, describe_error, run_attempt
from shared.letters.workflow.events import letter_events
from shared.models import Letter, LetterStatus, Village
from tests.conftest import Office


def limited(office: Office, attempts: int = 3) -> Settings:
    return office.settings.model_copy(update={"letter_max_attempts": attempts})


def set_paper(office: Office, paper: str) -> None:
    """A profile naming a paper size the renderer does not know makes every render of the village fail."""
    with session_scope(office.settings) as session:
        village = get_existing(session, Village, office.village.id)
        village.profile = {**village.profile, "paper": paper}
        session.add(village)
        session.commit()


def submitted(office: Office) -> uuid.UUID:
    payload = example_request(load_catalog(office.settings.templates_dir).types["sktm"])
    with session_scope(office.settings) as session:
        return lifecycle.submit_letter(session=session, settings=office.settings, client=office.post,
                                      body=payload).id


def letter(office: Office, letter_id: uuid.UUID) -> Letter:
    with session_scope(office.settings) as session:
        return session.get(Letter, letter_id)  # type: ignore[return-value]


def render(settings: Settings, letter_id: uuid.UUID) -> object:
    return run_attempt(settings=settings, letter_id=letter_id, source=LetterStatus.SUBMITTED,
                       step=lifecycle.render_draft)


def test_a_step_that_keeps_failing_ends_failed_with_its_error_and_retry_sends_it_back(office: Office) -> None:
    settings, letter_id = limited(office), submitted(office)
    set_paper(office, "B5")
    assert render(settings, letter_id) is None
    first = letter(office, letter_id)
    assert (first.status, first.attempts) == ("submitted", 1) and "paper" in (first.last_error or "")
    assert render(settings, letter_id) is None and render(settings, letter_id) is None
    failed = letter(office, letter_id)
    assert (failed.status, failed.attempts, failed.last_error) == ("failed", 3, first.last_error)
    with session_scope(office.settings) as session:
        event = letter_events(session, letter_id)[-1]
    assert (event.type, event.actor) == ("failed", "worker")
    assert event.detail == {"from": "submitted", "error": first.last_error, "attempts": 3}
    assert render(settings, letter_id) is False  # a redelivered message finds nothing to do

    with session_scope(office.settings) as session:
        retried = lifecycle.retry_letter(session=session, letter_id=letter_id, actor=office.official)
        assert letter_events(session, letter_id)[-1].detail == {"to": "submitted"}
    assert (retried.status, retried.attempts, retried.last_error) == ("submitted", 0, None)
    set_paper(office, "A4")
    assert render(settings, letter_id) == "awaiting_approval"
    assert letter(office, letter_id).status == "awaiting_approval"


def test_only_an_official_retries_and_only_a_failed_letter(office: Office) -> None:
    letter_id = submitted(office)
    with session_scope(office.settings) as session:
        with pytest.raises(Forbidden):
            lifecycle.retry_letter(session=session, letter_id=letter_id, actor=office.post)
        with pytest.raises(WrongStatus):
            lifecycle.retry_letter(session=session, letter_id=letter_id, actor=office.official)


def test_attempts_that_never_reported_back_still_count(office: Office) -> None:
    """Workers killed mid-attempt (or at the hard time limit) cannot make a letter loop for ever."""
    settings, letter_id = limited(office), submitted(office)
    with session_scope(settings) as session:
        assert [begin_attempt(session, letter_id, LetterStatus.SUBMITTED) for _ in range(3)] == [1, 2, 3]
    assert render(settings, letter_id) is None
    failed = letter(office, letter_id)
    assert (failed.status, failed.attempts, failed.last_error) == ("failed", 3, STOPPED_UNREPORTED)


def test_a_successful_step_starts_the_next_with_no_attempts(office: Office) -> None:
    settings, letter_id = limited(office), submitted(office)
    with session_scope(settings) as session:
        begin_attempt(session, letter_id, LetterStatus.SUBMITTED)
    assert render(settings, letter_id) == "awaiting_approval"
    assert (letter(office, letter_id).attempts, letter(office, letter_id).last_error) == (0, None)


def test_an_error_kept_on_a_letter_never_shows_a_nik() -> None:
    text = describe_error(ValueError("no signer for 3202091203850001 in Ds.Cjk"))
    assert text == "ValueError: no signer for **************** in Ds.Cjk"

"""The draft step on SQLite and PostgreSQL: nothing held while it renders, and automatic approval in its commit."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from shared.db import get_engine, get_existing, session_scope
from shared.letters.intake.catalog import load_catalog
from shared.letters.intake.validation import example_request
from shared.letters.workflow import lifecycle
from shared.letters.workflow.attempts import run_attempt
from shared.letters.workflow.events import chain_problem, letter_events
from shared.models import Letter, LetterStatus, Village
from shared.storage import LetterFiles
from tests.conftest import Office
from tests.pdftools import pdf_text_flat


def submitted(office: Office, code: str = "sktm") -> uuid.UUID:
    payload = example_request(load_catalog(office.settings.templates_dir).types[code])
    with session_scope(office.settings) as session:
        return lifecycle.submit_letter(session=session, settings=office.settings, client=office.post,
                                      body=payload).id


@contextmanager
def statements(office: Office) -> Iterator[list[str]]:
    """The SQL the block sends, BEGIN, COMMIT and ROLLBACK included (as the driver sees them)."""
    seen: list[str] = []
    engine = get_engine(office.settings)

    def record(*args: object) -> None:
        seen.append(str(args[2]).split()[0].upper())

    def committed(_conn: object) -> None:
        seen.append("COMMIT")

    def rolled_back(_conn: object) -> None:
        seen.append("ROLLBACK")

    hooks = (("before_cursor_execute", record), ("commit", committed), ("rollback", rolled_back))
    for name, hook in hooks:
        event.listen(engine, name, hook)
    try:
        yield seen
    finally:
        for name, hook in hooks:
            event.remove(engine, name, hook)


def test_a_draft_is_rendered_between_two_transactions(office: Office) -> None:
    letter_id = submitted(office)
    files = LetterFiles(office.settings)
    with statements(office) as seen, session_scope(office.settings) as session:
        assert lifecycle.render_draft(session=session, settings=office.settings, letter_id=letter_id) == \
            "awaiting_approval"
    assert files.exists(letter_id, "draft")
    # the read ends (ROLLBACK) before the render; the status change is a transaction of its own
    reads, change = " ".join(seen).split("ROLLBACK", 1)
    assert "UPDATE" not in reads and "SELECT" in reads
    assert change.split()[-1] == "COMMIT" and "UPDATE" in change


def village_approves_itself(office: Office, type_code: str) -> None:
    """The office's village switches the official's approval of type_code off in its profile."""
    with session_scope(office.settings) as session:
        village = get_existing(session, Village, office.village.id)
        village.profile = {**village.profile, "approval": {type_code: False}}
        session.add(village)
        session.commit()


def test_a_type_the_village_approves_itself_is_approved_in_the_drafts_commit(office: Office) -> None:
    village_approves_itself(office, "domisili")
    automatic, manual = submitted(office, "domisili"), submitted(office, "sktm")
    with session_scope(office.settings) as session:
        assert lifecycle.render_draft(session=session, settings=office.settings, letter_id=automatic) == "approved"
        assert lifecycle.render_draft(session=session, settings=office.settings, letter_id=manual) == \
            "awaiting_approval"
    with session_scope(office.settings) as session:
        assert session.get(Letter, automatic).status == "approved"  # type: ignore[union-attr]
        trail = letter_events(session, automatic)
        assert [(e.type, e.actor, e.detail) for e in trail] == [
            ("submitted", "post:pos-1", {}), ("draft_rendered", "worker", {}),
            ("approved", "system", {"automatic": True})]
        assert [e.type for e in letter_events(session, manual)] == ["submitted", "draft_rendered"]
        # nothing left for the task's second look: the draft is approved already
        assert not lifecycle.approve_automatically(session=session, settings=office.settings, letter_id=automatic)


def test_a_draft_step_given_its_letter_by_the_attempts_count_renders_and_approves_it_as_if_it_read_it(
        office: Office) -> None:
    """The worker's draft step reads nothing itself: the count returns the letter and its village (run_attempt's
    with_letter). The draft names both, the village's profile decides the approval, and the chain holds."""
    village_approves_itself(office, "domisili")
    automatic, manual = submitted(office, "domisili"), submitted(office, "sktm")
    for letter_id, status in ((automatic, LetterStatus.APPROVED), (manual, LetterStatus.AWAITING_APPROVAL)):
        assert run_attempt(settings=office.settings, letter_id=letter_id, source=LetterStatus.SUBMITTED,
                           step=lifecycle.render_draft, with_letter=True) == status
    draft = pdf_text_flat(LetterFiles(office.settings).read(manual, "draft") or b"")
    with session_scope(office.settings) as session:
        letter = get_existing(session, Letter, manual)
        assert letter.applicant["name"] in draft and "Caringin" in draft, draft
        assert [chain_problem(letter_events(session, letter_id)) for letter_id in (automatic, manual)] == [None, None]

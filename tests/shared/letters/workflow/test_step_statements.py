"""What the worker's two steps ask of the database per letter: each statement is paid on every letter issued.

Counted on both databases from the attempt's count to the end of its lease, with each transaction's end (a round
trip of its own, as is a transaction's BEGIN on PostgreSQL); the expected shapes are written out, so a statement or
a transaction added to a step (or a lock lost) shows up here."""

from __future__ import annotations

import uuid

from shared.db import session_scope
from shared.letters.intake.catalog import load_catalog
from shared.letters.intake.validation import example_request
from shared.letters.signing.provisioning import ensure_village_keys
from shared.letters.workflow import issuing, lifecycle
from shared.letters.workflow.attempts import run_attempt
from shared.models import LetterStatus
from tests.conftest import Office, in_person
from tests.statements import statements, work


def submitted(office: Office) -> uuid.UUID:
    body = example_request(load_catalog(office.settings.templates_dir).types["sktm"])
    with session_scope(office.settings) as session:
        return lifecycle.submit_letter(session=session, settings=office.settings, client=office.post, body=body).id


def approved(office: Office, letter_id: uuid.UUID) -> None:
    with session_scope(office.settings) as session:
        lifecycle.approve_letter(session=session, settings=office.settings, letter_id=letter_id,
                                 actor=office.official, checked_in_person=in_person("sktm"))


def test_the_draft_step_and_the_issue_step_run_only_the_statements_their_guarantees_need(office: Office) -> None:
    settings, letter_id = office.settings, submitted(office)
    postgres = settings.db_url.startswith("postgresql")
    with session_scope(settings) as session:
        ensure_village_keys(session, settings)  # once per process, not per letter: outside the count
    with statements(settings, transactions=True) as draft:
        assert run_attempt(settings=settings, letter_id=letter_id, source=LetterStatus.SUBMITTED,
                           step=lifecycle.render_draft, with_letter=True) == LetterStatus.AWAITING_APPROVAL
    approved(office, letter_id)
    with statements(settings, transactions=True) as issue:
        assert run_attempt(settings=settings, letter_id=letter_id, source=LetterStatus.APPROVED,
                           step=issuing.issue_letter, with_letter=True) is True

    # the attempt counted, returning the letter and its village for the step, its lease given in the same row: one
    # statement, which on PostgreSQL commits on its own (no BEGIN, no COMMIT)
    count = ["UPDATE letter"] if postgres else ["UPDATE letter", "COMMIT"]
    assert work(draft) == [
        *count,
        # [the draft renders, no transaction open]
        "UPDATE letter", "SELECT letter_event",  # awaiting_approval (the lease ended), its event chained
        # the event, which also says whether the village has a webhook endpoint (it has none: no lookup of them)
        "INSERT letter_event",
        "COMMIT",  # the step's own commit ends the attempt
    ], draft
    assert work(issue) == [
        *count,
        # the claim, of the letter the count read: the counter advanced, and the letter numbered by a compare-and-set
        # that also checks the number free (a second claimer finds the letter numbered)
        "INSERT letter_counter", "UPDATE letter", "COMMIT",
        # [rendered, signed and stored, no transaction open]
        "UPDATE letter", "SELECT letter_event", "INSERT letter_event",  # issued, its event chained
        "COMMIT",
    ], issue

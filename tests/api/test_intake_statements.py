"""What one submission and one approval ask of the database: each round trip is paid on every request."""

from __future__ import annotations

import uuid

from services.api import create_app
from shared.accounts import create_client, create_village
from shared.config import Settings
from shared.db import get_existing, session_scope
from shared.letters.intake.catalog import load_catalog
from shared.letters.intake.validation import example_request
from shared.letters.workflow import lifecycle
from shared.letters.workflow.attempts import run_attempt
from shared.letters.workflow.events import letter_events
from shared.models import Letter, LetterStatus, Role, Village
from tests.conftest import Office, approval
from tests.statements import statements, work

SUBMITTED = 202


def test_a_submission_reads_its_client_and_village_once_and_writes_the_letter_and_its_first_event(
        database: Settings) -> None:
    """The token's client with its village (joined), then the letter with its first event: on PostgreSQL one
    statement, each committed on its own (no BEGIN, no COMMIT); on SQLite two, in a transaction.

    The village is not read again to date the letter, and a new letter's first event does not look up the
    hash of an earlier one: there is none."""
    with session_scope(database) as session:
        village = create_village(session, code="Ds.Uji", name="Uji", district="Caringin", regency="Sukabumi")
        token = create_client(session, name="pos-1", role=Role.POST, village=village)[1]
    app = create_app(database)
    body = example_request(load_catalog(database.templates_dir).types["sktm"])
    client = app.test_client()
    client.get("/healthz")  # the pool's first connection is made outside the count
    with statements(database, transactions=True) as seen:
        response = client.post("/api/v1/letters", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == SUBMITTED, response.get_json()
    if database.db_url.startswith("postgresql"):
        assert work(seen) == ["SELECT client, village", "INSERT letter; INSERT letter_event"], seen
    else:
        assert work(seen) == ["SELECT client, village", "INSERT letter", "INSERT letter_event", "COMMIT"], seen
    with session_scope(database) as session:  # both written, the event the letter's
        letter = session.get(Letter, uuid.UUID(response.get_json()["id"]))
        assert letter is not None and [event.type for event in letter_events(session, letter.id)] == ["submitted"]


def test_a_submission_with_an_idempotency_key_claims_it_in_the_letters_transaction(database: Settings) -> None:
    with session_scope(database) as session:
        village = create_village(session, code="Ds.Uji", name="Uji", district="Caringin", regency="Sukabumi")
        token = create_client(session, name="pos-1", role=Role.POST, village=village)[1]
    body = example_request(load_catalog(database.templates_dir).types["sktm"])
    client = create_app(database).test_client()
    client.get("/healthz")
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "kirim-1"}
    with statements(database, transactions=True) as seen:
        response = client.post("/api/v1/letters", json=body, headers=headers)
    assert response.status_code == SUBMITTED, response.get_json()
    # the key's claim and the letter in one transaction, which commits them together; on PostgreSQL the claim waits
    # at most CLAIM_WAIT_MS for a duplicate in flight (SET LOCAL, for the rest of the transaction)
    letter = ["INSERT letter; INSERT letter_event"] if database.db_url.startswith("postgresql") else [
        "INSERT letter", "INSERT letter_event"]
    claim_wait = ["SET"] if database.db_url.startswith("postgresql") else []
    assert work(seen) == ["SELECT client, village", *claim_wait, "INSERT idempotency_key", *letter,
                          "UPDATE idempotency_key", "COMMIT"], seen


def test_an_approval_reads_the_letter_once_and_answers_without_reading_it_back(office: Office) -> None:
    """Seven statements: the token's client, the letter, its attachments (the documents seen in person), the
    compare-and-set, the chain's last hash and the new event, then the events for the answer; the letter is not
    read again after the commit."""
    settings = office.settings
    body = example_request(load_catalog(settings.templates_dir).types["sktm"])
    with session_scope(settings) as session:
        letter_id = lifecycle.submit_letter(session=session, settings=settings, client=office.post, body=body).id
        token = create_client(session, name="petugas-2", role=Role.OFFICIAL,
                              village=get_existing(session, Village, office.village.id))[1]
    run_attempt(settings=settings, letter_id=letter_id, source=LetterStatus.SUBMITTED, step=lifecycle.render_draft)
    client = create_app(settings).test_client()
    client.get("/healthz")
    with statements(settings) as seen:
        response = client.post(f"/api/v1/letters/{letter_id}/approve", json=approval("sktm"),
                               headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.get_json()["status"] == "approved", response.get_json()
    assert work(seen) == ["SELECT client, village", "SELECT letter", "SELECT attachment", "UPDATE letter",
                          "SELECT letter_event", "INSERT letter_event", "SELECT letter_event"], seen

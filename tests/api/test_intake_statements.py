"""What one submission asks of the database: each round trip is paid on every POST, hundreds a second."""

from __future__ import annotations

from services.api import create_app
from shared.accounts import create_client, create_village
from shared.config import Settings
from shared.db import session_scope
from shared.letters.intake.catalog import load_catalog
from shared.letters.intake.validation import example_request
from shared.models import Role
from tests.statements import statements, work

SUBMITTED = 202


def test_a_submission_reads_its_client_and_village_once_and_writes_the_letter_and_its_first_event(
        database: Settings) -> None:
    """Three statements: the token's client with its village (joined), the letter, its first event.

    The village is not read again to date the letter, and a new letter's first event does not look up the
    hash of an earlier one: there is none."""
    with session_scope(database) as session:
        village = create_village(session, code="Ds.Uji", name="Uji", district="Caringin", regency="Sukabumi")
        token = create_client(session, name="pos-1", role=Role.POST, village=village)[1]
    app = create_app(database)
    body = example_request(load_catalog(database.templates_dir).types["sktm"])
    client = app.test_client()
    client.get("/healthz")  # the pool's first connection is made outside the count
    with statements(database) as seen:
        response = client.post("/api/v1/letters", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == SUBMITTED, response.get_json()
    assert work(seen) == ["SELECT client, village", "INSERT letter", "INSERT letter_event"], seen

"""GET /api/v1/letters/<id>/draft.pdf: the draft, 409 while there is none (not yet, or its render failed)."""

from __future__ import annotations

import uuid

import pytest

from shared.accounts import create_client, create_village
from shared.config import Settings
from shared.db import session_scope
from shared.letters.workflow.attempts import fail_letter
from shared.models import LetterStatus, Role
from tests.api.conftest import Api
from tests.api.test_letters_api import assert_problem
from tests.api.world import OTHER_VILLAGE, World


@pytest.fixture
def settings(database: Settings) -> Settings:
    """The api fixture on a migrated database: the embedded SQLite, and a PostgreSQL database of its own."""
    return database


def draft_of(api: Api, letter_id: str, who: str) -> object:
    return api.call("GET", f"/api/v1/letters/{letter_id}/draft.pdf", who)


def test_a_letter_without_its_draft_is_409_also_when_it_failed_and_404_for_others(api: Api) -> None:
    with session_scope(api.settings) as session:
        other = create_village(session, **OTHER_VILLAGE)
        api.tokens["official_b"] = create_client(session, name="official_b", role=Role.OFFICIAL, village=other)[1]
    letter_id = World(api).submit()
    for who in ("post_a", "official"):
        assert "belum selesai dibuat" in assert_problem(draft_of(api, letter_id, who), 409)["detail"]
    with session_scope(api.settings) as session:
        assert fail_letter(session, letter_id=uuid.UUID(letter_id), source=LetterStatus.SUBMITTED,
                           error="ValueError: unknown paper 'B5'", attempts=5)
    assert api.call("GET", f"/api/v1/letters/{letter_id}", "official").get_json()["status"] == "failed"
    for who in ("post_a", "official"):
        problem = assert_problem(draft_of(api, letter_id, who), 409)
        assert problem["title"] == "Status surat tidak sesuai"
        assert "gagal dibuat" in problem["detail"], problem
    for who in ("post_b", "official_b"):
        assert_problem(draft_of(api, letter_id, who), 404)


def test_a_rendered_draft_is_served(api: Api) -> None:
    world = World(api)
    letter_id = world.submit()
    world.draft(letter_id)
    response = draft_of(api, letter_id, "post_a")
    assert response.status_code == 200 and response.mimetype == "application/pdf"  # type: ignore[attr-defined]
    assert response.data.startswith(b"%PDF-")  # type: ignore[attr-defined]
    assert_problem(draft_of(api, letter_id, "post_b"), 404)

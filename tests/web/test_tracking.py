"""The resident's tracking page: processing, ready or rejected, nothing about them; unknown codes are limited."""

from __future__ import annotations

import pytest

from shared.accounts import create_client
from shared.config import Settings
from shared.db import session_scope
from shared.letters.workflow.tracking import ALPHABET, LENGTH, display_code, new_tracking_code
from shared.models import Letter, Role, Village
from tests.web.conftest import Pages


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(suratdesa_home=tmp_path / "home", verify_miss_limit="3/minute")


def test_codes_are_long_random_and_typed_back_in_any_case_with_or_without_dashes(pages: Pages) -> None:
    codes = {new_tracking_code() for _ in range(200)}
    assert len(codes) == 200 and all(len(c) == LENGTH and set(c) <= set(ALPHABET) for c in codes)
    letter_id = pages.letter()
    with session_scope(pages.settings) as session:
        letter = session.get(Letter, letter_id)
        assert letter is not None and letter.tracking_code is not None
        code = letter.tracking_code
    resident = pages.browser()
    for typed in (code, display_code(code), display_code(code).lower()):
        page = resident.get(f"/s/{typed}")
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and "SEDANG DIPROSES" in html, typed
        assert "Ujang" not in html and "3202091203850001" not in html and "Tidak Mampu" not in html
    assert page.headers["Referrer-Policy"] == "no-referrer" and page.headers["Cache-Control"] == "no-store"


def test_unknown_codes_count_against_the_addresss_limit_and_known_ones_are_still_answered(pages: Pages) -> None:
    letter_id = pages.letter()
    with session_scope(pages.settings) as session:
        code = session.get(Letter, letter_id).tracking_code  # type: ignore[union-attr]
    resident = pages.browser()
    statuses = [resident.get(f"/s/{new_tracking_code()}").status_code for _ in range(4)]
    assert statuses == [404, 404, 404, 429]
    assert resident.get(f"/s/{code}").status_code == 200


def test_the_api_gives_programs_the_code_to_print_on_their_own_receipts(pages: Pages) -> None:
    with session_scope(pages.settings) as session:
        village = session.get(Village, pages.village_id)
        assert village is not None
        token = create_client(session, name="program-pos", role=Role.POST, village=village)[1]
    client = pages.app.test_client()
    answer = client.post("/api/v1/letters", json=pages.example(), headers={"Authorization": f"Bearer {token}"})
    code = answer.get_json()["tracking_code"]
    assert answer.status_code == 202 and len(code) == LENGTH + 2
    assert "SEDANG DIPROSES" in pages.browser().get(f"/s/{code}").get_data(as_text=True)

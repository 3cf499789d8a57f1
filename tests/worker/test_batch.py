"""The batch helpers' waiting fails loudly: a letter id the stack's database does not hold is an error."""

from __future__ import annotations

import time
import uuid

import pytest

from shared.db import session_scope
from shared.models import Letter
from tests.conftest import Office, Stack
from tests.worker.batch import wait_all


def database_stack(office: Office) -> Stack:
    """A Stack over the office's database with no processes: enough for the helpers that read the database."""
    home = office.settings.suratdesa_home
    env = {"SURATDESA_HOME": str(home)}
    if office.settings.database_url:
        env["DATABASE_URL"] = office.settings.database_url
    home.mkdir(parents=True, exist_ok=True)
    for name in ("worker", "sweeper"):
        (home / f"{name}.log").touch()
    return Stack(env=env, base_url="http://127.0.0.1:9", post_token="", official_token="", home=home)


def a_letter(office: Office) -> str:
    with session_scope(office.settings) as session:
        letter = Letter(village_id=office.village.id, client_id=office.post.id, type="sktm", status="submitted",
                        applicant={}, fields={})
        session.add(letter)
        session.commit()
        return str(letter.id)


def test_waiting_for_letters_already_there_returns(office: Office) -> None:
    wait_all(database_stack(office), [a_letter(office)], "submitted", timeout=5)


def test_an_id_the_database_does_not_hold_fails_at_once(office: Office) -> None:
    stranger = str(uuid.uuid4())
    started = time.monotonic()
    with pytest.raises(AssertionError, match=f"1 of 2 letters are not in the stack's database: \\['{stranger}'\\]"):
        wait_all(database_stack(office), [a_letter(office), stranger], "submitted", timeout=30)
    assert time.monotonic() - started < 5


def test_waiting_for_nothing_is_a_mistake(office: Office) -> None:
    with pytest.raises(AssertionError, match="no letters to wait for"):
        wait_all(database_stack(office), [], "issued", timeout=1)


def test_letters_that_never_get_there_fail_after_the_timeout(office: Office) -> None:
    with pytest.raises(AssertionError, match="1 letters not issued after 0.5s"):
        wait_all(database_stack(office), [a_letter(office)], "issued", timeout=0.5)

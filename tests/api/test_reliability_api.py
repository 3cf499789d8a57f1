"""The API's side of reliability: Idempotency-Key, retrying a failed letter, a database that is down."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from services.api import create_app
from shared.config import Settings
from shared.db import session_scope
from shared.letters.workflow.attempts import fail_letter
from shared.letters.workflow.lifecycle import render_draft
from shared.models import LetterStatus
from tests.api.conftest import Api
from tests.conftest import approval, free_port


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/problem+json"
    return response.get_json()


def post(api: Api, body: dict, key: str | None, who: str = "post_a"):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return api.call("POST", "/api/v1/letters", who, json=body, headers=headers)


def test_a_retried_post_with_the_same_key_gets_the_original_answer(api: Api) -> None:
    body = api.example()
    first = post(api, body, "0b6e1c4e-2f7a-4c39-9a0e-6f1d2a3b4c5d")
    again = post(api, body, "0b6e1c4e-2f7a-4c39-9a0e-6f1d2a3b4c5d")
    assert first.status_code == again.status_code == 202
    assert again.get_json() == first.get_json() and again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    listed = api.call("GET", "/api/v1/letters", "post_a").get_json()["items"]
    assert [letter["id"] for letter in listed] == [first.get_json()["id"]]


def test_the_same_key_with_another_body_is_422_naming_the_header(api: Api) -> None:
    body = api.example()
    post(api, body, "kunci-1")
    body["fields"]["purpose"] = "Keperluan yang lain sama sekali"
    problem = assert_problem(post(api, body, "kunci-1"), 422)
    assert problem["errors"][0]["field"] == "Idempotency-Key"
    assert problem["type"].endswith("/idempotency-key-reused") and problem["detail"].startswith("Periksa")


def test_a_malformed_key_is_400_naming_the_header_and_stores_nothing(api: Api) -> None:
    problem = assert_problem(post(api, api.example(), "x" * 256), 400)
    assert [e["field"] for e in problem["errors"]] == ["Idempotency-Key"]
    assert api.call("GET", "/api/v1/letters", "post_a").get_json()["items"] == []


def test_keys_of_two_posts_do_not_meet(api: Api) -> None:
    body = api.example()
    mine, theirs = post(api, body, "sama", "post_a"), post(api, body, "sama", "post_b")
    assert mine.get_json()["id"] != theirs.get_json()["id"] and "Idempotent-Replayed" not in theirs.headers


def test_retry_is_for_officials_and_failed_letters_and_sends_the_letter_back(api: Api) -> None:
    letter_id = post(api, api.example(), None).get_json()["id"]
    assert_problem(api.call("POST", f"/api/v1/letters/{letter_id}/retry", "post_a"), 403)
    assert_problem(api.call("POST", f"/api/v1/letters/{letter_id}/retry", "official"), 409)
    with session_scope(api.settings) as session:
        assert fail_letter(session, letter_id=uuid.UUID(letter_id), source=LetterStatus.SUBMITTED,
                           error="ValueError: unknown paper", attempts=5)
    failed = api.call("GET", f"/api/v1/letters/{letter_id}", "official").get_json()
    assert (failed["status"], failed["last_error"]) == ("failed", "ValueError: unknown paper")
    retried = api.call("POST", f"/api/v1/letters/{letter_id}/retry", "official")
    assert retried.status_code == 200, retried.get_data(as_text=True)
    letter = retried.get_json()
    assert letter["status"] == "submitted" and letter["last_error"] is None
    assert [(e["type"], e["actor"]) for e in letter["events"][-2:]] == [("failed", "worker"),
                                                                        ("retried", "official:official")]
    assert letter["events"][-1]["to"] == "submitted" and letter["events"][-2]["from"] == "submitted"


SERVER_ERROR = "OSError: [Errno 2] No such file or directory: '/srv/suratdesa/var/pdf/ab/logo.png'"


def test_a_post_reads_why_its_letter_failed_in_indonesian_and_only_officials_see_the_error(api: Api) -> None:
    letter_id = post(api, api.example(), None).get_json()["id"]
    with session_scope(api.settings) as session:
        assert fail_letter(session, letter_id=uuid.UUID(letter_id), source=LetterStatus.SUBMITTED,
                           error=SERVER_ERROR, attempts=5)
    seen_by_post = api.call("GET", f"/api/v1/letters/{letter_id}", "post_a").get_data(as_text=True)
    listed_by_post = api.call("GET", "/api/v1/letters", "post_a").get_data(as_text=True)
    for text in (seen_by_post, listed_by_post):
        assert "/srv/suratdesa" not in text and "OSError" not in text and "Errno" not in text
    letter = api.call("GET", f"/api/v1/letters/{letter_id}", "post_a").get_json()
    assert letter["last_error"] is None
    assert letter["failure"] == ("Konsep surat tidak dapat dibuat. Petugas desa sudah diberi tahu "
                                 "dan akan memprosesnya ulang.")
    assert letter["events"][-1] == {"type": "failed", "at": letter["events"][-1]["at"], "actor": "worker",
                                    "from": "submitted", "attempts": 5}
    official = api.call("GET", f"/api/v1/letters/{letter_id}", "official").get_json()
    assert official["last_error"] == SERVER_ERROR and official["events"][-1]["error"] == SERVER_ERROR
    assert official["failure"] == letter["failure"]


def test_a_letter_failed_while_issuing_says_so_to_its_post(api: Api) -> None:
    letter_id = post(api, api.example(), None).get_json()["id"]
    with session_scope(api.settings) as session:
        assert render_draft(session=session, settings=api.settings, letter_id=uuid.UUID(letter_id))
    assert api.call("POST", f"/api/v1/letters/{letter_id}/approve", "official", json=approval()).status_code == 200
    with session_scope(api.settings) as session:
        assert fail_letter(session, letter_id=uuid.UUID(letter_id), source=LetterStatus.APPROVED,
                           error=SERVER_ERROR, attempts=5)
    letter = api.call("GET", f"/api/v1/letters/{letter_id}", "post_a").get_json()
    assert letter["failure"] == ("Surat tidak dapat diterbitkan. Petugas desa sudah diberi tahu "
                                 "dan akan memprosesnya ulang.")
    pending = post(api, api.example(), None).get_json()
    assert pending["failure"] is None and pending["last_error"] is None


def test_a_database_that_is_down_is_a_503_with_retry_after_not_a_500(tmp_path: Path) -> None:
    down = Settings(suratdesa_home=tmp_path, database_url=f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x")
    client = create_app(down).test_client()
    started = time.monotonic()
    response = client.post("/api/v1/letters", json={}, headers={"Authorization": "Bearer some-token"})
    problem = assert_problem(response, 503)
    assert time.monotonic() - started < 5
    assert int(response.headers["Retry-After"]) > 0 and "Basis data" in problem["detail"]

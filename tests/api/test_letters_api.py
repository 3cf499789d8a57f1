"""The intake API: auth, validation as problem+json, storage, visibility, listing, officials' actions."""

from __future__ import annotations

import sqlite3

from sqlmodel import select

from shared.db import session_scope
from shared.models import Letter, LetterEvent
from tests.api.conftest import Api


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def test_health_needs_no_token(api: Api) -> None:
    assert api.call("GET", "/healthz").get_json() == {"status": "ok"}
    ready = api.call("GET", "/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"] == {"database": "ok", "broker": "ok"}


def test_no_token_or_unknown_token_is_401(api: Api) -> None:
    assert_problem(api.call("GET", "/api/v1/letters"), 401)
    response = api.call("GET", "/api/v1/letters", headers={"Authorization": "Bearer nope"})
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_letter_types_list_fields_and_valid_examples(api: Api) -> None:
    types = {t["code"]: t for t in api.call("GET", "/api/v1/letter-types", "post_a").get_json()}
    assert {"sktm", "domisili"} <= set(types)
    assert types["sktm"]["title"] == "Surat Keterangan Tidak Mampu"
    assert any(f["name"] == "purpose" and f["required"] for f in types["sktm"]["fields"])
    for code, letter_type in types.items():
        response = api.call("POST", "/api/v1/letters", "post_a", json=letter_type["example"])
        assert response.status_code == 202, (code, response.get_json())


def test_submit_stores_commits_and_points_to_the_letter(api: Api) -> None:
    response = api.call("POST", "/api/v1/letters", "post_a", json=api.example())
    assert response.status_code == 202
    letter = response.get_json()
    assert letter["status"] == "submitted" and letter["number"] is None and letter["verification_url"] is None
    assert response.headers["Location"] == f"/api/v1/letters/{letter['id']}"
    assert [e["type"] for e in letter["events"]] == ["submitted"]
    assert letter["events"][0]["actor"] == "post:post_a"
    with session_scope(api.settings) as session:
        stored = session.exec(select(Letter)).one()
        assert str(stored.id) == letter["id"] and stored.applicant["nik"] == "3202091203850001"
        assert len(session.exec(select(LetterEvent)).all()) == 1


def test_the_202_answer_is_the_letter_as_read_back(api: Api) -> None:
    """The answer is built without reading the new letter's events back: it must still be what a GET shows."""
    answer = api.call("POST", "/api/v1/letters", "post_a", json=api.example()).get_json()
    assert answer == api.call("GET", f"/api/v1/letters/{answer['id']}", "post_a").get_json()
    with session_scope(api.settings) as session:
        event = session.exec(select(LetterEvent)).one()
    assert answer["events"] == [{"type": "submitted", "actor": "post:post_a",
                                 "at": event.at.isoformat().replace("+00:00", "") + "Z"}]


def test_missing_nik_is_a_422_naming_applicant_nik(api: Api) -> None:
    body = api.example()
    del body["applicant"]["nik"]
    problem = assert_problem(api.call("POST", "/api/v1/letters", "post_a", json=body), 422)
    assert problem["errors"] == [{"field": "applicant.nik", "message": "wajib diisi"}]
    with session_scope(api.settings) as session:
        assert session.exec(select(Letter)).all() == []


def test_malformed_json_wrong_type_and_oversized_bodies(api: Api) -> None:
    assert_problem(api.call("POST", "/api/v1/letters", "post_a", data="{nope", content_type="application/json"), 400)
    assert_problem(api.call("POST", "/api/v1/letters", "post_a", data="type=sktm",
                            content_type="application/x-www-form-urlencoded"), 400)
    huge = "x" * (1024 * 1024 + 10)
    assert_problem(api.call("POST", "/api/v1/letters", "post_a", data=huge, content_type="application/json"), 413)
    assert_problem(api.call("POST", "/api/v1/letters", "post_a", json=[1]), 422)


def test_posts_see_only_their_own_letters(api: Api) -> None:
    mine = api.call("POST", "/api/v1/letters", "post_a", json=api.example()).get_json()["id"]
    assert api.call("GET", f"/api/v1/letters/{mine}", "post_a").status_code == 200
    assert_problem(api.call("GET", f"/api/v1/letters/{mine}", "post_b"), 404)
    assert_problem(api.call("GET", f"/api/v1/letters/{mine}/draft.pdf", "post_b"), 404)
    assert api.call("GET", "/api/v1/letters", "post_b").get_json()["items"] == []
    assert api.call("GET", f"/api/v1/letters/{mine}", "official").status_code == 200
    assert_problem(api.call("GET", "/api/v1/letters/not-a-uuid", "post_a"), 404)


def test_officials_act_posts_get_403_and_wrong_status_is_409(api: Api) -> None:
    letter_id = api.call("POST", "/api/v1/letters", "post_a", json=api.example()).get_json()["id"]
    assert_problem(api.call("POST", f"/api/v1/letters/{letter_id}/approve", "post_a"), 403)
    assert_problem(api.call("POST", f"/api/v1/letters/{letter_id}/reject", "post_a", json={"reason": "x" * 5}), 403)
    assert_problem(api.call("POST", f"/api/v1/letters/{letter_id}/approve", "official"), 409)  # still submitted
    assert_problem(api.call("POST", f"/api/v1/letters/{letter_id}/revoke", "official", json={"reason": "salah"}), 409)
    assert_problem(api.call("GET", f"/api/v1/letters/{letter_id}/draft.pdf", "official"), 409)
    assert_problem(api.call("GET", f"/api/v1/letters/{letter_id}/pdf", "official"), 409)


def test_list_is_newest_first_with_cursor_pagination_and_filters(api: Api) -> None:
    ids = [api.call("POST", "/api/v1/letters", "post_a", json=api.example(code)).get_json()["id"]
           for code in ("sktm", "domisili", "sktm", "domisili", "sktm")]
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.call("GET", "/api/v1/letters", "official", query_string=query).get_json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]
    sktm = api.call("GET", "/api/v1/letters", "post_a", query_string={"type": "sktm"}).get_json()["items"]
    assert [item["id"] for item in sktm] == [ids[4], ids[2], ids[0]]
    problem = assert_problem(api.call("GET", "/api/v1/letters", "post_a", query_string={"status": "bogus"}), 422)
    assert problem["errors"][0]["field"] == "status"
    assert_problem(api.call("GET", "/api/v1/letters", "post_a", query_string={"cursor": "!!"}), 422)


def test_reject_needs_a_reason(api: Api) -> None:
    letter_id = api.call("POST", "/api/v1/letters", "post_a", json=api.example()).get_json()["id"]
    problem = assert_problem(api.call("POST", f"/api/v1/letters/{letter_id}/reject", "official", json={}), 422)
    assert problem["errors"] == [{"field": "reason", "message": "wajib diisi"}]


def test_readyz_is_503_naming_a_broker_or_database_that_is_down(settings, tmp_path) -> None:
    from services.api import create_app
    from shared.config import Settings
    from tests.conftest import free_port

    dead = free_port()
    broker_down = Settings(suratdesa_home=settings.suratdesa_home, broker_url=f"redis://127.0.0.1:{dead}/0")
    response = create_app(broker_down).test_client().get("/readyz")
    body = assert_problem(response, 503)
    assert "broker" in body["detail"] and "database" not in body["detail"]
    assert response.headers["Retry-After"]
    db_down = Settings(suratdesa_home=tmp_path / "other",
                       database_url=f"postgresql+psycopg://postgres@127.0.0.1:{dead}/nope")
    body = assert_problem(create_app(db_down).test_client().get("/readyz"), 503)
    assert "database" in body["detail"] and "broker" not in body["detail"]


def test_reads_are_answered_while_a_worker_holds_the_sqlite_write_lock(api: Api) -> None:
    """GET requests begin deferred (WAL readers); only requests that write queue for the lock."""
    letter_id = api.call("POST", "/api/v1/letters", "post_a", json=api.example()).get_json()["id"]
    worker = sqlite3.connect(api.settings.home / "suratdesa.db", timeout=0)
    worker.execute("BEGIN IMMEDIATE")  # as a worker's step does, for as long as it takes
    try:
        assert api.call("GET", f"/api/v1/letters/{letter_id}", "post_a").status_code == 200
        assert api.call("GET", "/api/v1/letters", "official").status_code == 200
    finally:
        worker.rollback()
        worker.close()

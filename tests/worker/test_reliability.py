"""Nothing lost, nothing issued twice: real API, worker and sweeper processes on PostgreSQL and Redis.

The stack here runs the quick sweeper of tests.worker.batch. Every test is bounded in time.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlmodel import select

from shared.accounts import create_client, create_village
from shared.db import get_engine, session_scope
from shared.models import IdempotencyKey, Role, Village
from shared.villages import set_village_emblem
from tests.conftest import Stack, approval, free_port, run_cli, running_stack
from tests.worker.batch import (
    FAST_SWEEPER,
    approve_all,
    assert_village_numbers_gap_free,
    attempts_seen,
    example,
    issued_events,
    sequences,
    statuses,
    submit_many,
    wait_all,
    watch_attempts,
)

# The same logic on both backends; these two spend their time on the services stack only.
SERVICES_ONLY = pytest.mark.parametrize("fast", ["services"], indirect=True)


@pytest.fixture(scope="module", params=["services", "embedded"])
def fast(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack with a quick sweeper: on PostgreSQL and Redis databases of its own, and on the embedded SQLite."""
    services = request.param == "services"
    if services:
        request.getfixturevalue("postgres_available")
        request.getfixturevalue("redis_available")
    with running_stack(tmp_path_factory.mktemp(f"fast-{request.param}"), services=services,
                       extra_env=FAST_SWEEPER) as stack:
        yield stack
        get_engine(stack.settings()).dispose()


def test_parallel_identical_posts_with_one_key_make_one_letter(fast: Stack) -> None:
    body, key = example(fast), f"pos-a-{uuid.uuid4()}"

    def post(_: int) -> requests.Response:
        return fast.submit(body, headers={"Idempotency-Key": key})

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(post, range(20)))
    accepted = [a for a in answers if a.status_code == 202]
    assert accepted and {a.status_code for a in answers} <= {202, 409}, [a.text for a in answers]
    assert len({a.json()["id"] for a in accepted}) == 1 and len({a.text for a in accepted}) == 1
    assert all(a.headers["Content-Type"] == "application/problem+json" and a.headers["Retry-After"]
               for a in answers if a.status_code == 409)
    letter_id = accepted[0].json()["id"]
    with session_scope(fast.settings()) as session:
        keys = session.exec(select(IdempotencyKey).where(IdempotencyKey.key == key)).all()
    assert [(k.letter_id, k.state) for k in keys] == [(uuid.UUID(letter_id), "done")]
    assert sum(1 for a in accepted if a.headers.get("Idempotent-Replayed") != "true") == 1
    fast.wait_for(letter_id, "awaiting_approval")  # rendered once, like any letter


def test_two_posts_with_one_key_each_get_their_own_letter_and_their_own_replay(fast: Stack) -> None:
    """Keys belong to one client: the same key and body from two posts are two letters, each replayed to its post."""
    other_post = run_cli(fast.env, "clients", "create", "--name", f"pos-b-{uuid.uuid4().hex[:8]}",
                         "--role", "post").strip().splitlines()[-1]
    body, key = example(fast), f"kunci-bersama-{uuid.uuid4()}"
    tokens = {"a": fast.post_token, "b": other_post}
    first = {post: fast.submit(body, token, headers={"Idempotency-Key": key}) for post, token in tokens.items()}
    retry = {post: fast.submit(body, token, headers={"Idempotency-Key": key}) for post, token in tokens.items()}
    assert [a.status_code for a in (*first.values(), *retry.values())] == [202] * 4
    assert first["a"].json()["id"] != first["b"].json()["id"]
    assert not any("Idempotent-Replayed" in a.headers for a in first.values())
    for post in tokens:
        assert retry[post].headers["Idempotent-Replayed"] == "true"
        assert retry[post].json() == first[post].json(), (post, retry[post].text, first[post].text)
        assert retry[post].headers["Location"] == first[post].headers["Location"]
        assert retry[post].headers["Location"].endswith(f"/api/v1/letters/{first[post].json()['id']}")
    for post, other in (("a", "b"), ("b", "a")):
        theirs = first[other].json()["id"]
        assert fast.request("GET", f"/api/v1/letters/{theirs}", tokens[post]).status_code == 404
    with session_scope(fast.settings()) as session:
        keys = session.exec(select(IdempotencyKey).where(IdempotencyKey.key == key)).all()
    assert sorted(str(k.letter_id) for k in keys) == sorted(a.json()["id"] for a in first.values())
    assert len({k.client_id for k in keys}) == 2


def test_forty_parallel_approvals_get_forty_consecutive_numbers(fast: Stack) -> None:
    """Each letter is drafted and issued in one attempt, no error on the way: the race costs no retries."""
    watch_attempts(fast)
    ids = submit_many(fast, 40)
    wait_all(fast, ids, "awaiting_approval", timeout=60)
    approve_all(fast, ids, parallel=40)
    wait_all(fast, ids, "issued", timeout=90)
    seqs = sequences(fast, ids)
    assert seqs == list(range(seqs[0], seqs[0] + 40))
    assert set(issued_events(fast, ids).values()) == {1} and len(issued_events(fast, ids)) == 40
    assert_village_numbers_gap_free(fast)
    one_attempt_each = {("submitted", 1, None), ("approved", 1, None)}
    seen = attempts_seen(fast, ids)
    assert {i: found for i, found in seen.items() if found != one_attempt_each} == {}
    assert sorted(seen) == sorted(ids)


def test_sigkilled_workers_mid_batch_then_a_new_worker_issues_every_letter_exactly_once(fast: Stack) -> None:
    started = time.monotonic()
    ids = submit_many(fast, 30)
    wait_all(fast, ids, "awaiting_approval", timeout=60)
    approve_all(fast, ids, parallel=10)
    while list(statuses(fast, ids).values()).count("issued") < 3:
        assert time.monotonic() - started < 60, fast.log("worker")[-2000:]
        time.sleep(0.05)
    fast.stop("worker", signal.SIGKILL)  # the main process and its pool children, mid-batch
    killed_at = list(statuses(fast, ids).values()).count("issued")
    assert killed_at < 30, "the batch finished before the kill; the test proved nothing"
    fast.start_worker("worker")
    wait_all(fast, ids, "issued", timeout=120 - (time.monotonic() - started))
    assert time.monotonic() - started < 120
    assert issued_events(fast, ids) == {letter_id: 1 for letter_id in ids}
    seqs = sequences(fast, ids)
    assert len(set(seqs)) == 30
    assert_village_numbers_gap_free(fast)
    pdf = fast.request("GET", f"/api/v1/letters/{ids[-1]}/pdf", fast.official_token)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


@SERVICES_ONLY
def test_letters_accepted_while_the_api_cannot_reach_the_broker_are_sent_by_the_sweeper(fast: Stack) -> None:
    """A fault between commit and enqueue: this API's broker is a dead port; worker and sweeper use the real one."""
    port = free_port()
    fast.start("api-no-broker", "api", "--port", str(port), "--workers", "1",
               env={"BROKER_URL": f"redis://127.0.0.1:{free_port()}/0"})
    base, auth = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {fast.post_token}"}
    try:
        deadline = time.monotonic() + 30
        while not _answers(base) and time.monotonic() < deadline:
            time.sleep(0.2)
        body, ids = example(fast), []
        for _ in range(5):
            started = time.monotonic()
            response = requests.post(base + "/api/v1/letters", json=body, headers=auth, timeout=10)
            assert response.status_code == 202 and time.monotonic() - started < 2, response.text
            ids.append(response.json()["id"])
        wait_all(fast, ids, "awaiting_approval", timeout=30)
        official = {"Authorization": f"Bearer {fast.official_token}"}
        for letter_id in ids:
            assert requests.post(f"{base}/api/v1/letters/{letter_id}/approve", headers=official, json=approval(),
                                 timeout=10).status_code == 200
        wait_all(fast, ids, "issued", timeout=30)
        assert fast.log("api-no-broker").count("enqueue suratdesa.") == 10  # every enqueue really failed
        assert issued_events(fast, ids) == {letter_id: 1 for letter_id in ids}
    finally:
        fast.stop("api-no-broker")


def _answers(base: str) -> bool:
    try:
        return requests.get(base + "/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


@SERVICES_ONLY
def test_a_letter_whose_rendering_always_fails_ends_failed_while_others_go_through(fast: Stack) -> None:
    """One village's stored emblem is no image the renderer can read: each of its drafts fails."""
    settings = fast.settings()
    with session_scope(settings) as session:
        village = create_village(session, code="Ds.Rsk", name="Rusak", district="Caringin", regency="Sukabumi")
        set_village_emblem(session, village, b"\x89PNG\r\n\x1a\nrusak")
        session.commit()
        _, post_token = create_client(session, name="pos-rusak", role=Role.POST, village=village)
        _, official_token = create_client(session, name="petugas-rusak", role=Role.OFFICIAL, village=village)
    started = time.monotonic()
    broken = submit_many(fast, 1, post_token)[0]
    fine = submit_many(fast, 3)
    wait_all(fast, fine, "awaiting_approval", timeout=30)
    wait_all(fast, [broken], "failed", timeout=60)
    letter = fast.request("GET", f"/api/v1/letters/{broken}", official_token).json()
    assert "cannot identify image" in letter["last_error"] and time.monotonic() - started < 60
    assert [e["type"] for e in letter["events"]] == ["submitted", "failed"]
    assert letter["events"][-1]["from"] == "submitted" and letter["events"][-1]["attempts"] == 3
    assert fast.log("worker").count(f"render_draft {broken}: attempt failed") == 3  # bounded: no fourth try

    assert fast.request("POST", f"/api/v1/letters/{broken}/retry", post_token).status_code == 403
    assert fast.request("POST", f"/api/v1/letters/{fine[0]}/retry", fast.official_token).status_code == 409
    with session_scope(settings) as session:  # the office fixes its profile, then retries
        village = session.exec(select(Village).where(Village.code == "Ds.Rsk")).one()
        set_village_emblem(session, village, None)
        session.commit()
    retried = fast.request("POST", f"/api/v1/letters/{broken}/retry", official_token)
    assert retried.status_code == 200 and retried.json()["status"] == "submitted", retried.text
    wait_all(fast, [broken], "awaiting_approval", timeout=30)
    events = fast.request("GET", f"/api/v1/letters/{broken}", official_token).json()["events"]
    assert [e["type"] for e in events] == ["submitted", "failed", "retried", "draft_rendered"]
    assert events[2]["to"] == "submitted" and events[2]["actor"] == "official:petugas-rusak"

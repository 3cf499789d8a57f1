"""Webhooks through real processes: the API, a Celery worker and the sweeper, on both stacks, delivering to a
real HTTP server of the test's; every delivery verified with standardwebhooks. (The check of the address at
delivery time is tests/shared/webhooks/test_outbox_and_delivery.py's: it needs no worker restarted.)"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest

from shared.queue import TaskQueue
from tests.conftest import Stack, run_cli, running_stack
from tests.webhook_receiver import running_receiver
from tests.worker.test_letter_flow import example, submit_and_draft

# Receivers on 127.0.0.1; retries 0.2-1 s apart; sends lost for 3 s sent again; the sweeper looks every 0.5 s;
# an attempt's claim (2 x timeout + 5 s) runs out 9 s after a worker died in it.
WEBHOOK_ENV = {"WEBHOOK_ALLOW_PRIVATE": "true", "WEBHOOK_RETRY_BASE": "0.2", "WEBHOOK_RETRY_MAX_DELAY": "1",
               "SWEEP_STUCK_AFTER": "3", "LEASE_CHECK_INTERVAL": "0.5", "WEBHOOK_TIMEOUT": "2"}


@pytest.fixture(scope="module", params=["embedded", "services"])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if request.param == "services":
        request.getfixturevalue("postgres_available")
        request.getfixturevalue("redis_available")
    with running_stack(tmp_path_factory.mktemp(f"hooks-{request.param}"), services=request.param == "services",
                       extra_env=WEBHOOK_ENV) as running:
        yield running


_registered: list[tuple[str, str]] = []  # (token, endpoint id) of the running test's endpoints


@pytest.fixture(autouse=True)
def _delete_endpoints(stack: Stack) -> Iterator[None]:
    """Each test's endpoints are deleted after it: their receivers are gone, and retries would keep the worker busy."""
    yield
    while _registered:
        token, endpoint_id = _registered.pop()
        stack.request("DELETE", f"/api/v1/webhooks/{endpoint_id}", token)


def register(stack: Stack, token: str, url: str, events: list[str]) -> dict[str, Any]:
    response = stack.request("POST", "/api/v1/webhooks", token, json={"url": url, "events": events})
    assert response.status_code == 201, response.text
    _registered.append((token, response.json()["id"]))
    return response.json()


def deliveries(stack: Stack, token: str, endpoint: dict[str, Any]) -> list[dict[str, Any]]:
    response = stack.request("GET", f"/api/v1/webhooks/{endpoint['id']}/deliveries?limit=100", token)
    assert response.status_code == 200, response.text
    return list(reversed(response.json()["items"]))  # oldest first


def wait_delivered(stack: Stack, token: str, endpoint: dict[str, Any], count: int,
                   timeout: float = 45) -> list[dict[str, Any]]:
    """Until the endpoint has count deliveries, all delivered; fail with them and the worker log otherwise."""
    deadline = time.monotonic() + timeout
    items: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        items = deliveries(stack, token, endpoint)
        if len(items) >= count and all(item["status"] == "delivered" for item in items):
            return items
        time.sleep(0.2)
    raise AssertionError(f"deliveries not delivered after {timeout}s: {items}\n{stack.log('worker')[-3000:]}")


def decide(stack: Stack, letter_id: str, action: str) -> None:
    if action == "approve":
        response = stack.approve(letter_id)
    else:
        response = stack.request("POST", f"/api/v1/letters/{letter_id}/{action}", stack.official_token,
                                 json={"reason": "Data pemohon belum lengkap"})
    assert response.status_code == 200, response.text


def test_each_change_reaches_the_village_and_the_own_post_signed_and_once(stack: Stack) -> None:
    other_post = run_cli(stack.env, "clients", "create", "--name", "pos-lain", "--role", "post").split()[-1]
    with running_receiver() as office, running_receiver() as post, running_receiver() as stranger:
        village_hook = register(stack, stack.official_token, office.url,
                                ["letter.awaiting_approval", "letter.issued", "letter.revoked", "letter.rejected"])
        post_hook = register(stack, stack.post_token, post.url, ["letter.issued", "letter.rejected"])
        stranger_hook = register(stack, other_post, stranger.url, ["letter.issued", "letter.rejected"])
        body = example(stack)
        issued = submit_and_draft(stack, body)
        decide(stack, issued, "approve")
        letter = stack.wait_for(issued, "issued")
        decide(stack, issued, "revoke")
        rejected = submit_and_draft(stack, example(stack))
        decide(stack, rejected, "reject")
        office_log = wait_delivered(stack, stack.official_token, village_hook, 5)
        post_log = wait_delivered(stack, stack.post_token, post_hook, 2)
        # each event once; two letters' deliveries may be listed in either order
        assert sorted(item["event"] for item in office_log) == sorted([
            "letter.awaiting_approval", "letter.issued", "letter.revoked", "letter.awaiting_approval",
            "letter.rejected"])
        assert sorted(item["event"] for item in post_log) == ["letter.issued", "letter.rejected"]
        assert all(len(item["attempts"]) == 1 and item["attempts"][0]["status_code"] == 200
                   for item in office_log + post_log)  # each once: one attempt, one request
        assert len(office.requests) == 5 and len(post.requests) == 2
        bodies = office.verified(village_hook["secret"])
        assert post.verified(post_hook["secret"])[0]["data"]["number"] == letter["number"]
        assert deliveries(stack, other_post, stranger_hook) == [] and stranger.requests == []
    # the bodies as they arrived: two workers and the API send them, so in any order, each once
    assert sorted(b["type"] for b in bodies) == sorted(item["event"] for item in office_log)
    assert sorted((b["data"]["id"], b["data"]["status"]) for b in bodies) == sorted([
        (issued, "awaiting_approval"), (issued, "issued"), (issued, "revoked"), (rejected, "awaiting_approval"),
        (rejected, "rejected")])
    (issued_body,) = [b for b in bodies if b["type"] == "letter.issued"]
    assert issued_body["data"] == {"id": issued, "type": "sktm", "status": "issued", "number": letter["number"],
                                   "link": f"{stack.base_url}/api/v1/letters/{issued}"}
    token = letter["verification_url"].rsplit("/", 1)[1]
    raw = b"".join(r.body for r in office.requests + post.requests).decode()
    for secret in (body["applicant"]["nik"], body["applicant"]["name"], token):
        assert secret not in raw


def test_a_receiver_failing_twice_gets_the_event_exactly_once_more(stack: Stack) -> None:
    with running_receiver(answers=[500, 502]) as receiver:
        hook = register(stack, stack.official_token, receiver.url, ["letter.rejected"])
        letter_id = submit_and_draft(stack, example(stack))
        decide(stack, letter_id, "reject")
        (item,) = wait_delivered(stack, stack.official_token, hook, 1)
        assert [a["status_code"] for a in item["attempts"]] == [500, 502, 200]
        assert [a["error"] for a in item["attempts"]] == ["HTTP 500", "HTTP 502", None]
        assert len(receiver.requests) == 3 and len({r.headers["webhook-id"] for r in receiver.requests}) == 1
        assert [b["data"]["id"] for b in receiver.verified(hook["secret"])] == [letter_id] * 3


def test_a_change_made_while_the_worker_is_dead_and_its_message_lost_is_delivered(stack: Stack) -> None:
    """The worker SIGKILLed, the letter rejected, the task message thrown away: the outbox row remains, and the
    sweeper sends it again once the send counts as lost; the restarted worker delivers it, once."""
    with running_receiver() as receiver:
        hook = register(stack, stack.official_token, receiver.url, ["letter.rejected"])
        letter_id = submit_and_draft(stack, example(stack))
        stack.stop("worker", signal.SIGKILL)
        try:
            decide(stack, letter_id, "reject")
            TaskQueue(stack.settings()).app.control.purge()  # a broker that lost its messages
            (pending,) = deliveries(stack, stack.official_token, hook)
            assert pending["status"] == "pending" and pending["attempts"] == []
        finally:
            stack.start_worker()
        (item,) = wait_delivered(stack, stack.official_token, hook, 1)
        assert len(item["attempts"]) == 1 and len(receiver.requests) == 1
        assert receiver.verified(hook["secret"])[0]["data"]["id"] == letter_id


def test_a_worker_killed_mid_delivery_is_followed_by_another_attempt(stack: Stack) -> None:
    """The receiver holds the first request; the worker in it is SIGKILLed; its claim runs out and the delivery is
    sent again, with the same webhook-id, by the next worker."""
    with running_receiver(hold_first=True) as receiver:
        hook = register(stack, stack.official_token, receiver.url, ["letter.rejected"])
        letter_id = submit_and_draft(stack, example(stack))
        decide(stack, letter_id, "reject")
        receiver.wait_for(1)
        stack.stop("worker", signal.SIGKILL)
        receiver.release.set()
        stack.start_worker()
        (item,) = wait_delivered(stack, stack.official_token, hook, 1)
        assert [a["status_code"] for a in item["attempts"]] == [200]  # the killed attempt never reported back
        assert len(receiver.requests) == 2
        assert receiver.requests[0].headers["webhook-id"] == receiver.requests[1].headers["webhook-id"]
        assert receiver.verified(hook["secret"])[1]["data"]["id"] == letter_id


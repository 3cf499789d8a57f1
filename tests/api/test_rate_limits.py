"""Guessing is slowed down per client address: failed tokens on the API, unknown codes on the QR page."""

from __future__ import annotations

import time
from io import BytesIO
from pathlib import Path
from typing import Any, cast

import pytest
import redis
from flask.testing import FlaskClient
from limits import parse
from limits.errors import ConfigurationError
from werkzeug.test import TestResponse

from services.api import create_app, security
from services.api.security import SHARED_RETRY_S, FailureCounter
from shared.config import Settings
from tests.api.conftest import Api
from tests.api.test_letters_api import assert_problem
from tests.api.world import World, build_world
from tests.conftest import RedisServer, Stack, running_stack

ATTACKER, HOSPITAL, OTHER = "203.0.113.7", "198.51.100.20", "192.0.2.44"
UNKNOWN_TOKEN = "A" * 43  # the shape of a real token, so the page really looks it up


def from_address(api: Api, address: str, method: str, path: str, who: str | None = None,
                 **kwargs: Any) -> TestResponse:
    return api.call(method, path, who, environ_base={"REMOTE_ADDR": address}, **kwargs)


def bad_token(api: Api, address: str) -> TestResponse:
    return from_address(api, address, "GET", "/api/v1/letters", headers={"Authorization": "Bearer tebakan"})


def assert_slowed_down(response: TestResponse) -> None:
    problem = assert_problem(response, 429)
    assert 1 <= int(response.headers["Retry-After"]) <= 61
    assert "Coba lagi dalam" in problem["detail"] and response.headers["X-Content-Type-Options"] == "nosniff"


def test_ten_failed_authentications_a_minute_then_429_with_retry_after(api: Api) -> None:
    for _ in range(30):  # successful requests do not count
        assert from_address(api, ATTACKER, "GET", "/api/v1/letter-types", "post_a").status_code == 200
    for attempt in range(10):
        assert bad_token(api, ATTACKER).status_code == 401, attempt
    assert_slowed_down(bad_token(api, ATTACKER))
    assert_slowed_down(from_address(api, ATTACKER, "POST", "/api/v1/letters", json={}))  # no token at all
    # Only the failures of that address are slowed down: others' mistakes are still answered 401.
    assert from_address(api, OTHER, "GET", "/api/v1/letter-types", "post_a").status_code == 200
    assert bad_token(api, OTHER).status_code == 401


def test_over_the_limit_valid_tokens_and_health_checks_from_the_same_address_still_answer(api: Api) -> None:
    # Carrier-grade NAT: one phone with a stale token must not shut out the office behind the same address.
    for attempt in range(10):
        assert bad_token(api, ATTACKER).status_code == 401, attempt
    assert_slowed_down(bad_token(api, ATTACKER))
    assert from_address(api, ATTACKER, "GET", "/api/v1/letter-types", "post_a").status_code == 200
    assert from_address(api, ATTACKER, "GET", "/api/v1/letters", "official").status_code == 200
    submitted = from_address(api, ATTACKER, "POST", "/api/v1/letters", "post_b", json=api.example())
    assert submitted.status_code == 202, submitted.get_json()
    assert from_address(api, ATTACKER, "GET", "/healthz").status_code == 200
    assert from_address(api, ATTACKER, "GET", "/readyz").status_code == 200
    assert_slowed_down(bad_token(api, ATTACKER))  # still: valid requests did not reset the count


def test_the_limit_is_a_setting(api: Api) -> None:
    strict = create_app(api.settings.model_copy(update={"auth_failure_limit": "2/minute"})).test_client()
    statuses = [strict.get("/api/v1/letters", headers={"Authorization": "Bearer x"}).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    with pytest.raises(ValueError, match="auth_failure_limit"):
        Settings(suratdesa_home=api.settings.suratdesa_home, auth_failure_limit="10 per fortnight")


@pytest.fixture
def world(api: Api) -> World:
    return build_world(api)


def lookup(world: World, address: str, token: str) -> TestResponse:
    return from_address(world.api, address, "GET", f"/v/{token}", headers={"Accept": "application/json"})


def test_unknown_verification_codes_are_limited_to_60_a_minute_genuine_ones_never_count(world: World) -> None:
    for _ in range(100):  # a hospital checking many genuine letters
        assert lookup(world, HOSPITAL, world.verification_token).status_code == 200
    for guess in range(60):
        assert lookup(world, ATTACKER, UNKNOWN_TOKEN[:-2] + f"{guess:02d}").status_code == 404, guess
    assert_slowed_down(lookup(world, ATTACKER, UNKNOWN_TOKEN))
    assert_slowed_down(from_address(world.api, ATTACKER, "POST", f"/v/{UNKNOWN_TOKEN}/check"))
    assert lookup(world, HOSPITAL, world.verification_token).status_code == 200
    assert lookup(world, OTHER, UNKNOWN_TOKEN).status_code == 404
    page = from_address(world.api, ATTACKER, "GET", f"/v/{UNKNOWN_TOKEN}")  # a person's browser, too
    assert page.status_code == 429 and page.headers["Retry-After"]


def test_over_the_miss_limit_a_genuine_code_from_the_same_address_still_answers(world: World) -> None:
    # A hospital behind the same address as a guesser (or a badly scanned QR code) keeps checking letters.
    for guess in range(60):
        assert lookup(world, HOSPITAL, UNKNOWN_TOKEN[:-2] + f"{guess:02d}").status_code == 404, guess
    assert_slowed_down(lookup(world, HOSPITAL, UNKNOWN_TOKEN))
    genuine = lookup(world, HOSPITAL, world.verification_token)
    assert genuine.status_code == 200 and genuine.get_json()["verdict"] == "SAH"
    page = from_address(world.api, HOSPITAL, "GET", f"/v/{world.verification_token}")
    assert page.status_code == 200 and "<strong>SAH</strong>" in page.get_data(as_text=True)
    assert from_address(world.api, HOSPITAL, "GET", "/healthz").status_code == 200
    assert_slowed_down(lookup(world, HOSPITAL, UNKNOWN_TOKEN))


def test_behind_a_trusted_proxy_each_forwarded_client_is_counted_alone(api: Api) -> None:
    proxied = create_app(api.settings.model_copy(update={"trusted_proxy_count": 1, "auth_failure_limit": "2/minute"}))
    client = proxied.test_client()

    def guess(forwarded_for: str) -> int:
        return client.get("/api/v1/letters", headers={"Authorization": "Bearer x", "X-Forwarded-For": forwarded_for},
                          environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code  # always the proxy

    assert [guess(ATTACKER) for _ in range(3)] == [401, 401, 429]
    assert guess(OTHER) == 401
    # Without a trusted proxy the header is ignored: a client cannot pick its own address.
    assert [bad_token(api, ATTACKER).status_code for _ in range(11)][-1] == 429
    spoofed = api.call("GET", "/api/v1/letters", headers={"Authorization": "Bearer x", "X-Forwarded-For": OTHER},
                       environ_base={"REMOTE_ADDR": ATTACKER})
    assert spoofed.status_code == 429


def check(client: FlaskClient, token: str, data: bytes, address: str = HOSPITAL) -> TestResponse:
    files = {"file": (BytesIO(data), "surat.pdf", "application/pdf")}
    response: TestResponse = client.post(f"/v/{token}/check", data=files, headers={"Accept": "application/json"},
                                         environ_base={"REMOTE_ADDR": address})
    return response


def test_uploads_to_check_are_limited_per_address_and_lookups_still_answer(world: World) -> None:
    # Every upload is parsed and its signature validated: each one counts, genuine letter or not.
    assert Settings(suratdesa_home=world.api.settings.suratdesa_home).verify_check_limit == "20/minute"
    strict = create_app(world.api.settings.model_copy(update={"verify_check_limit": "3/minute"})).test_client()
    token = world.verification_token
    pdf = world.api.call("GET", f"/api/v1/letters/{world.letters['read']}/pdf", "official").data
    assert [check(strict, token, pdf).status_code for _ in range(2)] == [200, 200]
    assert check(strict, token, b"bukan surat").status_code == 422  # refused uploads count too
    over = check(strict, token, pdf)
    assert_slowed_down(over)
    assert "berkas yang diunggah" in over.get_json()["detail"]
    genuine = strict.get(f"/v/{token}", headers={"Accept": "application/json"}, environ_base={"REMOTE_ADDR": HOSPITAL})
    assert genuine.status_code == 200 and genuine.get_json()["verdict"] == "SAH"
    assert check(strict, token, pdf, OTHER).get_json()["check"]["identical"] is True  # another address
    with pytest.raises(ValueError, match="verify_check_limit"):
        Settings(suratdesa_home=world.api.settings.suratdesa_home, verify_check_limit="20 per fortnight")


def test_with_redis_down_failures_are_still_limited_in_memory_and_valid_requests_answer(
        own_redis: RedisServer, tmp_path: Path) -> None:
    with running_stack(tmp_path / "home", services=False, extra_env={"BROKER_URL": own_redis.url}) as stack:
        assert [stack.request("GET", "/api/v1/letters", f"tebakan-{n}").status_code for n in range(3)] == [401] * 3
        counters = redis.Redis(port=own_redis.port).keys("*suratdesa-ratelimit/127.0.0.1/auth-failure*")
        assert counters, "failures are counted in Redis while it is up"
        own_redis.stop()
        # Each of the two gunicorn workers now counts in its own memory: at most twice the limit get 401.
        failures = [stack.request("GET", "/api/v1/letters", f"tebakan-{n}") for n in range(21)]
        statuses = [response.status_code for response in failures]
        assert set(statuses) == {401, 429} and statuses.count(401) <= 20, statuses
        blocked = next(response for response in failures if response.status_code == 429)
        assert blocked.headers["Content-Type"] == "application/problem+json"
        assert 1 <= int(blocked.headers["Retry-After"]) <= 61
        for _ in range(4):  # whichever worker answers
            assert stack.request("GET", "/api/v1/letter-types", stack.post_token).status_code == 200
            assert stack.request("GET", "/healthz").status_code == 200
        started = time.monotonic()
        submitted = stack.submit(api_example(stack))
        assert submitted.status_code == 202 and time.monotonic() - started < 3, submitted.text
        ready = stack.request("GET", "/readyz")
        assert ready.status_code == 503 and "broker" in ready.json()["detail"]  # the broker really is down
        own_redis.start()  # so the worker and sweeper stop cleanly


def test_a_counter_goes_back_to_redis_once_redis_has_been_up_for_a_while(
        own_redis: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:
    counter, limit = FailureCounter(own_redis.url), parse("3/day")  # a day: no window ends during the test

    def count() -> int:
        return counter.count(limit, "auth-failure", ATTACKER)

    assert [count(), count(), count()] == [0, 0, 0]  # in Redis: a fourth there is over
    own_redis.stop()
    assert count() == 0  # Redis away: counted in this process's memory, which starts from nothing
    own_redis.start()
    assert count() == 0  # memory still, until SHARED_RETRY_S have passed: no connect timeout on every failure
    later = time.monotonic() + SHARED_RETRY_S
    monkeypatch.setattr(security.time, "monotonic", lambda: later)
    assert count() > 0  # Redis again, with the three counted there before it went away (memory is at two)


def test_the_counters_live_in_any_storage_the_limits_library_knows_and_a_wrong_one_stops_the_start() -> None:
    assert FailureCounter("memory://").shared is None  # each process counts alone
    assert FailureCounter("redis+unix:///tmp/no-such.sock").shared is not None  # not only redis:// URLs
    with pytest.raises(ConfigurationError, match="unknown storage scheme"):  # not counted in memory in silence
        FailureCounter("memcache://127.0.0.1:11211")


def api_example(stack: Stack) -> dict[str, Any]:
    types = stack.request("GET", "/api/v1/letter-types", stack.post_token).json()
    return cast(dict[str, Any], next(t["example"] for t in types if t["code"] == "sktm"))

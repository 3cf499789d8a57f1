"""Guessing is slowed down per client address: failed tokens on the API, unknown codes on the QR page."""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.test import TestResponse

from services.api import create_app
from shared.config import Settings
from tests.api.conftest import Api
from tests.api.test_letters_api import assert_problem
from tests.api.world import World, build_world

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
    # The address is blocked, not the clients: the same post elsewhere works, and so do others' mistakes.
    assert from_address(api, OTHER, "GET", "/api/v1/letter-types", "post_a").status_code == 200
    assert bad_token(api, OTHER).status_code == 401


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

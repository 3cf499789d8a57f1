"""The webhooks API in process: registration (secret once, 422 naming the field, SSRF refused), listing,
deletion, the deliveries with every attempt, and a retry."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from services.api import create_app
from shared.config import Settings
from shared.db import session_scope
from shared.models import utcnow
from shared.webhooks import delivery
from shared.webhooks.models import WebhookEndpoint
from tests.api.conftest import Api
from tests.api.world import World
from tests.webhook_receiver import running_receiver

PUBLIC = "https://93.184.216.34/hooks/desa"  # a public address: allowed, and never contacted by these tests
EVENTS = ["letter.issued", "letter.revoked"]


def register(api: Api, who: str, body: dict[str, object]) -> object:
    return api.call("POST", "/api/v1/webhooks", who, json=body)


def field_errors(response: object) -> dict[str, str]:
    return {e["field"]: e["message"] for e in response.get_json()["errors"]}  # type: ignore[attr-defined]


def test_registration_shows_the_secret_once(api: Api) -> None:
    created = register(api, "post_a", {"url": PUBLIC, "events": EVENTS})
    assert created.status_code == 201  # type: ignore[attr-defined]
    body = created.get_json()  # type: ignore[attr-defined]
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    assert body["url"] == PUBLIC and body["events"] == EVENTS and body["disabled_at"] is None
    listed = api.call("GET", "/api/v1/webhooks", "post_a").get_json()["items"]
    assert [item["id"] for item in listed] == [body["id"]]
    assert "secret" not in listed[0]
    assert api.call("GET", "/api/v1/webhooks", "post_b").get_json()["items"] == []  # each client its own


@pytest.mark.parametrize(("body", "field"), [
    ({"url": "ftp://example.org/x", "events": EVENTS}, "url"),
    ({"url": "https://user:secret@example.org/", "events": EVENTS}, "url"),
    ({"url": "not a url", "events": EVENTS}, "url"),
    ({"url": "x" * 2001, "events": EVENTS}, "url"),
    ({"events": EVENTS}, "url"),
    ({"url": PUBLIC, "events": []}, "events"),
    ({"url": PUBLIC, "events": ["letter.issued", "letter.issued"]}, "events"),
    ({"url": PUBLIC, "events": ["letter.deleted"]}, "events.0"),
    ({"url": PUBLIC, "events": "letter.issued"}, "events"),
    ({"url": PUBLIC}, "events"),
    ({"url": PUBLIC, "events": EVENTS, "secret": "mine"}, "secret"),
])
def test_bad_registrations_are_422_naming_the_field(api: Api, body: dict[str, object], field: str) -> None:
    response = register(api, "post_a", body)
    assert response.status_code == 422, response.get_json()  # type: ignore[attr-defined]
    assert response.mimetype == "application/problem+json"  # type: ignore[attr-defined]
    assert field in field_errors(response)


@pytest.mark.parametrize(("url", "why"), [
    ("http://127.0.0.1:8000/hook", "loopback"),
    ("http://localhost/hook", "loopback"),  # a name that resolves to 127.0.0.1
    ("http://[::1]/hook", "loopback"),
    ("http://10.1.2.3/hook", "privat"),
    ("http://192.168.0.10/hook", "privat"),
    ("http://169.254.169.254/latest/meta-data/", "metadata"),
    ("http://0.0.0.0/hook", "unspecified"),
    ("http://[fe80::1]/hook", "link-local"),
])
def test_endpoints_inside_the_network_are_refused_at_registration(api: Api, url: str, why: str) -> None:
    response = register(api, "official", {"url": url, "events": EVENTS})
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert why in field_errors(response)["url"]
    assert api.call("GET", "/api/v1/webhooks", "official").get_json()["items"] == []


def test_an_endpoint_is_deleted_by_its_owner_only(api: Api) -> None:
    endpoint_id = register(api, "post_a", {"url": PUBLIC, "events": EVENTS}).get_json()["id"]  # type: ignore[attr-defined]
    assert api.call("DELETE", f"/api/v1/webhooks/{endpoint_id}", "post_b").status_code == 404
    assert api.call("DELETE", f"/api/v1/webhooks/{endpoint_id}", "official").status_code == 404
    assert api.call("DELETE", f"/api/v1/webhooks/{endpoint_id}", "post_a").status_code == 204
    assert api.call("GET", "/api/v1/webhooks", "post_a").get_json()["items"] == []
    assert api.call("GET", f"/api/v1/webhooks/{endpoint_id}/deliveries", "post_a").status_code == 404
    assert api.call("DELETE", f"/api/v1/webhooks/{uuid.uuid4()}", "post_a").status_code == 404


@pytest.fixture
def lan_client(api: Api) -> Iterator[FlaskClient]:
    """The same deployment, with WEBHOOK_ALLOW_PRIVATE=true (a receiver on this machine)."""
    lan = api.settings.model_copy(update={"webhook_allow_private": True})
    yield create_app(lan).test_client()


def test_deliveries_show_every_attempt_and_one_can_be_sent_again(api: Api, lan_client: FlaskClient) -> None:
    auth = {"Authorization": f"Bearer {api.tokens['post_a']}"}
    lan: Settings = api.settings.model_copy(update={"webhook_allow_private": True})
    with running_receiver(answers=[500]) as receiver:
        created = lan_client.post("/api/v1/webhooks", headers=auth,
                                  json={"url": receiver.url, "events": ["letter.awaiting_approval"]})
        assert created.status_code == 201, created.get_json()
        endpoint_id = created.get_json()["id"]
        World(api).draft(World(api).submit("post_a"))
        path = f"/api/v1/webhooks/{endpoint_id}/deliveries"
        (pending,) = api.call("GET", path, "post_a").get_json()["items"]
        assert pending["status"] == "pending" and pending["attempts"] == []
        with session_scope(lan) as session:
            delivery.deliver(session=session, settings=lan, delivery_id=uuid.UUID(pending["id"]))
        (failed,) = api.call("GET", path, "post_a").get_json()["items"]
        assert failed["status"] == "pending" and failed["next_attempt_at"] is not None
        (logged,) = failed["attempts"]
        assert logged["status_code"] == 500 and logged["error"] == "HTTP 500" and logged["duration_ms"] >= 0
        retry = f"{path}/{pending['id']}/retry"
        assert api.call("POST", retry, "post_b").status_code == 404
        assert api.call("POST", f"{path}/{uuid.uuid4()}/retry", "post_a").status_code == 404
        answer = api.call("POST", retry, "post_a")
        assert answer.status_code == 202 and answer.get_json()["status"] == "pending"
        assert [a["status_code"] for a in answer.get_json()["attempts"]] == [500]
        with session_scope(lan) as session:
            delivery.deliver(session=session, settings=lan, delivery_id=uuid.UUID(pending["id"]))
        (done,) = api.call("GET", path, "post_a").get_json()["items"]
        assert done["status"] == "delivered" and [a["status_code"] for a in done["attempts"]] == [500, 200]
        assert done["webhook_id"] == receiver.requests[-1].headers["webhook-id"]
        assert len(receiver.requests) == 2
    assert api.call("GET", path, "post_b").status_code == 404
    assert api.call("GET", path + "?limit=0", "post_a").status_code == 422


def test_a_disabled_endpoint_is_enabled_again_by_its_owner(api: Api) -> None:
    endpoint = register(api, "post_a", {"url": PUBLIC, "events": EVENTS}).get_json()  # type: ignore[attr-defined]
    with session_scope(api.settings) as session:
        row = session.get(WebhookEndpoint, uuid.UUID(endpoint["id"]))
        assert row is not None
        row.disabled_at, row.disabled_reason = utcnow(), "Dinonaktifkan otomatis: uji"
        session.add(row)
        session.commit()
    listed = api.call("GET", "/api/v1/webhooks", "post_a").get_json()["items"]
    assert [e["disabled_reason"] for e in listed] == ["Dinonaktifkan otomatis: uji"]
    path = f"/api/v1/webhooks/{endpoint['id']}/enable"
    assert api.call("POST", path, "post_b").status_code == 404
    enabled = api.call("POST", path, "post_a")
    assert enabled.status_code == 200
    body = enabled.get_json()
    assert (body["id"], body["disabled_at"], body["disabled_reason"]) == (endpoint["id"], None, None)
    assert "secret" not in body
    listed = api.call("GET", "/api/v1/webhooks", "post_a").get_json()["items"]
    assert [e["disabled_at"] for e in listed] == [None]

"""Who may do what, on every route the app has: anonymous, two hamlet posts, an official, another village's."""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.test import TestResponse

from shared.accounts import revoke_client
from shared.config import Settings
from shared.db import session_scope
from tests.api.conftest import Api
from tests.api.world import World, build_world, ktp_upload
from tests.conftest import approval

# post_a owns the letters; post_b is another post of the same village; official_b works for another village.
# The official acts last on each route, since acting changes the letter.
ACTORS = ("anonymous", "post_a", "post_b", "official_b", "official")
LETTER = "/api/v1/letters/<uuid:letter_id>"
WEBHOOK = "/api/v1/webhooks/<uuid:endpoint_id>"
WEBHOOK_BODY = {"url": "https://93.184.216.34/hooks", "events": ["letter.issued"]}  # public; never contacted
REASON = {"reason": "Data pemohon belum lengkap"}


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ACTORS, status)


def signed_in(status: int) -> dict[str, int]:
    return {**everyone(status), "anonymous": 401}


def owner_and_office(status: int) -> dict[str, int]:
    """The owning post and its village's official see it; everyone else is told it does not exist."""
    return {"anonymous": 401, "post_a": status, "post_b": 404, "official_b": 404, "official": status}


def office_only(status: int) -> dict[str, int]:
    """An official's action: posts are refused (403), another village's official finds nothing (404)."""
    return {"anonymous": 401, "post_a": 403, "post_b": 403, "official_b": 404, "official": status}


def owner_only(status: int) -> dict[str, int]:
    """A webhook is its registering client's (here the official's): anyone else finds nothing."""
    return {"anonymous": 401, "post_a": 404, "post_b": 404, "official_b": 404, "official": status}


# (method, rule) -> the status each actor gets, and which letter the route is tried on.
MATRIX: dict[tuple[str, str], tuple[dict[str, int], str | None]] = {
    ("GET", "/healthz"): (everyone(200), None),
    ("GET", "/readyz"): (everyone(200), None),
    ("GET", "/api/v1/openapi.json"): (signed_in(200), None),
    ("GET", "/api/v1/letter-types"): (signed_in(200), None),
    ("GET", "/api/v1/letters"): (signed_in(200), None),
    ("POST", "/api/v1/letters"): (signed_in(202), None),
    ("GET", LETTER): (owner_and_office(200), "read"),
    ("GET", LETTER + "/draft.pdf"): (owner_and_office(200), "read"),
    ("GET", LETTER + "/pdf"): (owner_and_office(200), "read"),
    ("POST", LETTER + "/approve"): (office_only(200), "approve"),
    ("POST", LETTER + "/reject"): (office_only(200), "reject"),
    ("POST", LETTER + "/revoke"): (office_only(200), "revoke"),
    ("POST", LETTER + "/retry"): (office_only(409), "read"),  # only a failed letter can be retried
    ("GET", "/v/<token>"): (everyone(200), None),
    ("POST", "/v/<token>/check"): (everyone(422), None),  # public; no file uploaded
    # an official's own village's register; another village's official gets theirs (empty), not this one
    ("GET", "/api/v1/register"): ({**office_only(200), "official_b": 200}, None),
    ("GET", "/api/v1/reports"): ({**office_only(200), "official_b": 200}, None),
    ("GET", "/api/v1/reports/charts/<name>.svg"): ({**office_only(200), "official_b": 200}, None),
    # only the post that submitted the letter attaches documents; its village's officials read them
    ("POST", LETTER + "/attachments"): ({**owner_and_office(201), "official": 403}, "attach"),
    ("GET", LETTER + "/attachments"): (owner_and_office(200), "attach"),
    ("GET", LETTER + "/attachments/<uuid:attachment_id>"): (owner_and_office(200), "attach"),
    # everyone registers and lists their own webhooks; the official's endpoint is the official's alone
    ("POST", "/api/v1/webhooks"): (signed_in(201), None),
    ("GET", "/api/v1/webhooks"): (signed_in(200), None),
    ("GET", WEBHOOK + "/deliveries"): (owner_only(200), None),
    ("POST", WEBHOOK + "/deliveries/<uuid:delivery_id>/retry"): (owner_only(202), None),
    ("POST", WEBHOOK + "/enable"): (owner_only(200), None),
    ("DELETE", WEBHOOK): (owner_only(204), None),  # last: it is gone afterwards
}
# The pages (services/web) sign people in with a session cookie; a bearer token opens none of them: every
# actor here is a stranger to the pages, sent to the sign-in form (302), and a form posted without the
# session's CSRF token is refused (400) before anything else. tests/web/ tries each page with each person.
PAGE = "/surat/<uuid:letter_id>"
PAGES: dict[tuple[str, str], tuple[dict[str, int], str | None]] = {
    ("GET", "/"): (everyone(200), None),
    ("GET", "/static/<path:filename>"): (everyone(200), None),
    ("POST", "/masuk"): (everyone(400), None),
    ("POST", "/keluar"): (everyone(400), None),
    ("GET", "/pos"): (everyone(302), None),
    ("GET", "/pos/status"): (everyone(302), None),
    ("GET", "/pos/ajukan"): (everyone(302), None),
    ("GET", "/pos/ajukan/<code>"): (everyone(302), None),
    ("POST", "/pos/ajukan/<code>"): (everyone(400), None),
    ("GET", "/petugas"): (everyone(302), None),
    ("GET", "/petugas/menunggu"): (everyone(302), None),
    ("POST", "/petugas/setujui"): (everyone(400), None),
    ("GET", "/petugas/cari"): (everyone(302), None),
    ("POST", "/petugas/cari"): (everyone(400), None),
    ("POST", "/petugas/surat/<uuid:letter_id>/setujui"): (everyone(400), "read"),
    ("POST", "/petugas/surat/<uuid:letter_id>/tolak"): (everyone(400), "read"),
    ("POST", "/petugas/surat/<uuid:letter_id>/cabut"): (everyone(400), "read"),
    ("POST", "/petugas/surat/<uuid:letter_id>/ulang"): (everyone(400), "read"),
    ("GET", PAGE): (everyone(302), "read"),
    ("GET", PAGE + "/tanda-terima"): (everyone(302), "read"),
    ("GET", PAGE + "/surat.pdf"): (everyone(302), "read"),
    ("GET", PAGE + "/konsep.png"): (everyone(302), "read"),
    ("POST", PAGE + "/lampiran"): (everyone(400), "read"),
    ("GET", PAGE + "/lampiran/<uuid:attachment_id>"): (everyone(302), "read"),
    ("GET", "/petugas/laporan"): (everyone(302), None),
    ("GET", "/petugas/laporan/grafik/<name>.svg"): (everyone(302), None),
    ("GET", "/petugas/laporan/agenda.<file_format>"): (everyone(302), None),
    ("GET", "/s/<code>"): (everyone(404), None),  # an unknown tracking code
}
MATRIX.update(PAGES)
BASELINE_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}


@pytest.fixture
def settings(tmp_path) -> Settings:
    """The api fixture's settings, with room for the matrix's many anonymous 401s before the limiter bites."""
    return Settings(suratdesa_home=tmp_path / "home", auth_failure_limit="1000/minute")


@pytest.fixture
def world(api: Api) -> World:
    """build_world, with a webhook of the official's registered first: its letters' issue gives it deliveries."""
    endpoint = api.call("POST", "/api/v1/webhooks", "official", json=WEBHOOK_BODY).get_json()
    world = build_world(api)
    deliveries = api.call("GET", f"/api/v1/webhooks/{endpoint['id']}/deliveries", "official").get_json()["items"]
    world.webhooks = {"endpoint_id": endpoint["id"], "delivery_id": deliveries[0]["id"]}
    return world


def app_routes(api: Api) -> set[tuple[str, str]]:
    return {(method, rule.rule) for rule in api.app.url_map.iter_rules() if rule.endpoint != "static"
            for method in rule.methods - {"HEAD", "OPTIONS"}}  # type: ignore[operator]


def request_for(world: World, method: str, rule: str, letter: str | None) -> dict[str, Any]:
    path = rule.replace("<uuid:letter_id>", world.letters.get(letter or "", "")).replace(
        "<token>", world.verification_token).replace("<uuid:attachment_id>", world.attachment_id)
    path = path.replace("<code>", "sktm").replace("<path:filename>", "pages.css")
    for name, value in world.webhooks.items():
        path = path.replace(f"<uuid:{name}>", value)
    path = path.replace("<name>", "by-type-and-month").replace("<file_format>", "xlsx")
    if rule.startswith(("/api/v1/register", "/api/v1/reports")):
        path += "?year=2026"
    kwargs: dict[str, Any] = {"method": method, "path": path}
    if rule == "/api/v1/letters" and method == "POST":
        kwargs["json"] = world.api.example()
    elif rule.endswith(("/reject", "/revoke")):
        kwargs["json"] = REASON
    elif rule == "/api/v1/webhooks" and method == "POST":
        kwargs["json"] = WEBHOOK_BODY
    elif rule.endswith("/approve"):
        kwargs["json"] = approval()
    elif rule.endswith("/attachments") and method == "POST":
        kwargs["upload"] = True
    return kwargs


def call_as(world: World, actor: str, request: dict[str, Any]) -> TestResponse:
    who = None if actor == "anonymous" else actor
    if request.get("upload"):  # a fresh file each time: the form's stream is read once
        return world.api.call(request["method"], request["path"], who, data=ktp_upload())
    return world.api.call(request["method"], request["path"], who, json=request.get("json"))


def header_problems(response: TestResponse) -> list[str]:
    """Missing headers: every answer refuses sniffing, referrers and framing; non-PDFs carry a CSP."""
    missing = [name for name, value in BASELINE_HEADERS.items() if response.headers.get(name) != value]
    if response.mimetype != "application/pdf" and "frame-ancestors 'none'" not in response.headers.get(
            "Content-Security-Policy", ""):
        missing.append("Content-Security-Policy")
    if response.request.path.startswith("/api/") and response.headers.get("Cache-Control") != "no-store":
        missing.append("Cache-Control")  # letters carry NIKs
    return missing


def test_every_route_of_the_app_has_a_row_in_the_matrix(api: Api) -> None:
    routes = app_routes(api)
    assert sorted(routes - set(MATRIX)) == [], "add these routes to MATRIX (and to services/api/openapi.py)"
    assert sorted(set(MATRIX) - routes) == [], "these MATRIX rows name routes the app no longer has"


def test_each_actor_gets_exactly_its_status_on_every_route(world: World) -> None:
    wrong = []
    for (method, rule), (row, letter) in MATRIX.items():
        request = request_for(world, method, rule, letter)
        for actor in ACTORS:
            response = call_as(world, actor, request)
            if response.status_code != row[actor]:
                wrong.append((method, rule, actor, row[actor], response.status_code))
            if response.status_code >= 400 and not rule.startswith("/v/") and (method, rule) not in PAGES:
                assert response.mimetype == "application/problem+json", (method, rule, actor)
            assert header_problems(response) == [], (method, rule, actor)
            response.close()  # a static file is streamed from an open file
    assert wrong == [], "(method, rule, actor, expected, got)"


def test_a_post_and_another_village_list_none_of_post_a_letters(world: World) -> None:
    ids = {item["id"] for item in world.api.call("GET", "/api/v1/letters", "official").get_json()["items"]}
    assert set(world.letters.values()) <= ids
    for outsider in ("post_b", "official_b"):
        page = world.api.call("GET", "/api/v1/letters", outsider, query_string={"limit": 100}).get_json()
        assert page["items"] == [], outsider


def test_a_revoked_token_is_refused_at_once(api: Api) -> None:
    assert api.call("GET", "/api/v1/letter-types", "post_b").status_code == 200
    with session_scope(api.settings) as session:
        revoke_client(session, "post_b")
    response = api.call("GET", "/api/v1/letter-types", "post_b")
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")

"""The running service tried as an attacker would, then searched for what must never leak.

Real `suratdesa api` (gunicorn) and `suratdesa worker` processes on both backends. The rate-limit tests
run last in the module: once they pass, this address is blocked on that stack for a minute.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
import requests

from tests.conftest import Stack, TricklingPost, run_cli
from tests.pdftools import pdf_text, pdf_text_flat

NAME = "Nur'aini Siti-Rahmah Ñuñez"
NIK = "3202095203850001"  # a woman born 12 March 1985: day 12 + 40
MARKUP = "<script>alert('x')</script><b>tebal</b>"
UNKNOWN_TOKEN = "Z" * 43  # shaped like a real token, so the page really looks it up


@dataclass
class Seen:
    """What one module's flows put into the stack: every NIK, every API token, every letter id."""

    niks: set[str] = field(default_factory=set)
    tokens: set[str] = field(default_factory=set)
    letter_ids: set[str] = field(default_factory=set)


@pytest.fixture(scope="module")
def seen(stack: Stack) -> Seen:
    return Seen(tokens={stack.post_token, stack.official_token})


def niks_in(body: dict[str, Any]) -> set[str]:
    return set(re.findall(r'"nik": "(\d{16})"', requests.models.complexjson.dumps(body)))


def submit(stack: Stack, seen: Seen, body: dict[str, Any]) -> str:
    response = stack.submit(body)
    assert response.status_code == 202, response.text
    seen.niks |= niks_in(body)
    seen.letter_ids.add(response.json()["id"])
    return str(response.json()["id"])


def sktm(stack: Stack, **applicant: Any) -> dict[str, Any]:
    types = stack.request("GET", "/api/v1/letter-types", stack.post_token).json()
    body = next(t["example"] for t in types if t["code"] == "sktm")
    body["applicant"].update(applicant)
    return body


def issue(stack: Stack, letter_id: str) -> dict[str, Any]:
    stack.wait_for(letter_id, "awaiting_approval")
    assert stack.approve(letter_id).status_code == 200
    return stack.wait_for(letter_id, "issued")


def test_names_with_apostrophes_hyphens_and_accents_print_as_typed(stack: Stack, seen: Seen) -> None:
    letter_id = submit(stack, seen, sktm(stack, name=NAME, nik=NIK, sex="P"))
    stack.wait_for(letter_id, "awaiting_approval")
    draft = stack.request("GET", f"/api/v1/letters/{letter_id}/draft.pdf", stack.post_token)
    assert draft.status_code == 200 and NAME in pdf_text_flat(draft.content)
    assert NIK not in draft.headers["Content-Disposition"]


def test_markup_is_printed_literally_and_escaped_on_the_verification_page(stack: Stack, seen: Seen) -> None:
    body = sktm(stack, name="<b>Ujang</b> Contoh")
    body["fields"]["purpose"] = f"Berobat {MARKUP}"
    letter = issue(stack, submit(stack, seen, body))
    pdf = stack.request("GET", f"/api/v1/letters/{letter['id']}/pdf", stack.official_token).content
    assert MARKUP in pdf_text(pdf).replace("\n", "") or MARKUP in pdf_text_flat(pdf)
    revoked = stack.request("POST", f"/api/v1/letters/{letter['id']}/revoke", stack.official_token,
                            json={"reason": f"Palsu {MARKUP}"})
    assert revoked.status_code == 200, revoked.text
    page = requests.get(str(letter["verification_url"]), timeout=10)
    assert page.status_code == 200 and "DICABUT" in page.text
    assert "<script" not in page.text and "<b>" not in page.text.split("<body>")[1]
    assert "Palsu &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;b&gt;tebal&lt;/b&gt;" in page.text
    assert "&lt;b" in page.text  # the masked name "<b****..." shown as text
    assert "script-src" not in page.headers["Content-Security-Policy"]  # no script may run at all


def test_a_revoked_client_token_is_refused_at_once_by_the_running_api(stack: Stack, seen: Seen) -> None:
    token = run_cli(stack.env, "clients", "create", "--name", "pos-sementara", "--role", "post").splitlines()[-1]
    seen.tokens.add(token)
    assert stack.request("GET", "/api/v1/letter-types", token).status_code == 200
    run_cli(stack.env, "clients", "revoke", "pos-sementara")
    refused = stack.request("GET", "/api/v1/letter-types", token)
    assert refused.status_code == 401 and refused.headers["Content-Type"] == "application/problem+json"
    listing = run_cli(stack.env, "clients", "list")
    assert "pos-sementara\tpost" in listing and "revoked" in listing and token not in listing


def test_another_post_and_no_token_get_nothing_from_the_running_api(stack: Stack, seen: Seen) -> None:
    letter_id = submit(stack, seen, sktm(stack))
    other = run_cli(stack.env, "clients", "create", "--name", "pos-b", "--role", "post").splitlines()[-1]
    seen.tokens.add(other)
    for path in (f"/api/v1/letters/{letter_id}", f"/api/v1/letters/{letter_id}/draft.pdf"):
        assert stack.request("GET", path, other).status_code == 404
        assert stack.request("GET", path).status_code == 401
    assert stack.request("POST", f"/api/v1/letters/{letter_id}/approve", other).status_code == 403
    assert stack.request("GET", "/api/v1/letters", other).json()["items"] == []


def files_under(home: Path) -> list[Path]:
    return [path for path in home.rglob("*") if path.is_file()]


def database_text(stack: Stack) -> str:
    """Every row of every table, as text: the embedded database's bytes, or PostgreSQL's rows as JSON."""
    url = stack.env.get("DATABASE_URL")
    if url is None:
        return "".join(path.read_bytes().decode("latin-1") for path in stack.home.glob("*.db*"))
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        tables = [row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        return "".join(str(conn.execute(f'SELECT json_agg(t)::text FROM "{table}" t').fetchone()) for table in tables)


def broker_text(stack: Stack) -> str:
    """Every key and value in the stack's Redis database (messages, rate-limit counters)."""
    url = stack.env.get("BROKER_URL", "")
    if not url.startswith("redis://"):
        return ""
    client = redis.Redis.from_url(url)
    dump = []
    for key in client.scan_iter():
        kind = client.type(key)
        value = client.lrange(key, 0, -1) if kind == b"list" else client.hgetall(key) if kind == b"hash" else \
            client.get(key) if kind == b"string" else b""
        dump.append(f"{key!r}={value!r}")
    return "\n".join(dump)


def test_no_nik_or_api_token_in_logs_or_file_names_and_no_token_stored_anywhere(stack: Stack, seen: Seen) -> None:
    issued = issue(stack, submit(stack, seen, sktm(stack)))
    page = issued["verification_url"].removeprefix(stack.base_url)
    assert stack.request("GET", page).status_code == 200
    tracking_code = issued["tracking_code"]  # the resident's receipt: its page is theirs alone, as the letter's is
    assert stack.request("GET", f"/s/{tracking_code}").status_code == 200
    nik_in_url = "3202091203850001"  # a client that puts a NIK in a URL must not get it logged
    assert stack.request("GET", "/api/v1/letters", stack.post_token, params={"nik": nik_in_url}).status_code == 422
    seen.niks.add(nik_in_url)
    token = run_cli(stack.env, "clients", "create", "--name", "pos-log", "--role", "post").splitlines()[-1]
    seen.tokens.add(token)
    assert stack.request("GET", "/api/v1/letters", token).status_code == 200
    run_cli(stack.env, "clients", "revoke", "pos-log")
    assert stack.request("GET", "/api/v1/letters", token).status_code == 401
    logs = {path.name: path.read_text(errors="replace") for path in stack.home.glob("*.log")}
    assert {"api.log", "worker.log"} <= set(logs)
    assert '"GET /api/v1/letters/' in logs["api.log"]  # gunicorn's access log is in there too
    for name, text in logs.items():
        leaked = [secret for secret in seen.niks | seen.tokens if secret in text]
        assert leaked == [], f"{name} contains {len(leaked)} NIK(s) or token(s)"
    for name, text in logs.items():  # verification tokens and tracking codes open a page: not in logs either
        assert page.rsplit("/", 1)[1] not in text, name
        assert tracking_code not in text, name
    assert '"GET /v/[token] ' in logs["api.log"] and '"GET /s/[code] ' in logs["api.log"]
    for name in ("api.log", "worker.log"):  # what they carry instead: letter ids
        assert any(letter_id in logs[name] for letter_id in seen.letter_ids), name
    names = "\n".join(str(path.relative_to(stack.home)) for path in stack.home.rglob("*"))
    assert not any(nik in names for nik in seen.niks)
    stored = "".join(path.read_bytes().decode("latin-1") for path in files_under(stack.home))
    stored += database_text(stack) + broker_text(stack)
    assert not any(token in stored for token in seen.tokens), "an API token is stored in plain text"
    assert not any(nik in broker_text(stack) for nik in seen.niks), "a NIK travels through the broker"


def shared_counters(stack: Stack) -> bool:
    """Redis counts for every API process; in memory each of the two gunicorn workers counts alone."""
    return "BROKER_URL" in stack.env


def refused_after(responses: list[requests.Response], status: int, allowed: int) -> None:
    """At most `allowed` answers with status (earlier tests may have used some), then 429 and only 429."""
    statuses = [response.status_code for response in responses]
    answered = statuses.index(429)
    assert answered <= allowed and statuses == [status] * answered + [429] * (len(statuses) - answered)


def first_429(responses: list[requests.Response]) -> requests.Response:
    blocked = next(response for response in responses if response.status_code == 429)
    assert blocked.headers["Content-Type"] == "application/problem+json"
    assert 1 <= int(blocked.headers["Retry-After"]) <= 61
    return blocked


def sessions_in_a_transaction(stack: Stack) -> list[str]:
    """What the stack's PostgreSQL sessions that sit in an open transaction last ran (none on SQLite)."""
    url = stack.env.get("DATABASE_URL")
    if url is None:
        return []
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as connection:
        return [row[0] for row in connection.execute(
            "SELECT query FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND state LIKE 'idle in transaction%'")]


def test_a_body_that_trickles_in_holds_nothing_in_the_database_and_its_neighbours_submit(stack: Stack,
                                                                                       seen: Seen) -> None:
    """A hamlet post on a slow rural connection sends half its request, then pauses. Meanwhile its request holds
    nothing in the database: another post's letter is accepted at once (on SQLite a transaction opened to check the
    token held the write lock, so it waited 15 s and got 503, and the worker waited too), and on PostgreSQL no
    session sits in an open transaction. When the rest arrives, the slow post's letter is accepted as well."""
    slow_body, other_body = sktm(stack), sktm(stack)
    slow = TricklingPost(stack.base_url, stack.post_token, slow_body)
    try:
        time.sleep(1.5)  # a gunicorn worker has the request and is waiting for the rest of its body
        assert sessions_in_a_transaction(stack) == []
        other = stack.submit(other_body)  # 10 s at most (Stack.request)
        assert other.status_code == 202, other.text
        seen.niks |= niks_in(other_body)
        seen.letter_ids.add(other.json()["id"])
        status_line, body = slow.finish()
    finally:
        slow.close()
    assert status_line.startswith(b"HTTP/1.1 202"), status_line + body[:500]
    letter = json.loads(body)
    seen.niks |= niks_in(slow_body)
    seen.letter_ids.add(letter["id"])
    assert letter["status"] == "submitted"
    stack.wait_for(letter["id"], "awaiting_approval")


def test_genuine_codes_never_count_but_guessing_codes_is_stopped_with_429(stack: Stack) -> None:
    items = stack.request("GET", "/api/v1/letters", stack.official_token).json()["items"]
    genuine = next(item["verification_url"] for item in items if item["verification_url"])
    assert {requests.get(genuine, timeout=10).status_code for _ in range(30)} == {200}  # a hospital at work
    guesses = 61 if shared_counters(stack) else 121  # two workers may each allow 60
    responses = [stack.request("GET", f"/v/{UNKNOWN_TOKEN[:-3]}{n:03d}") for n in range(guesses)]
    if shared_counters(stack):
        assert [response.status_code for response in responses] == [404] * 60 + [429]  # genuine ones did not count
    assert "Coba lagi dalam" in first_429(responses).json()["detail"]
    # Over the limit, whichever worker answers: a genuine code still shows its letter, an unknown one is 429.
    for _ in range(4):
        assert requests.get(genuine, timeout=10).status_code == 200
        assert requests.get(genuine, headers={"Accept": "application/json"}, timeout=10).json()["verdict"] in {
            "SAH", "DICABUT"}
    if shared_counters(stack):
        assert {stack.request("GET", f"/v/{UNKNOWN_TOKEN}").status_code for _ in range(4)} == {429}


def test_repeated_failed_authentication_is_stopped_with_429(stack: Stack) -> None:
    attempts = 11 if shared_counters(stack) else 21
    responses = [stack.request("GET", "/api/v1/letters", f"tebakan-{n}") for n in range(attempts)]
    if shared_counters(stack):
        refused_after(responses, 401, 10)
    first_429(responses)
    # Only the failures are refused: the post behind the same address (one NAT) is still answered, on
    # either worker, and so are health checks; a wrong token stays refused (on Redis, by every worker).
    for _ in range(4):
        assert stack.request("GET", "/api/v1/letter-types", stack.post_token).status_code == 200
        assert stack.request("GET", "/api/v1/letters", stack.official_token).status_code == 200
        assert stack.request("GET", "/healthz").status_code == 200
    if shared_counters(stack):
        assert {stack.request("GET", "/api/v1/letters", f"tebakan-x{n}").status_code for n in range(4)} == {429}

"""Idempotent intake on SQLite and PostgreSQL: replays, a reused key, per-client keys, concurrent duplicates."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from typing import Any

import pytest
from sqlmodel import func, select

from shared.db import session_scope
from shared.errors import IdempotencyInProgress, IdempotencyKeyInvalid, IdempotencyKeyReused, ValidationFailed
from shared.letters.intake.catalog import load_catalog
from shared.letters.intake.validation import example_request
from shared.letters.workflow.idempotency import Submission, fingerprint, parse_key, submit_once
from shared.models import Client, IdempotencyKey, Letter, LetterEvent
from tests.conftest import Office


def answer(letter: Letter, event: LetterEvent) -> dict[str, Any]:
    return {"id": str(letter.id), "status": letter.status, "type": letter.type, "event": event.type}


def body(office: Office) -> dict[str, Any]:
    return example_request(load_catalog(office.settings.templates_dir).types["sktm"])


def submit(office: Office, client: Client, payload: Any, key: str | None) -> Submission:
    with session_scope(office.settings) as session:
        return submit_once(session=session, settings=office.settings, client=client, body=payload, key=key,
                           respond=answer)


def count(office: Office, model: type) -> int:
    with session_scope(office.settings) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def test_the_same_key_and_body_replays_the_first_answer_and_letter(office: Office) -> None:
    payload = body(office)
    first = submit(office, office.post, payload, "retry-me-1")
    reordered = dict(reversed(list(payload.items())))  # key order and spacing do not change the fingerprint
    again = submit(office, office.post, reordered, "retry-me-1")
    assert not first.replayed and again.replayed
    assert (again.letter_id, again.status, again.body) == (first.letter_id, 202, first.body)
    assert count(office, Letter) == 1
    with session_scope(office.settings) as session:
        stored = session.exec(select(IdempotencyKey)).one()
    assert (stored.state, stored.letter_id, stored.response_status) == ("done", first.letter_id, 202)
    assert stored.fingerprint == by_hand(payload) and stored.response_body == first.body


def by_hand(payload: dict[str, Any]) -> str:
    """The documented recipe: SHA-256 of the body as JSON with sorted keys, no spaces, UTF-8 as it is."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                          .encode("utf-8")).hexdigest()


def test_the_fingerprint_is_sha256_of_the_canonical_json() -> None:
    body = {"fields": {"purpose": "Beasiswa", "amount": 5}, "applicant": {"name": "Ñuñez"}, "type": "sktm"}
    canonical = '{"applicant":{"name":"Ñuñez"},"fields":{"amount":5,"purpose":"Beasiswa"},"type":"sktm"}'
    assert fingerprint(body) == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_the_same_key_with_another_body_is_refused_naming_the_header(office: Office) -> None:
    payload = body(office)
    submit(office, office.post, payload, "k-2")
    payload["fields"]["purpose"] = "Beasiswa sekolah"
    with pytest.raises(IdempotencyKeyReused) as refused:
        submit(office, office.post, payload, "k-2")
    assert refused.value.status == 422 and [e.field for e in refused.value.errors] == ["Idempotency-Key"]
    assert count(office, Letter) == 1


def test_keys_belong_to_one_client(office: Office) -> None:
    mine = submit(office, office.post, body(office), "shared-key")
    theirs = submit(office, office.other_post, body(office), "shared-key")
    assert not theirs.replayed and theirs.letter_id != mine.letter_id
    assert count(office, Letter) == 2 and count(office, IdempotencyKey) == 2


def test_an_invalid_body_leaves_the_key_unused(office: Office) -> None:
    broken = body(office)
    del broken["applicant"]["nik"]
    with pytest.raises(ValidationFailed):
        submit(office, office.post, broken, "k-4")
    assert count(office, IdempotencyKey) == 0 and count(office, Letter) == 0
    assert not submit(office, office.post, body(office), "k-4").replayed


def test_without_a_key_every_submission_is_a_new_letter(office: Office) -> None:
    first, second = (submit(office, office.post, body(office), None) for _ in range(2))
    assert first.letter_id != second.letter_id and count(office, IdempotencyKey) == 0


@pytest.mark.parametrize("raw", ["", "   ", '""', "x" * 256, "kunci-ä", "a\tb", "a\nb"])
def test_a_malformed_key_is_refused_naming_the_header(raw: str) -> None:
    with pytest.raises(IdempotencyKeyInvalid) as refused:
        parse_key(raw)
    assert refused.value.status == 400 and refused.value.errors[0].field == "Idempotency-Key"


def test_well_formed_keys() -> None:
    assert parse_key(None) is None
    assert parse_key(" 8e03978e-40d5-43e8-bc93-6894a57f9324 ") == "8e03978e-40d5-43e8-bc93-6894a57f9324"
    assert parse_key('"quoted as a structured field"') == "quoted as a structured field"
    assert parse_key("~" * 255) == "~" * 255


def test_a_duplicate_while_the_first_is_in_flight(office: Office) -> None:
    """PostgreSQL answers 409 after a short wait; SQLite (one writer) lets it wait and then replays."""
    started, release = threading.Event(), threading.Event()
    results: dict[str, Any] = {}

    def slow_answer(letter: Letter, event: LetterEvent) -> dict[str, Any]:
        started.set()  # the claim is inserted, not yet committed
        assert release.wait(20)
        return answer(letter, event)

    def first() -> None:
        with session_scope(office.settings) as session:
            results["first"] = submit_once(session=session, settings=office.settings, client=office.post,
                                           body=body(office), key="in-flight", respond=slow_answer)

    def duplicate() -> None:
        try:
            results["duplicate"] = submit(office, office.post, body(office), "in-flight")
        except IdempotencyInProgress as exc:
            results["duplicate"] = exc

    threads = [threading.Thread(target=first), threading.Thread(target=duplicate)]
    threads[0].start()
    assert started.wait(20)
    threads[1].start()
    if office.settings.db_url.startswith("postgresql"):
        threads[1].join(10)
        assert isinstance(results.get("duplicate"), IdempotencyInProgress), results
        assert results["duplicate"].status == 409 and results["duplicate"].retry_after == 1
    else:
        time.sleep(0.5)
        assert threads[1].is_alive()  # waiting for the writer lock, not failing
    release.set()
    for thread in threads:
        thread.join(20)
    if not office.settings.db_url.startswith("postgresql"):
        assert results["duplicate"].replayed and results["duplicate"].letter_id == results["first"].letter_id
    again = submit(office, office.post, body(office), "in-flight")
    assert again.replayed and again.letter_id == results["first"].letter_id
    assert count(office, Letter) == 1

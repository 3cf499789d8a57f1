"""The sweeper on SQLite and PostgreSQL, sending real messages to a Redis database of the test's own."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import timedelta
from typing import cast

import redis
from sqlmodel import col, select, update

from shared.config import Settings
from shared.db import session_scope
from shared.letters.intake.catalog import load_catalog
from shared.letters.intake.validation import example_request
from shared.letters.workflow import lifecycle
from shared.letters.workflow.attempts import STOPPED_UNREPORTED
from shared.letters.workflow.sweeper import SweepReport, sweep
from shared.models import IdempotencyKey, Letter, Village, utcnow
from shared.queue import ISSUE_LETTER, RENDER_DRAFT, TaskQueue
from tests.conftest import REDIS_HOST, Office, free_port


def sent(db: int) -> list[tuple[str, str]]:
    """The task messages waiting in the broker: (task name, letter id), oldest first; consumed."""
    client, messages = redis.Redis(*REDIS_HOST, db=db), []
    while (raw := client.rpop("celery")) is not None:
        message = json.loads(cast(bytes, raw))
        args = json.loads(base64.b64decode(message["body"]))[0]
        messages.append((message["headers"]["task"], args[0]))
    return messages


def letter_in(office: Office, status: str, attempts: int = 0) -> str:
    payload = example_request(load_catalog(office.settings.templates_dir).types["sktm"])
    with session_scope(office.settings) as session:
        letter = lifecycle.submit_letter(session=session, settings=office.settings, client=office.post, body=payload)
        session.exec(update(Letter).where(col(Letter.id) == letter.id)
                     .values(status=status, attempts=attempts))
        session.commit()
    return str(letter.id)


def settings_for(office: Office, db: int | None, **values: object) -> Settings:
    broker = f"redis://127.0.0.1:{REDIS_HOST[1]}/{db}" if db is not None else f"redis://127.0.0.1:{free_port()}/0"
    return office.settings.model_copy(update={"broker_url": broker, "sweep_stuck_after": 100.0,
                                              "letter_max_attempts": 3, **values})


def run(settings: Settings, seconds_later: float) -> SweepReport:
    with session_scope(settings) as session:
        return sweep(session, settings, TaskQueue(settings), now=utcnow() + timedelta(seconds=seconds_later))


def test_letters_idle_past_the_threshold_get_their_task_again_once_per_threshold(office: Office,
                                                                                 redis_db: int) -> None:
    settings = settings_for(office, redis_db)
    waiting_draft, waiting_issue = letter_in(office, "submitted"), letter_in(office, "approved")
    letter_in(office, "awaiting_approval"), letter_in(office, "issued"), letter_in(office, "failed")
    assert run(settings, 50) == SweepReport() and sent(redis_db) == []  # not idle long enough yet
    assert run(settings, 101).requeued == 2
    assert sorted(sent(redis_db)) == sorted([(RENDER_DRAFT, waiting_draft), (ISSUE_LETTER, waiting_issue)])
    assert run(settings, 102).requeued == 0  # sent a moment ago: once per threshold, not per pass
    assert run(settings, 202).requeued == 2 and len(sent(redis_db)) == 2


def test_a_letter_out_of_attempts_fails_once_no_attempt_can_still_be_running(office: Office, redis_db: int) -> None:
    settings = settings_for(office, redis_db, sweep_stuck_after=10.0, task_time_limit=90)
    exhausted = letter_in(office, "approved", attempts=3)
    assert run(settings, 60) == SweepReport()  # its last attempt may still be within the hard time limit
    assert run(settings, 91) == SweepReport(failed=1)
    with session_scope(settings) as session:
        failed = session.get(Letter, uuid.UUID(exhausted))
        assert (failed.status, failed.last_error) == ("failed", STOPPED_UNREPORTED)  # type: ignore[union-attr]
    assert sent(redis_db) == []


def test_with_the_broker_down_the_letters_wait_for_the_next_pass(office: Office) -> None:
    settings = settings_for(office, None)
    letter_id = letter_in(office, "submitted")
    assert run(settings, 101).requeued == 0
    with session_scope(settings) as session:
        assert session.get(Letter, uuid.UUID(letter_id)).requeued_at is None  # type: ignore[union-attr]


def test_idempotency_keys_are_kept_72_hours(office: Office) -> None:
    settings = settings_for(office, None)
    with session_scope(settings) as session:
        session.add(IdempotencyKey(client_id=office.post.id, key="old", fingerprint="0" * 64, state="done"))
        session.commit()
    assert run(settings, 71 * 3600).keys_purged == 0
    assert run(settings, 73 * 3600).keys_purged == 1
    with session_scope(settings) as session:
        assert session.exec(select(IdempotencyKey)).all() == []


def test_a_draft_left_unapproved_where_no_official_approves_its_type_gets_its_task_again(office: Office,
                                                                                          redis_db: int) -> None:
    settings = settings_for(office, redis_db)
    manual = letter_in(office, "awaiting_approval")  # sktm needs an official here: left alone
    with session_scope(settings) as session:
        session.exec(update(Letter).where(col(Letter.id) == uuid.UUID(manual))
                     .values(type="domisili"))
        village = session.get(Village, office.village.id)
        village.profile = {**village.profile, "approval": {"domisili": False}}  # type: ignore[union-attr]
        session.add(village)
        session.commit()
    automatic = manual
    manual = letter_in(office, "awaiting_approval")
    assert run(settings, 101).requeued == 1
    assert sent(redis_db) == [(RENDER_DRAFT, automatic)]
    assert run(settings, 102).requeued == 0

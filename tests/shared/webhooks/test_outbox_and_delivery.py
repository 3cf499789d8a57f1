"""The outbox and one attempt at a delivery, on SQLite and PostgreSQL, against a real HTTP receiver.

The worker's part (the task, the sweeper) is exercised end to end in tests/worker/test_webhook_flow.py; here the
domain functions are called directly.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import col, select

from shared.config import Settings
from shared.db import session_scope
from shared.errors import NotFound, WrongStatus
from shared.letters.intake.catalog import load_catalog
from shared.letters.intake.validation import example_request
from shared.letters.workflow import lifecycle
from shared.letters.workflow.events import record_event
from shared.models import Client, Letter, as_utc, utcnow
from shared.webhooks import delivery, endpoints
from shared.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from shared.webhooks.outbox import resend_due
from tests.conftest import Office
from tests.webhook_receiver import Receiver, running_receiver

ALL_EVENTS = ["letter.awaiting_approval", "letter.issued", "letter.rejected", "letter.revoked", "letter.failed"]


@pytest.fixture
def settings(office: Office) -> Settings:
    """The office's database, a receiver on 127.0.0.1 allowed, retries due at once."""
    return office.settings.model_copy(update={"webhook_allow_private": True, "webhook_retry_base": 0.001,
                                              "webhook_retry_max_delay": 0.002})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def register(settings: Settings, client: Client, url: str, events: list[str] | None = None) -> WebhookEndpoint:
    with session_scope(settings) as session:
        return endpoints.register_endpoint(session=session, settings=settings, client=client,
                                           body={"url": url, "events": events or ALL_EVENTS})


def submit_and_draft(settings: Settings, client: Client) -> Letter:
    body = example_request(load_catalog(settings.templates_dir).types["sktm"])
    with session_scope(settings) as session:
        letter = lifecycle.submit_letter(session=session, settings=settings, client=client, body=body)
    with session_scope(settings) as session:
        assert lifecycle.render_draft(session=session, settings=settings, letter_id=letter.id)
    return letter


def deliveries(settings: Settings, endpoint: WebhookEndpoint | None = None) -> list[WebhookDelivery]:
    with session_scope(settings) as session:
        query = select(WebhookDelivery).order_by(col(WebhookDelivery.created_at))
        if endpoint is not None:
            query = query.where(col(WebhookDelivery.endpoint_id) == endpoint.id)
        return list(session.exec(query).all())


def attempt(settings: Settings, delivery_id: uuid.UUID) -> delivery.Outcome | None:
    with session_scope(settings) as session:
        return delivery.deliver(session=session, settings=settings, delivery_id=delivery_id)


def attempt_when_due(settings: Settings, delivery_id: uuid.UUID) -> delivery.Outcome | None:
    """An attempt once the delivery's retry is due: the fixture's backoff is a millisecond or two, which a fast
    second attempt can still come before."""
    with session_scope(settings) as session:
        planned = session.get(WebhookDelivery, delivery_id)
        assert planned is not None
        pending = planned.status == DeliveryStatus.PENDING
        wait = (as_utc(planned.next_attempt_at) - utcnow()).total_seconds() if pending else 0.0
    time.sleep(max(0.0, wait) + 0.001)
    return attempt(settings, delivery_id)


def test_a_post_hears_its_own_letters_and_an_official_the_villages(office: Office, settings: Settings,
                                                                 receiver: Receiver) -> None:
    mine = register(settings, office.post, receiver.url)
    others = register(settings, office.other_post, receiver.url)
    village = register(settings, office.official, receiver.url)
    letter = submit_and_draft(settings, office.post)
    assert [d.event for d in deliveries(settings, mine)] == ["letter.awaiting_approval"]
    assert [d.event for d in deliveries(settings, village)] == ["letter.awaiting_approval"]
    assert deliveries(settings, others) == []  # another post's letter
    assert {d.letter_id for d in deliveries(settings)} == {letter.id}


def test_an_endpoint_hears_only_the_events_it_chose(office: Office, settings: Settings, receiver: Receiver) -> None:
    only_rejections = register(settings, office.official, receiver.url, ["letter.rejected"])
    letter = submit_and_draft(settings, office.post)
    assert deliveries(settings, only_rejections) == []
    with session_scope(settings) as session:
        lifecycle.reject_letter(session=session, letter_id=letter.id, actor=office.official, reason="Data kurang")
    assert [d.event for d in deliveries(settings, only_rejections)] == ["letter.rejected"]


def test_deliveries_commit_or_roll_back_with_the_letters_change(office: Office, settings: Settings,
                                                               receiver: Receiver) -> None:
    register(settings, office.official, receiver.url)
    letter = submit_and_draft(settings, office.post)
    before = len(deliveries(settings))
    with session_scope(settings) as session:
        record_event(session, letter_id=letter.id, type="rejected", actor="official:petugas")
        session.flush()
        session.rollback()
    assert len(deliveries(settings)) == before


def test_a_delivery_is_signed_and_says_nothing_personal(office: Office, settings: Settings,
                                                       receiver: Receiver) -> None:
    endpoint = register(settings, office.post, receiver.url)
    letter = submit_and_draft(settings, office.post)
    (pending,) = deliveries(settings, endpoint)
    outcome = attempt(settings, pending.id)
    assert outcome is not None and outcome.delivered
    (got,) = receiver.wait_for(1)
    (body,) = receiver.verified(endpoint.secret)  # standardwebhooks: headers, timestamp and HMAC
    assert got.headers["webhook-id"] == f"msg_{pending.id.hex}"
    assert got.headers["webhook-signature"].startswith("v1,")
    assert body["type"] == "letter.awaiting_approval"
    assert body["data"] == {"id": str(letter.id), "type": "sktm", "status": "awaiting_approval", "number": None,
                            "link": f"{settings.public_base_url}/api/v1/letters/{letter.id}"}
    applicant = letter.applicant
    for secret in (applicant["nik"], applicant["name"]):
        assert secret not in got.body.decode()
    assert set(json.loads(got.body)) == {"type", "timestamp", "data"}
    assert deliveries(settings, endpoint)[0].status == DeliveryStatus.DELIVERED
    assert attempt(settings, pending.id) is None  # delivered: a second message does nothing
    assert len(receiver.requests) == 1


def test_a_receiver_failing_twice_gets_the_event_once_more(office: Office, settings: Settings) -> None:
    with running_receiver(answers=[500, 503]) as receiver:
        endpoint = register(settings, office.post, receiver.url)
        submit_and_draft(settings, office.post)
        (pending,) = deliveries(settings, endpoint)
        outcomes = [attempt_when_due(settings, pending.id) for _ in range(4)]
        assert [o.status_code if o else None for o in outcomes] == [500, 503, 200, None]
        assert len(receiver.requests) == 3
        assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1  # the same message each time
    with session_scope(settings) as session:
        logged = session.exec(select(WebhookAttempt).where(WebhookAttempt.delivery_id == pending.id)
                              .order_by(col(WebhookAttempt.id))).all()
        assert [(a.status_code, a.error) for a in logged] == [(500, "HTTP 500"), (503, "HTTP 503"), (200, None)]
        assert all(a.duration_ms >= 0 for a in logged)
        assert session.get(WebhookEndpoint, endpoint.id).failing_since is None  # type: ignore[union-attr]


def test_a_failed_attempt_is_due_again_after_its_backoff(office: Office, settings: Settings) -> None:
    slow = settings.model_copy(update={"webhook_retry_base": 600.0, "webhook_retry_max_delay": 3600.0})
    with running_receiver(answers=[500]) as receiver:
        endpoint = register(slow, office.post, receiver.url)
        submit_and_draft(slow, office.post)
        (pending,) = deliveries(slow, endpoint)
        assert attempt(slow, pending.id) is not None
        assert attempt(slow, pending.id) is None  # not due for 5-10 minutes
        (planned,) = deliveries(slow, endpoint)
        wait = as_utc(planned.next_attempt_at) - utcnow()
        assert planned.status == DeliveryStatus.PENDING and timedelta(minutes=4) < wait <= timedelta(minutes=10)


def test_backoff_grows_exponentially_with_jitter_and_spans_more_than_a_day() -> None:
    settings = Settings()
    delays = [delivery.retry_delay(settings, n) for n in range(1, 12)]
    for n, delay in enumerate(delays, start=1):
        nominal = min(settings.webhook_retry_base * 2 ** (n - 1), settings.webhook_retry_max_delay)
        assert nominal / 2 <= delay <= nominal
    assert len({round(delivery.retry_delay(settings, 3), 6) for _ in range(20)}) > 1  # jittered
    assert settings.webhook_retry_hours >= 24


def test_the_sweeper_sends_a_lost_delivery_and_a_due_retry(office: Office, settings: Settings,
                                                          receiver: Receiver) -> None:
    class Queue:
        sent: list[uuid.UUID] = []

        def deliver(self, delivery_id: uuid.UUID) -> bool:
            self.sent.append(delivery_id)
            return True

    endpoint = register(settings, office.post, receiver.url)
    submit_and_draft(settings, office.post)
    (pending,) = deliveries(settings, endpoint)
    queue = Queue()
    with session_scope(settings) as session:  # just committed: its own send is not lost yet
        assert resend_due(session, queue, utcnow(), lost_after=60, batch=10) == 0
    with session_scope(settings) as session:
        assert resend_due(session, queue, utcnow() + timedelta(seconds=61), lost_after=60, batch=10) == 1
        assert resend_due(session, queue, utcnow() + timedelta(seconds=62), lost_after=60, batch=10) == 0
    assert queue.sent == [pending.id]


def fail_for_three_days(settings: Settings, endpoint: WebhookEndpoint, post: Client) -> None:
    """A delivery to endpoint (whose receiver answers 500) fails after three days of failures: it is disabled."""
    submit_and_draft(settings, post)
    with session_scope(settings) as session:
        row = session.get(WebhookEndpoint, endpoint.id)
        assert row is not None
        row.failing_since = utcnow() - timedelta(hours=72, minutes=1)
        session.add(row)
        session.commit()
    (pending,) = deliveries(settings, endpoint)
    attempt(settings, pending.id)


def test_an_endpoint_failing_for_three_days_is_disabled_with_its_reason(office: Office, settings: Settings) -> None:
    with running_receiver(answers=[500]) as receiver:
        endpoint = register(settings, office.official, receiver.url)
        fail_for_three_days(settings, endpoint, office.post)
    with session_scope(settings) as session:
        (shown,) = endpoints.client_endpoints(session, office.official)
    assert shown.disabled_at is not None
    assert shown.disabled_reason is not None and "Dinonaktifkan" in shown.disabled_reason
    assert "HTTP 500" in shown.disabled_reason
    assert deliveries(settings, endpoint)[0].status == DeliveryStatus.FAILED
    letter = submit_and_draft(settings, office.post)  # a disabled endpoint hears nothing more
    assert all(d.letter_id != letter.id for d in deliveries(settings, endpoint))


def test_a_disabled_endpoint_enabled_again_hears_the_next_event_and_its_failed_delivery_can_be_sent(
        office: Office, settings: Settings) -> None:
    with running_receiver(answers=[500, 500]) as receiver:  # broken for two deliveries, then mended
        endpoint = register(settings, office.official, receiver.url)
        fail_for_three_days(settings, endpoint, office.post)
        (given_up,) = deliveries(settings, endpoint)
        with session_scope(settings) as session:
            with pytest.raises(WrongStatus):  # not while it is disabled
                endpoints.retry_delivery(session=session, client=office.official, endpoint_id=endpoint.id,
                                         delivery_id=given_up.id)
            with pytest.raises(NotFound):  # someone else's endpoint
                endpoints.enable_endpoint(session=session, client=office.post, endpoint_id=endpoint.id)
            enabled = endpoints.enable_endpoint(session=session, client=office.official, endpoint_id=endpoint.id)
            assert (enabled.disabled_at, enabled.disabled_reason, enabled.failing_since) == (None, None, None)

        letter = submit_and_draft(settings, office.post)  # heard again
        (new,) = [d for d in deliveries(settings, endpoint) if d.letter_id == letter.id]
        attempt(settings, new.id)  # its first failure begins a new streak, not the old three days'
        with session_scope(settings) as session:
            (shown,) = endpoints.client_endpoints(session, office.official)
            assert shown.disabled_at is None and shown.failing_since is not None
            endpoints.retry_delivery(session=session, client=office.official, endpoint_id=endpoint.id,
                                     delivery_id=given_up.id)
        assert attempt(settings, given_up.id) is not None
        assert {d.id: d.status for d in deliveries(settings, endpoint)}[given_up.id] == DeliveryStatus.DELIVERED
        assert len(receiver.requests) == 3


def test_a_delivery_older_than_the_retry_period_is_given_up(office: Office, settings: Settings) -> None:
    with running_receiver(answers=[500]) as receiver:
        endpoint = register(settings, office.post, receiver.url)
        submit_and_draft(settings, office.post)
        (pending,) = deliveries(settings, endpoint)
        with session_scope(settings) as session:
            row = session.get(WebhookDelivery, pending.id)
            assert row is not None
            row.created_at = utcnow() - timedelta(hours=settings.webhook_retry_hours, minutes=1)
            session.add(row)
            session.commit()
        attempt(settings, pending.id)
    (given_up,) = deliveries(settings, endpoint)
    assert given_up.status == DeliveryStatus.FAILED and given_up.attempts == 1


def test_delivery_time_check_refuses_an_address_allowed_at_registration(office: Office, settings: Settings) -> None:
    """Registered while the LAN was allowed; delivered with it off: refused, and the receiver never contacted."""
    with running_receiver() as receiver:
        endpoint = register(settings, office.post, receiver.url)
        submit_and_draft(settings, office.post)
        (pending,) = deliveries(settings, endpoint)
        strict = settings.model_copy(update={"webhook_allow_private": False})
        outcome = attempt(strict, pending.id)
        assert receiver.requests == []
    assert outcome is not None and outcome.status_code is None and "loopback" in str(outcome.error)


def test_a_failed_letter_is_announced_with_its_status_and_no_number(office: Office, settings: Settings,
                                                                    receiver: Receiver) -> None:
    from shared.letters.workflow.attempts import fail_letter
    from shared.models import LetterStatus

    endpoint = register(settings, office.official, receiver.url, ["letter.failed"])
    body = example_request(load_catalog(settings.templates_dir).types["sktm"])
    with session_scope(settings) as session:
        letter = lifecycle.submit_letter(session=session, settings=settings, client=office.post, body=body)
    with session_scope(settings) as session:
        assert fail_letter(session, letter_id=letter.id, source=LetterStatus.SUBMITTED, error="boom", attempts=5)
    (pending,) = deliveries(settings, endpoint)
    assert pending.event == "letter.failed"
    assert pending.payload["data"] == {"id": str(letter.id), "type": "sktm", "status": "failed", "number": None}
    assert "boom" not in json.dumps(pending.payload)  # server detail stays with the officials' API

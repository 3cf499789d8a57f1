"""Attempt leases on SQLite and PostgreSQL: held and renewed while a step runs, and what the sweeper does when
one runs out (its worker died) or does not (its worker is busy). Messages go to a Redis database of the test's own."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, update

from shared.config import Settings
from shared.db import session_scope
from shared.letters.workflow import lifecycle
from shared.letters.workflow.attempts import STOPPED_UNREPORTED, begin_attempt, run_attempt
from shared.letters.workflow.leases import end_lease_in, release_lease, renew_lease
from shared.letters.workflow.states import transition
from shared.letters.workflow.sweeper import SweepReport
from shared.models import Letter, LetterStatus, as_utc, utcnow
from shared.queue import ISSUE_LETTER, RENDER_DRAFT
from tests.conftest import Office
from tests.shared.letters.workflow.test_sweeper import letter_in, run, sent, settings_for


@dataclass(frozen=True)
class Lease:
    attempt: int
    holder: str
    expires_at: datetime


def lease(settings: Settings, letter_id: str) -> Lease | None:
    """The letter's lease as its row holds it, or None."""
    # read-only: on SQLite it reads beside a step's open write transaction instead of waiting for its lock
    with session_scope(settings, read_only=True) as session:
        letter = session.get(Letter, uuid.UUID(letter_id))
    assert letter is not None
    if letter.lease_expires_at is None:
        assert letter.lease_attempt is None and letter.lease_holder is None  # a lease's columns go together
        return None
    assert letter.lease_attempt is not None and letter.lease_holder is not None
    return Lease(letter.lease_attempt, letter.lease_holder, as_utc(letter.lease_expires_at))


def started(settings: Settings, letter_id: str, status: LetterStatus) -> int:
    """An attempt that began (counted, leased) and whose process then died: nobody renews its lease."""
    with session_scope(settings) as session:
        attempt = begin_attempt(session, uuid.UUID(letter_id), status, leased_by=settings)
    assert attempt is not None
    return attempt


def expire_at(settings: Settings, letter_id: str, moment: datetime) -> None:
    with session_scope(settings) as session:
        session.exec(update(Letter).where(col(Letter.id) == uuid.UUID(letter_id)).values(lease_expires_at=moment))
        session.commit()


def test_a_running_step_holds_a_lease_its_heartbeat_renews_and_releases_at_the_end(office: Office) -> None:
    settings = office.settings.model_copy(update={"attempt_lease": 1.0})  # a beat every 0.25 s
    letter_id = letter_in(office, "submitted")
    seen: list[tuple[int, datetime, datetime]] = []

    def slow_step(*, session: Session, settings: Settings, letter_id: uuid.UUID) -> bool:
        for _ in range(10):  # 3 s: three times the lease, so only renewals keep it live
            time.sleep(0.3)
            found = lease(settings, str(letter_id))
            assert found is not None
            seen.append((found.attempt, utcnow(), found.expires_at))
        return True

    assert run_attempt(settings=settings, letter_id=uuid.UUID(letter_id), source=LetterStatus.SUBMITTED,
                       step=slow_step) is True
    assert {attempt for attempt, _, _ in seen} == {1}
    assert all(expires > now for _, now, expires in seen)  # never ran out while the step ran
    assert seen[-1][2] - seen[0][2] > timedelta(seconds=2)  # pushed on, not taken once
    assert lease(settings, letter_id) is None


def test_a_step_that_moves_its_letter_on_leaves_no_lease_behind(office: Office) -> None:
    """Released by the step's own last commit (which transaction: test_step_statements)."""
    settings, letter_id = office.settings, letter_in(office, "submitted")
    assert run_attempt(settings=settings, letter_id=uuid.UUID(letter_id), source=LetterStatus.SUBMITTED,
                       step=lifecycle.render_draft) == LetterStatus.AWAITING_APPROVAL
    assert lease(settings, letter_id) is None


def test_a_lease_the_step_meant_to_end_in_a_commit_that_never_came_is_still_released(office: Office) -> None:
    settings, letter_id = office.settings, letter_in(office, "submitted")

    def step_failing_before_its_commit(*, session: Session, settings: Settings, letter_id: uuid.UUID) -> bool:
        end_lease_in(session)  # as a step does beside the status change it is about to commit
        assert lease(settings, str(letter_id)) is not None
        raise ValueError("gagal sebelum commit")

    assert run_attempt(settings=settings, letter_id=uuid.UUID(letter_id), source=LetterStatus.SUBMITTED,
                       step=step_failing_before_its_commit) is None
    assert lease(settings, letter_id) is None  # no commit ended it: the attempt's own release did
    with session_scope(settings) as session:  # the step's own error, not a lock the check above waited for
        assert session.get(Letter, uuid.UUID(letter_id)).last_error == (  # type: ignore[union-attr]
            "ValueError: gagal sebelum commit")


def test_a_lease_that_ran_out_gets_the_step_sent_again_at_once_and_once(office: Office, redis_db: int) -> None:
    settings = settings_for(office, redis_db, attempt_lease=10.0)  # idle letters: 100 s
    draft, issue = letter_in(office, "submitted"), letter_in(office, "approved")
    started(settings, draft, LetterStatus.SUBMITTED), started(settings, issue, LetterStatus.APPROVED)
    assert run(settings, 9) == SweepReport() and sent(redis_db) == []  # leases still live
    assert run(settings, 11).requeued == 2  # 11 s, not the 100 s an idle letter waits
    assert sorted(sent(redis_db)) == sorted([(RENDER_DRAFT, draft), (ISSUE_LETTER, issue)])
    assert lease(settings, draft) is None and lease(settings, issue) is None
    assert run(settings, 12).requeued == 0 and sent(redis_db) == []  # handled: now an ordinary waiting letter
    with session_scope(settings) as session:
        assert session.get(Letter, uuid.UUID(draft)).attempts == 1  # type: ignore[union-attr]


def test_a_live_lease_keeps_the_sweeper_away_however_long_the_step_runs(office: Office, redis_db: int) -> None:
    settings = settings_for(office, redis_db)
    letter_id = letter_in(office, "approved")
    started(settings, letter_id, LetterStatus.APPROVED)
    expire_at(settings, letter_id, utcnow() + timedelta(hours=1))  # a heartbeat that keeps renewing
    assert run(settings, 101).requeued == 0 and run(settings, 500).requeued == 0
    assert sent(redis_db) == []


def test_an_abandoned_last_attempt_fails_the_letter_at_once(office: Office, redis_db: int) -> None:
    settings = settings_for(office, redis_db, attempt_lease=10.0)  # 3 attempts; task_time_limit 90
    letter_id = letter_in(office, "approved", attempts=2)
    started(settings, letter_id, LetterStatus.APPROVED)
    report = run(settings, 11)
    assert (report.failed, report.requeued) == (1, 0) and sent(redis_db) == []
    with session_scope(settings) as session:
        failed = session.get(Letter, uuid.UUID(letter_id))
        assert (failed.status, failed.attempts, failed.last_error) == (  # type: ignore[union-attr]
            "failed", 3, STOPPED_UNREPORTED)


def test_any_change_of_status_ends_the_lease_so_the_sweeper_sends_nothing(office: Office, redis_db: int) -> None:
    settings = settings_for(office, redis_db, attempt_lease=10.0)
    letter_id = letter_in(office, "approved")
    started(settings, letter_id, LetterStatus.APPROVED)
    with session_scope(settings) as session:  # the step's commit, as any status change; then its process died
        assert transition(session, uuid.UUID(letter_id), source=LetterStatus.APPROVED, target=LetterStatus.ISSUED)
        session.commit()
    assert lease(settings, letter_id) is None
    assert run(settings, 11) == SweepReport() and sent(redis_db) == []


def test_a_late_heartbeat_or_release_of_the_draft_step_leaves_the_issue_steps_lease_alone(office: Office) -> None:
    """Attempt numbers start again at each status: the draft step's attempt 1 and the issue step's attempt 1 are
    told apart by the status they start from."""
    settings, letter_id = office.settings, letter_in(office, "submitted")
    assert started(settings, letter_id, LetterStatus.SUBMITTED) == 1  # then its process froze
    with session_scope(settings) as session:  # another attempt made the draft; an official approved it
        for source, target in ((LetterStatus.SUBMITTED, LetterStatus.AWAITING_APPROVAL),
                               (LetterStatus.AWAITING_APPROVAL, LetterStatus.APPROVED)):
            assert transition(session, uuid.UUID(letter_id), source=source, target=target)
        session.commit()
    assert started(settings, letter_id, LetterStatus.APPROVED) == 1
    taken = lease(settings, letter_id)
    # the frozen draft attempt wakes up: its heartbeat renews nothing, and its release ends nothing
    assert renew_lease(settings, uuid.UUID(letter_id), 1, LetterStatus.SUBMITTED.value) is False
    release_lease(settings, uuid.UUID(letter_id), 1, LetterStatus.SUBMITTED.value)
    assert lease(settings, letter_id) == taken
    assert renew_lease(settings, uuid.UUID(letter_id), 1, LetterStatus.APPROVED.value) is True


def test_a_second_message_while_an_attempt_holds_a_live_lease_begins_no_attempt(office: Office) -> None:
    """A letter that waited long in the queue gets a second message from the sweeper; if it arrives while the
    first attempt runs, it neither runs the step beside it nor counts an attempt."""
    settings, letter_id = office.settings, letter_in(office, "approved")
    assert started(settings, letter_id, LetterStatus.APPROVED) == 1
    with session_scope(settings) as session:
        assert begin_attempt(session, uuid.UUID(letter_id), LetterStatus.APPROVED, leased_by=settings) is None
    ran: list[uuid.UUID] = []
    assert run_attempt(settings=settings, letter_id=uuid.UUID(letter_id), source=LetterStatus.APPROVED,
                       step=lambda **kwargs: ran.append(kwargs["letter_id"])) is False
    assert ran == []
    with session_scope(settings) as session:
        assert session.get(Letter, uuid.UUID(letter_id)).attempts == 1  # type: ignore[union-attr]
    assert lease(settings, letter_id).attempt == 1  # type: ignore[union-attr]  # the running one's, untouched
    expire_at(settings, letter_id, utcnow() - timedelta(seconds=1))  # its worker died: the lease ran out
    assert started(settings, letter_id, LetterStatus.APPROVED) == 2


def test_a_later_attempt_takes_the_lease_and_the_earlier_heartbeat_stops(office: Office) -> None:
    settings, letter_id = office.settings, letter_in(office, "submitted")
    first = started(settings, letter_id, LetterStatus.SUBMITTED)
    expire_at(settings, letter_id, utcnow() - timedelta(seconds=1))  # the first one hung: its lease ran out
    second = started(settings, letter_id, LetterStatus.SUBMITTED)  # and the step was sent again
    assert (first, second) == (1, 2)
    assert renew_lease(settings, uuid.UUID(letter_id), first, LetterStatus.SUBMITTED.value) is False
    assert renew_lease(settings, uuid.UUID(letter_id), second, LetterStatus.SUBMITTED.value) is True
    assert lease(settings, letter_id).attempt == 2  # type: ignore[union-attr]


def test_the_heartbeat_renews_from_its_own_thread_while_the_step_blocks(office: Office) -> None:
    """A step stuck in one call (here a wait on an event) does not stop the lease from being renewed."""
    settings = office.settings.model_copy(update={"attempt_lease": 1.0})
    letter_id, release = letter_in(office, "submitted"), threading.Event()

    def blocked(**_: Any) -> bool:
        return release.wait(timeout=10)

    worker = threading.Thread(target=run_attempt, kwargs={"settings": settings, "letter_id": uuid.UUID(letter_id),
                                                          "source": LetterStatus.SUBMITTED, "step": blocked})
    worker.start()
    try:
        time.sleep(2.5)  # two and a half leases
        held = lease(settings, letter_id)
        assert held is not None and held.expires_at > utcnow()
    finally:
        release.set()
        worker.join(timeout=10)
    assert lease(settings, letter_id) is None

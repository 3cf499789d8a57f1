"""Recovery after killed workers, on the deployment as docker-compose.yml runs it: PostgreSQL and Redis, the
compose commands, and the sweeper on its own defaults (SWEEP_INTERVAL 10 s, SWEEP_STUCK_AFTER 60 s,
ATTEMPT_LEASE 10 s, LEASE_CHECK_INTERVAL 2 s). Nothing here shortens a threshold."""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from shared.db import get_engine, session_scope
from shared.models import Letter, as_utc, utcnow
from tests.conftest import Stack, compose_args, running_stack
from tests.worker.batch import (
    approve_all,
    assert_village_numbers_gap_free,
    event_times,
    issued_events,
    numbering_blocked,
    progress,
    sequences,
    submit_many,
    wait_all,
)

pytestmark = pytest.mark.timeout(240)

PICKED_UP_WITHIN = timedelta(seconds=15)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory, postgres_available: None,
             redis_available: None) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("deployed"), services=True) as stack:
        yield stack
        get_engine(stack.settings()).dispose()


def start_compose_worker(stack: Stack) -> datetime:
    """`suratdesa worker` as compose runs it; the moment (UTC) its log says it is ready to consume."""
    before = stack.log("worker").count(" ready.") if (stack.home / "worker.log").exists() else 0
    stack.start("worker", *compose_args("worker"))
    deadline = time.monotonic() + 60
    while stack.log("worker").count(" ready.") == before:
        assert time.monotonic() < deadline, stack.log("worker")[-2000:]
        time.sleep(0.05)
    return utcnow()


def test_letters_of_sigkilled_workers_are_picked_up_within_15_s_of_a_new_worker(deployed: Stack) -> None:
    ids = submit_many(deployed, 30)
    wait_all(deployed, ids, "awaiting_approval", timeout=90)
    approve_all(deployed, ids, parallel=10)
    deadline = time.monotonic() + 60
    while True:  # mid-batch: some letters issued, and an attempt running right now
        now = progress(deployed, ids)
        issued = sum(status == "issued" for status, _ in now.values())
        if issued >= 3 and any(status == "approved" and attempts for status, attempts in now.values()):
            break
        assert time.monotonic() < deadline, deployed.log("worker")[-2000:]
        time.sleep(0.02)
    deployed.stop("worker", signal.SIGKILL)  # the main process and its pool children
    # letters whose attempt had begun and not finished: their worker died under them
    orphaned = [i for i, (status, attempts) in progress(deployed, ids).items() if status == "approved" and attempts]
    assert orphaned, "no attempt was running when the workers died; the test proved nothing"
    assert sum(status == "issued" for status, _ in progress(deployed, ids).values()) < 30

    ready = start_compose_worker(deployed)
    wait_all(deployed, ids, "issued", timeout=90)

    assert issued_events(deployed, ids) == {letter_id: 1 for letter_id in ids}
    assert len(set(sequences(deployed, ids))) == 30
    assert_village_numbers_gap_free(deployed)
    issued_at = event_times(deployed, orphaned, "issued")
    after_ready = {i: (issued_at[i][0] - ready).total_seconds() for i in orphaned}
    assert max(after_ready.values()) < PICKED_UP_WITHIN.total_seconds(), after_ready


def lease_expiry(stack: Stack, letter_id: str) -> datetime | None:
    with session_scope(stack.settings()) as session:
        letter = session.get(Letter, uuid.UUID(letter_id))
        assert letter is not None
        return as_utc(letter.lease_expires_at)


def test_a_busy_workers_letter_is_not_sent_again_while_its_step_runs(deployed: Stack) -> None:
    [letter_id] = submit_many(deployed, 1)
    wait_all(deployed, [letter_id], "awaiting_approval", timeout=30)
    sweeper_log = len(deployed.log("sweeper"))
    with numbering_blocked(deployed):
        approve_all(deployed, [letter_id])
        deadline = time.monotonic() + 20
        while progress(deployed, [letter_id])[letter_id] != ("approved", 1):
            assert time.monotonic() < deadline, deployed.log("worker")[-2000:]
            time.sleep(0.05)
        expiries = []
        step_until = time.monotonic() + 22  # more than two leases of 10 s, two sweeps of the 10 s interval
        while time.monotonic() < step_until:
            expiry = lease_expiry(deployed, letter_id)
            assert expiry is not None and expiry > utcnow(), "the busy attempt's lease ran out"
            expiries.append(expiry)
            time.sleep(1)
        assert progress(deployed, [letter_id])[letter_id] == ("approved", 1)  # still in its first attempt
    wait_all(deployed, [letter_id], "issued", timeout=30)

    assert max(expiries) - min(expiries) > timedelta(seconds=15)  # renewed all along, past the first lease's end
    with session_scope(deployed.settings()) as session:
        letter = session.get(Letter, uuid.UUID(letter_id))
        assert letter is not None and letter.requeued_at is None
    assert letter_id not in deployed.log("sweeper")[sweeper_log:]
    # one message, one run: a second message would have been taken by the worker's other process
    assert deployed.log("worker").count(f"issue_letter {letter_id}:") == 1
    assert issued_events(deployed, [letter_id]) == {letter_id: 1}
    assert lease_expiry(deployed, letter_id) is None

"""What README "Reliability" promises of the worker, checked on running workers over Redis and PostgreSQL:
late acks and one message per process, the visibility timeout against a retry's wait plus the hard limit,
backoff with jitter on transient errors, and the soft and hard time limits."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from services.worker.tasks import issue_letter, render_draft
from shared.config import Settings
from shared.db import get_engine, session_scope
from shared.models import Letter
from shared.queue import celery_config, make_celery
from tests.conftest import Stack, free_port, running_stack
from tests.worker.batch import approve_all, issued_events, numbering_blocked, progress, submit_many, wait_all

pytestmark = pytest.mark.timeout(180)

# The numbers README states: a task runs at most TASK_TIME_LIMIT (90 s by default) and a retried message
# waits unacked at most RETRY_BACKOFF_MAX (60 s) for its countdown.
HARD_LIMIT, LONGEST_COUNTDOWN = 90, 60


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, postgres_available: None,
          redis_available: None) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("guarantees"), services=True) as running:
        yield running
        get_engine(running.settings()).dispose()


@contextmanager
def other_worker(stack: Stack, name: str, *args: str, **env: str) -> Iterator[None]:
    """The stack's own worker stopped, and `worker ARGS` with env instead; the stack's worker back afterwards."""
    stack.stop("worker")
    stack.start(name, "worker", *args, env=env)
    try:
        yield
    finally:
        stack.stop(name)
        stack.start_worker("worker")


def wait_log(stack: Stack, name: str, pattern: str, count: int = 1, timeout: float = 60) -> list[str]:
    """The lines of NAME's log matching pattern, once there are count of them."""
    deadline = time.monotonic() + timeout
    while len(found := re.findall(pattern, stack.log(name))) < count:
        assert time.monotonic() < deadline, f"{pattern!r} not {count}x in {name}:\n{stack.log(name)[-3000:]}"
        time.sleep(0.2)
    return found


def live_worker(stack: Stack) -> tuple[dict[str, Any], dict[str, Any]]:
    """The running worker's configuration and statistics, as it answers over the broker."""
    # one worker answers: with limit=1 a call returns on its reply instead of waiting out the timeout for others
    inspect = make_celery(stack.settings(), name="inspector").control.inspect(timeout=5, limit=1)
    deadline = time.monotonic() + 30
    while not (conf := inspect.conf()):
        assert time.monotonic() < deadline, stack.log("worker")[-2000:]
    [(_node, config)] = conf.items()
    [(_node, stats)] = inspect.stats().items()
    return config, stats


def test_the_running_worker_acks_late_and_takes_one_message_per_process(stack: Stack) -> None:
    config, stats = live_worker(stack)
    assert config["task_acks_late"] is True and config["task_reject_on_worker_lost"] is True
    assert config["worker_prefetch_multiplier"] == 1
    assert stats["pool"]["max-concurrency"] == 2 and stats["prefetch_count"] == 2  # one per pool process
    assert config["accept_content"] == ["json"] and config["task_serializer"] == "json"
    assert (config["task_soft_time_limit"], config["task_time_limit"]) == (60, HARD_LIMIT)
    assert config["worker_max_tasks_per_child"] == 1000  # a pool process's slow memory creep stays bounded


def test_the_running_worker_consumes_through_the_redis_transport_suratdesa_chooses(stack: Stack) -> None:
    """Celery's command line reads our BROKER_URL variable as its own --broker option, which outranked the app's
    broker_url: the worker ran kombu's stock transport, without RedisBrokerTransport's client per pool or its
    close that survives a connection lost mid-read (shared.queue)."""
    transport = wait_log(stack, "worker", r"transport:\s+(\S+)")[-1]  # the connection its banner names
    assert transport.startswith("suratdesa-redis://"), transport


def test_the_visibility_timeout_outlasts_a_retrys_countdown_plus_the_hard_limit(stack: Stack) -> None:
    config, _ = live_worker(stack)
    assert render_draft.retry_backoff_max == issue_letter.retry_backoff_max == LONGEST_COUNTDOWN
    assert config["broker_transport_options"]["visibility_timeout"] > LONGEST_COUNTDOWN + HARD_LIMIT  # 150 s
    # the API and the sweeper (producers) set the same, and a longer hard limit moves it along
    settings = stack.settings()
    assert celery_config(settings, producer=True)["broker_transport_options"]["visibility_timeout"] == (
        config["broker_transport_options"]["visibility_timeout"])
    longer = Settings(suratdesa_home=settings.suratdesa_home, broker_url=settings.broker_url, task_time_limit=600)
    assert celery_config(longer)["broker_transport_options"]["visibility_timeout"] > 600 + 60


def retry_countdowns(log: str) -> dict[str, list[int]]:
    """Each task's retry countdowns in seconds, in order, from Celery's log lines
    "Task suratdesa.render_draft[<task id>] retry: Retry in <countdown>s: OperationalError(...)"."""
    countdowns: dict[str, list[int]] = {}
    for task_id, seconds in re.findall(r"render_draft\[([0-9a-f-]+)\] retry: Retry in (\d+)s", log):
        countdowns.setdefault(task_id, []).append(int(seconds))
    return countdowns


def test_a_transient_error_is_retried_with_exponential_backoff_and_jitter(stack: Stack) -> None:
    """The worker's database is a closed port: every task's first query fails with an OperationalError."""
    dead = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none"
    # one process, so each task's retries are logged in the order they ran
    with other_worker(stack, "worker-no-db", "--concurrency", "1", DATABASE_URL=dead):
        ids = submit_many(stack, 3)
        deadline = time.monotonic() + 60
        while len(countdowns := retry_countdowns(stack.log("worker-no-db"))) < 3 or any(
                len(waits) < 4 for waits in countdowns.values()):
            assert time.monotonic() < deadline, countdowns
            time.sleep(0.2)
        assert {status_attempts for status_attempts in progress(stack, ids).values()} == {("submitted", 0)}
    assert len(countdowns) == 3
    firsts = [waits[:4] for waits in countdowns.values()]
    # retry n waits a random whole number of seconds from 0 to 2**n (full jitter); without jitter: 1, 2, 4, 8
    assert all(0 <= wait <= 2 ** n for sequence in firsts for n, wait in enumerate(sequence)), countdowns
    assert any(sequence != [1, 2, 4, 8] for sequence in firsts), countdowns
    assert len({wait for sequence in firsts for wait in sequence}) > 1, countdowns
    wait_all(stack, ids, "awaiting_approval", timeout=90)  # the stack's own worker renders them


def letter_row(stack: Stack, letter_id: str) -> Letter:
    with session_scope(stack.settings()) as session:
        letter = session.get(Letter, uuid.UUID(letter_id))
        assert letter is not None
        return letter


def test_a_task_over_its_soft_limit_counts_an_error_on_the_letter(stack: Stack) -> None:
    [letter_id] = submit_many(stack, 1)
    wait_all(stack, [letter_id], "awaiting_approval", timeout=30)
    with other_worker(stack, "worker-soft", TASK_SOFT_TIME_LIMIT="2", TASK_TIME_LIMIT="60"):
        with numbering_blocked(stack):
            approve_all(stack, [letter_id])
            wait_log(stack, "worker-soft", r"Soft time limit \(2s\) exceeded for suratdesa\.issue_letter", timeout=30)
        deadline = time.monotonic() + 30
        while letter_row(stack, letter_id).last_error is None:
            assert time.monotonic() < deadline, stack.log("worker-soft")[-3000:]
            time.sleep(0.2)
        letter = letter_row(stack, letter_id)
        assert (letter.status, letter.attempts) == ("approved", 1)
        assert letter.last_error is not None and letter.last_error.startswith("SoftTimeLimitExceeded")
        assert "issue_letter " + letter_id + ": attempt failed" in stack.log("worker-soft")


def test_a_task_over_its_hard_limit_is_killed_and_its_attempt_still_counts(stack: Stack) -> None:
    """No soft limit (0): nothing interrupts the step, and at the hard limit the pool kills its process."""
    [letter_id] = submit_many(stack, 1)
    wait_all(stack, [letter_id], "awaiting_approval", timeout=30)
    with other_worker(stack, "worker-hard", TASK_SOFT_TIME_LIMIT="0", TASK_TIME_LIMIT="3"):
        with numbering_blocked(stack):
            approve_all(stack, [letter_id])
            wait_log(stack, "worker-hard", r"Hard time limit \(3s\) exceeded for suratdesa\.issue_letter", timeout=30)
            wait_log(stack, "worker-hard", r"Process 'ForkPoolWorker-\d+' pid:\d+ exited with 'signal 9 \(SIGKILL\)'",
                     timeout=30)
            letter = letter_row(stack, letter_id)
            assert (letter.status, letter.attempts, letter.last_error) == ("approved", 1, None)
        # The killed attempt's lease runs out unrenewed: the sweeper sends the step again, and it issues the letter.
        # (Not while the counters are held: the killed process's database session lives on, waiting for them
        # with the letter row locked, and a second attempt would wait behind it.)
        stack.wait_for(letter_id, "issued", timeout=45)
        assert stack.log("worker-hard").count(f"issue_letter {letter_id}: issued") == 1
    assert issued_events(stack, [letter_id]) == {letter_id: 1}

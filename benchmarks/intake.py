"""Part 4: `POST /api/v1/letters` under gunicorn, driven by wrk (another process) with benchmarks/post.lua."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.service import cpu_seconds
from tests.conftest import Stack

SCRIPT = Path(__file__).with_name("post.lua")
CONNECTIONS = 16


def wrk(stack: Stack, body: dict[str, Any], seconds: int, connections: int = CONNECTIONS) -> dict[str, Any]:
    """One wrk run against the stack's API: the figures its script prints."""
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk is not installed (make bench installs Debian's wrk when run as root)")
    with tempfile.NamedTemporaryFile("w", suffix=".json") as body_file:
        json.dump(body, body_file)
        body_file.flush()
        env = {**os.environ, "SURATDESA_BODY": body_file.name, "SURATDESA_TOKEN": stack.post_token}
        result = subprocess.run([binary, "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "5s",
                                 "-s", str(SCRIPT), f"{stack.base_url}/api/v1/letters"],
                                env=env, capture_output=True, text=True, timeout=seconds + 60, check=True)
    line = next(line for line in result.stdout.splitlines() if line.startswith("{"))
    figures = json.loads(line)
    return {"connections": connections, "seconds": seconds,
            "requests_per_s": figures["requests"] / (figures["duration_us"] / 1e6),
            "p50_ms": figures["p50_us"] / 1000, "p99_ms": figures["p99_us"] / 1000,
            "non_202": figures["non_202"] + figures["socket_errors"], "requests": figures["requests"]}


def intake(stack: Stack, body: dict[str, Any], seconds: int) -> dict[str, Any]:
    """A short warm-up (every gunicorn worker's connections and caches), then the measured run, with the CPU
    time the API's processes spent per request (a figure that other load on the machine disturbs less)."""
    wrk(stack, body, 2)
    before = cpu_seconds(stack, "api")
    figures = wrk(stack, body, seconds)
    figures["api_cpu_ms_per_request"] = (cpu_seconds(stack, "api") - before) * 1000 / max(1, figures["requests"])
    return figures

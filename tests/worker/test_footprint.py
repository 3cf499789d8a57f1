"""What a worker process loads: the modules only other processes need stay out of its memory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_a_worker_process_does_not_load_the_migration_tooling_or_the_rate_limiter() -> None:
    # alembic (with mako and pygments) is 11 MB a process, and only `suratdesa init` migrates; limits (1.7 MB) only
    # counts the API's and the pages' failures, and the settings check a rate limit with it only when one is given
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, services.worker.app, services.worker.tasks; "
                               "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"],
        capture_output=True, text=True, check=True).stdout.split()
    assert "celery" in loaded and "reportlab" in loaded  # the worker as it runs
    assert not {"alembic", "mako", "pygments", "limits"} & set(loaded)


def frozen_after(code: str, env: dict[str, str] | None = None) -> int:
    """How many objects the garbage collector no longer walks once code has run in a new interpreter."""
    return int(subprocess.run([sys.executable, "-c", f"import gc; {code}; print(gc.get_freeze_count())"],
                              capture_output=True, text=True, check=True, env=env).stdout.split()[-1])


def test_what_a_worker_and_an_api_process_loaded_stays_out_of_the_collectors_walks(tmp_path: Path) -> None:
    # a full collection walked every module, class and prebuilt statement: 50 to 100 ms in the middle of a task
    loaded = "import services.worker.app, services.worker.tasks; from celery import signals; signals"
    assert frozen_after(f"{loaded}.worker_process_init.send(None)") > 50_000  # a pool process, once forked
    assert frozen_after(f"{loaded}.worker_ready.send(None)") > 50_000  # the main process, once its pool runs
    api = frozen_after("import services.api.wsgi", env={**os.environ, "SURATDESA_HOME": str(tmp_path)})
    assert api > 50_000

"""What a worker process loads: the modules only other processes need stay out of its memory."""

from __future__ import annotations

import subprocess
import sys


def test_a_worker_process_does_not_load_the_migration_tooling() -> None:
    # alembic (with mako and pygments) is 11 MB a process, and only `suratdesa init` migrates
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, services.worker.app, services.worker.tasks; "
                               "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"],
        capture_output=True, text=True, check=True).stdout.split()
    assert "celery" in loaded and "reportlab" in loaded  # the worker as it runs
    assert not {"alembic", "mako", "pygments"} & set(loaded)

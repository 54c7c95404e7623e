"""How the engine starts a job's process: the environment it adds for jobs sharing the cores."""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from engine.process import run_process

WAITS = "os.environ.get('OMP_WAIT_POLICY'), os.environ.get('GOMP_SPINCOUNT')"
SHOW_WAIT = [sys.executable, "-c", f"import os; print({WAITS})"]


def test_jobs_thread_pools_spin_briefly_then_sleep_unless_the_job_says_otherwise(
    tmp_path: Path,
) -> None:
    """Jobs running at once share this machine's cores (each has its own instance on
    SageMaker): OpenMP's waiting threads must not spin long on cores another job needs."""
    log = tmp_path / "log.txt"
    plain = {"PATH": os.environ.get("PATH", "")}
    assert run_process(SHOW_WAIT, log_path=log, env=plain, cwd=tmp_path) == 0
    own = {**plain, "OMP_WAIT_POLICY": "ACTIVE"}  # the job's Environment, or the engine's own
    assert run_process(SHOW_WAIT, log_path=log, env=own, cwd=tmp_path) == 0
    assert printed(log) == ["None 1000", "ACTIVE None"]


def test_a_training_job_keeps_openmps_own_waits_while_no_other_training_job_runs(
    tmp_path: Path,
) -> None:
    """The execution waits on its training job, which has its instance to itself on SageMaker:
    its threads spin as OpenMP's default has them, unless another training job runs beside."""
    plain = {"PATH": os.environ.get("PATH", "")}
    release = tmp_path / "release"
    first_log, log = tmp_path / "first.txt", tmp_path / "log.txt"
    held = tmp_path / "held.py"  # shows its waits, then runs until `release` exists
    held.write_text(
        f"import os, time\nprint({WAITS}, flush=True)\n"
        f"while not os.path.exists({str(release)!r}):\n    time.sleep(0.02)\n"
    )
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(
            run_process,
            [sys.executable, str(held)],
            log_path=first_log,
            env=plain,
            cwd=tmp_path,
            training=True,
        )
        try:  # released however the block ends: a failed assertion must not leave the pool hung
            deadline = time.monotonic() + 30
            while not (first_log.exists() and printed(first_log)) and time.monotonic() < deadline:
                time.sleep(0.02)
            beside = run_process(SHOW_WAIT, log_path=log, env=plain, cwd=tmp_path, training=True)
            assert beside == 0
        finally:
            release.touch()
        assert first.result() == 0
    assert run_process(SHOW_WAIT, log_path=log, env=plain, cwd=tmp_path, training=True) == 0
    assert printed(first_log) == ["None None"]
    assert printed(log) == ["None 1000", "None None"]  # beside the first; then alone


def printed(log: Path) -> list[str]:
    """What the jobs printed, without the engine's command lines."""
    return [line for line in log.read_text().splitlines() if not line.startswith("$ ")]

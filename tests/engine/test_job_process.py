"""How the engine starts a job's process: the environment it adds for jobs sharing the cores."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from engine.process import run_process

SHOW_POLICY = [sys.executable, "-c", "import os; print(os.environ.get('OMP_WAIT_POLICY'))"]


def test_jobs_thread_pools_sleep_while_they_wait_unless_the_job_says_otherwise(
    tmp_path: Path,
) -> None:
    """Jobs running at once share this machine's cores (each has its own instance on
    SageMaker): OpenMP's waiting threads must not spin on cores another job needs."""
    log = tmp_path / "log.txt"
    plain = {"PATH": os.environ.get("PATH", "")}
    assert run_process(SHOW_POLICY, log_path=log, env=plain, cwd=tmp_path) == 0
    own = {**plain, "OMP_WAIT_POLICY": "ACTIVE"}  # the job's Environment, or the engine's own
    assert run_process(SHOW_POLICY, log_path=log, env=own, cwd=tmp_path) == 0
    printed = [line for line in log.read_text().splitlines() if not line.startswith("$ ")]
    assert printed == ["PASSIVE", "ACTIVE"]

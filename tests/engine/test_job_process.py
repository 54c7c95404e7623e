"""How the engine starts a job's process for jobs sharing the cores: OpenMP's waits, turns."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from engine.executors.base import StepFailed
from engine.process import reset, run_process, stop_all

WAITS = "os.environ.get('OMP_WAIT_POLICY'), os.environ.get('GOMP_SPINCOUNT')"
SHOW_WAIT = [sys.executable, "-c", f"import os; print({WAITS})"]
# What a job shows: whether the held job had ended when it started, then its OpenMP waits.
SHOW = f"os.path.exists('ended'), {WAITS}"
PLAIN = {"PATH": os.environ.get("PATH", "")}
SLEEPS = {**PLAIN, "GOMP_SPINCOUNT": "1000"}


def test_jobs_thread_pools_spin_briefly_then_sleep_unless_the_job_says_otherwise(
    tmp_path: Path,
) -> None:
    """Jobs running at once share this machine's cores (each has its own instance on
    SageMaker): OpenMP's waiting threads must not spin long on cores another job needs."""
    log = tmp_path / "log.txt"
    assert run_process(SHOW_WAIT, log_path=log, env=PLAIN, cwd=tmp_path) == 0
    own = {**PLAIN, "OMP_WAIT_POLICY": "ACTIVE"}  # the job's Environment, or the engine's own
    assert run_process(SHOW_WAIT, log_path=log, env=own, cwd=tmp_path) == 0
    assert printed(log) == ["None 1000", "ACTIVE None"]


def test_a_training_job_keeps_openmps_own_waits_and_jobs_started_meanwhile_wait_for_it(
    tmp_path: Path,
) -> None:
    """The execution waits on its training job, which has its instance to itself on SageMaker:
    its threads spin as OpenMP's default has them, and a job beside would cost it more than its
    own time, so jobs started meanwhile (another training job too) wait for it to end."""
    with held_jobs(tmp_path, 3) as pool:
        first, first_log = held_job(pool, tmp_path, "first", training=True)
        training = pool.submit(run_job, tmp_path, "training", training=True)
        processing = pool.submit(run_job, tmp_path, "processing", training=False)
        time.sleep(0.5)
        assert not printed(tmp_path / "training.txt") and not printed(tmp_path / "processing.txt")
        (tmp_path / "release").touch()
        assert first.result() == training.result() == processing.result() == 0
    assert printed(first_log) == ["False None None"]
    # Both started after the first ended; then the training job spun as the first had.
    assert printed(tmp_path / "training.txt") == ["True None None"]
    assert printed(tmp_path / "processing.txt") == ["True None 1000"]
    assert "waits: a training job spins on the cores" in (tmp_path / "training.txt").read_text()


def test_nothing_waits_for_a_training_job_with_its_own_openmp_setting(tmp_path: Path) -> None:
    """It does not spin (the test suite's setting: two workers share the cores)."""
    with held_jobs(tmp_path, 1) as pool:
        first, _ = held_job(pool, tmp_path, "first", training=True, env=SLEEPS)
        assert run_job(tmp_path, "beside", training=False) == 0
        (tmp_path / "release").touch()
        assert first.result() == 0
    assert printed(tmp_path / "beside.txt") == ["False None 1000"]


def test_jobs_waiting_for_a_spinning_training_job_are_refused_when_the_engine_stops(
    tmp_path: Path,
) -> None:
    with held_jobs(tmp_path, 2) as pool:
        first, _ = held_job(pool, tmp_path, "first", training=True)
        waiting = pool.submit(run_job, tmp_path, "waiting", training=False)
        time.sleep(0.3)
        try:
            stop_all()
            with pytest.raises(StepFailed, match="the execution is stopping"):
                waiting.result(timeout=30)
            assert first.result(timeout=30) != 0  # stopped
        finally:
            reset()
    assert not printed(tmp_path / "waiting.txt")


def run_job(folder: Path, name: str, *, training: bool) -> int:
    """Run a job that prints SHOW, logged to `folder/<name>.txt`."""
    argv = [sys.executable, "-c", f"import os; print({SHOW})"]
    log = folder / f"{name}.txt"
    return run_process(argv, log_path=log, env=PLAIN, cwd=folder, training=training)


@contextlib.contextmanager
def held_jobs(folder: Path, workers: int) -> Iterator[ThreadPoolExecutor]:
    """A pool for held jobs, released when the block ends (a failed assertion too)."""
    with ThreadPoolExecutor(workers) as pool:
        try:
            yield pool
        finally:
            (folder / "release").touch()


def held_job(
    pool: ThreadPoolExecutor,
    folder: Path,
    name: str,
    *,
    training: bool,
    env: dict[str, str] = PLAIN,
) -> tuple[Future[int], Path]:
    """Start a job that prints SHOW, runs until `folder/release` exists, then writes
    `folder/ended` and ends; return once it has printed. Its log is `folder/<name>.txt`."""
    script, log = folder / f"{name}.py", folder / f"{name}.txt"
    script.write_text(
        f"import os, time\nprint({SHOW}, flush=True)\n"
        "while not os.path.exists('release'):\n    time.sleep(0.02)\n"
        "open('ended', 'w').close()\n"
    )
    argv = [sys.executable, str(script)]
    job = pool.submit(run_process, argv, log_path=log, env=env, cwd=folder, training=training)
    deadline = time.monotonic() + 30
    while not (log.exists() and printed(log)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return job, log


def printed(log: Path) -> list[str]:
    """What the jobs printed, without the engine's lines (its command, its waiting)."""
    if not log.exists():
        return []
    return [line for line in log.read_text().splitlines() if not line.startswith(("$ ", "[engine"))]

"""Child processes for jobs: each in its own process group, logged to a file, stoppable at once.

A job runs in a new session, so Ctrl-C reaches only the engine, which then stops every running
job's whole process group (a training script's data-loader workers included) with `stop_all`.
It runs under engine/watchdog.py, which kills its group when the engine dies, `kill -9`
included: no job outlives the engine.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from engine.executors.base import StepFailed

CONTAINER_ROOT = "/opt/ml/"
WATCHDOG = Path(__file__).with_name("watchdog.py")
PYTHONS = {"python", "python3"}
TAIL_LINES = 15
GRACE_SECONDS = 5.0  # between SIGTERM and SIGKILL, as SageMaker gives a stopping job time

_running: set[subprocess.Popen[bytes]] = set()
_lock = threading.Lock()
_stopping = threading.Event()


def run_process(
    argv: Sequence[str],
    *,
    log_path: Path,
    env: dict[str, str],
    cwd: Path,
    timeout: float | None = None,
) -> int:
    """Run `argv` with stdout and stderr appended to `log_path`; return its exit code.

    Raises:
        StepFailed: the job ran longer than `timeout` seconds (it is stopped first), or the
            engine is stopping.
    """
    if _stopping.is_set():
        raise StepFailed("the execution is stopping; the job was not started")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        log.write(f"$ {' '.join(argv)}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            [sys.executable, "-S", str(WATCHDOG), str(os.getpid()), *argv],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    with _lock:
        _running.add(proc)
    try:
        code = proc.wait(timeout=timeout)
        _signal_group(proc.pid, signal.SIGKILL)  # a container ends with its entrypoint
        return code
    except subprocess.TimeoutExpired:
        _stop(proc)
        raise StepFailed(
            f"the job ran past its limit of {timeout:g} s (StoppingCondition.MaxRuntimeInSeconds) "
            "and was stopped"
        ) from None
    finally:
        with _lock:
            _running.discard(proc)


def stop_all() -> None:
    """Stop every running job and refuse new ones (Ctrl-C, or the engine is told to stop)."""
    _stopping.set()
    with _lock:
        procs = list(_running)
    for proc in procs:
        _stop(proc)


def reset() -> None:
    """Accept jobs again (a new execution in the same process)."""
    _stopping.clear()


def stopping() -> bool:
    return _stopping.is_set()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    _signal_group(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=GRACE_SECONDS)
    _signal_group(proc.pid, signal.SIGKILL)  # whatever is left of the group, grandchildren too
    proc.wait()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def container_path(text: str, work: Path) -> str:
    """A container path under /opt/ml/ mapped under the job's work folder; other text unchanged."""
    return text.replace(CONTAINER_ROOT, f"{work}{CONTAINER_ROOT}")


def python_argv(argv: Sequence[str], work: Path) -> list[str]:
    """A job's command with container paths mapped and `python3` run by this interpreter."""
    mapped = [container_path(arg, work) for arg in argv]
    if mapped and Path(mapped[0]).name in PYTHONS:
        mapped[0] = sys.executable
    return mapped


def job_failed(job: str, script: str, code: int, log_path: Path, offset: int = 0) -> StepFailed:
    """The failure of a job that exited non-zero: what ran, how it ended, its last log lines."""
    if code < 0:
        ended = f"was killed by signal {signal.Signals(-code).name}"
    else:
        ended = f"exited with code {code}"
    return StepFailed(
        f"{job} ({script}) {ended}\n  last lines of its log:\n"
        + "\n".join(f"    {line}" for line in log_tail(log_path, offset))
        + f"\n  full log: {log_path}"
    )


def log_tail(log_path: Path, offset: int = 0, lines: int = TAIL_LINES) -> list[str]:
    """The last lines a job wrote to its log (from byte `offset`)."""
    with log_path.open("rb") as log:
        log.seek(offset)
        text = log.read().decode(errors="replace")
    return text.rstrip().splitlines()[-lines:]

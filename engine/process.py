"""Child processes for jobs: each in its own process group, logged to a file, stoppable at once.

A job runs in a new session, so Ctrl-C reaches only the engine, which then stops every running
job's whole process group (a training script's data-loader workers included) with `stop_all`.
It runs under engine/watchdog.py, which kills its group when the engine dies, `kill -9`
included: no job outlives the engine. A job given its container filesystem (engine/container_fs.py)
starts the watchdog through engine/namespace.py, which execs it in the same process.
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
from typing import TYPE_CHECKING

from engine.executors.base import StepFailed

if TYPE_CHECKING:
    from engine.container_fs import ContainerFs

WATCHDOG = Path(__file__).with_name("watchdog.py")
TAIL_LINES = 15
GRACE_SECONDS = 5.0  # between SIGTERM and SIGKILL, as SageMaker gives a stopping job time
# On SageMaker each job has its instance's cores to itself; here jobs that run at once share
# this machine's. OpenMP's thread pools (PyTorch's, XGBoost's) spin while they wait for work,
# 300,000 turns by default: fastest for a job alone, ruinous beside another (two PyTorch
# trainings at once, 8,000 digits each, 2 threads on 2 cores: 21 to 43 s spinning, 10 to 11 s
# asleep, 10 to 12 s spinning 1,000 turns then asleep; 2026-12-06). So a job's waiting threads
# spin 1,000 turns (a few microseconds), then sleep; except a training job's while no other
# training job runs: the execution waits on it, and it gets what SageMaker gives it, OpenMP's
# own waits (the MNIST-size floor of bench/scale, 3 epochs: 79 and 87 s spinning, 93 and 96 s
# with 1,000 turns). A job's own OpenMP wait setting, or the engine's environment's, wins.
SHARED_CORES = {"GOMP_SPINCOUNT": "1000"}
OPENMP_WAITS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")

_running: set[subprocess.Popen[bytes]] = set()
_spinning = threading.Lock()  # held by the training job running with OpenMP's own waits
_lock = threading.Lock()
_stopping = threading.Event()


def run_process(
    argv: Sequence[str],
    *,
    log_path: Path,
    env: dict[str, str],
    cwd: Path,
    timeout: float | None = None,
    fs: ContainerFs | None = None,
    training: bool = False,
) -> int:
    """Run `argv` with stdout and stderr appended to `log_path`; return its exit code.

    With `fs` the job runs in that container filesystem, and its inputs are checked after it.
    A `training` job keeps OpenMP's own waits while no other training job runs (see above).

    Raises:
        StepFailed: the job ran longer than `timeout` seconds (it is stopped first), or the
            engine is stopping; or it changed one of its inputs.
    """
    if _stopping.is_set():
        raise StepFailed("the execution is stopping; the job was not started")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    launch = [*(fs.launcher() if fs else []), sys.executable, "-S", str(WATCHDOG), str(os.getpid())]
    own_waits = any(key in env for key in OPENMP_WAITS)
    spins = training and not own_waits and _spinning.acquire(blocking=False)
    with contextlib.ExitStack() as held:
        if spins:
            held.callback(_spinning.release)
        with log_path.open("ab") as log:
            log.write(f"$ {' '.join(argv)}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                [*launch, *argv],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env if spins or own_waits else {**SHARED_CORES, **env},
                cwd=cwd,
                start_new_session=True,
            )
        with _lock:
            _running.add(proc)
        try:
            code = proc.wait(timeout=timeout)
            _signal_group(proc.pid, signal.SIGKILL)  # a container ends with its entrypoint
            if fs:
                fs.check_inputs()
            return code
        except subprocess.TimeoutExpired:
            _stop(proc)
            raise StepFailed(
                f"the job ran past its limit of {timeout:g} s "
                "(StoppingCondition.MaxRuntimeInSeconds) and was stopped"
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

"""Run a component script as SageMaker would: a separate process, container paths remapped."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
SERVING = REPO / "components/model/scripts/serving"


def load_module(path: Path, name: str) -> ModuleType:
    """Import a file as a module of its own, without touching sys.modules."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_serving(name: str) -> ModuleType:
    """The serving package under a name of its own (not `serving`), with its modules."""
    spec = importlib.util.spec_from_file_location(
        name, SERVING / "__init__.py", submodule_search_locations=[str(SERVING)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its modules import each other through the package
    spec.loader.exec_module(module)
    return module


def run_script(
    script: str | Path,
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    check: bool = True,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run `python <script> <args>` with extra environment variables; fail loudly with its output.

    Args:
        script: path of the script, relative to the repository or absolute.
        args: its command-line arguments.
        env: variables added to a copy of this process's environment (SM_* paths, seeds).
        cwd: working directory (default: the repository).
        check: raise AssertionError with stdout/stderr when the exit status is not 0.
        timeout: seconds before the process is killed.
    """
    path = Path(script)
    if not path.is_absolute():
        path = REPO / path
    full_env = {**os.environ, "PYTHONHASHSEED": "0", "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    proc = subprocess.run(
        [sys.executable, str(path), *args],
        env=full_env,
        cwd=cwd or REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{path.name} {' '.join(args)} exited {proc.returncode}\n"
            f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
        )
    return proc


# A scoring or training step's temporaries: ten 3.2 MB blocks, freed together, a hundred times,
# after the job's own set-up code. Prints how many pages the loop faulted in.
_STEPS_PROGRAM = """
import resource, sys
import numpy as np
exec(sys.argv[1])
np.ones(400_000)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(100):
    blocks = [np.ones(400_000) for _ in range(10)]
    del blocks
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults_of_steps(setup: str) -> int:
    """Minor page faults of the step pattern above in a fresh process, after `setup` (Python
    run from the repository's root): about its first touch (7,800 pages) when freed blocks are
    kept, ten times that and more when they are handed back and faulted in again."""
    done = subprocess.run(
        [sys.executable, "-c", _STEPS_PROGRAM, setup],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout.split()[-1])

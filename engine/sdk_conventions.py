"""What the SageMaker Python SDK (2.x) puts into a definition, played on this machine.

A definition built in a notebook names code the SDK packed and uploaded, and scripts of its own
that the SDK's containers would run. The engine runs them as those containers do:

- a training source dir (`sagemaker_submit_directory`) is a tar.gz with the source folder's
  files at its root and `sagemaker_program` among them (a folder the local map names for it is
  packed so: engine/localmap.py); a program that is not a Python file (the SDK's
  `_repack_script_launcher.sh`, which ModelStep and RegisterModel add to repack a model with
  its inference script) runs with /bin/sh, as the training toolkit runs it;
- a FrameworkProcessor job (PyTorchProcessor, TensorFlowProcessor, ...) runs `/bin/bash
  runproc.sh`, a script the SDK writes: unpack `sourcedir.tar.gz` in the code folder, pip
  install its `requirements.txt`, run the entry script. The engine does the same without the
  network: requirements already satisfied by the job's Python are skipped, others fail the step
  naming them (`framework_job`);
- a model the SDK creates names no serving protocol in its environment; its image does
  (engine/serving.py's IMAGE_PROTOCOLS).
"""

from __future__ import annotations

import os
import re
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from engine.executors.base import StepFailed

RUNPROC = "runproc.sh"
SOURCE_ARCHIVE = "sourcedir.tar.gz"
REQUIREMENTS = "requirements.txt"
CHECKER = Path(__file__).with_name("requirements_check.py")
_CD = re.compile(r"^cd\s+(\S+?)/?\s*$", re.MULTILINE)
_RUN = re.compile(r'^(?P<command>\S.*?)\s+(?P<script>\S+)\s+"\$@"\s*$', re.MULTILINE)


def is_shell_program(program: str) -> bool:
    """Whether the training toolkit runs `program` with the shell rather than Python."""
    return not program.endswith(".py")


@dataclass(frozen=True)
class FrameworkJob:
    """A FrameworkProcessor's job as runproc.sh would run it."""

    code_dir: str  # the container folder runproc.sh changes to (the `code` input)
    command: list[str]  # the processor's command, e.g. ["python"]
    script: str  # the entry script, relative to code_dir


def is_framework_job(entrypoint: list[str]) -> bool:
    """Whether a Processing job's entrypoint is a FrameworkProcessor's `bash runproc.sh`."""
    return (
        len(entrypoint) == 2
        and PurePosixPath(entrypoint[0]).name in ("bash", "sh")
        and PurePosixPath(entrypoint[1]).name == RUNPROC
    )


def framework_job(runproc: str, where: str) -> FrameworkJob:
    """What a runproc.sh the SDK wrote does: its `cd` folder and its last command.

    Raises:
        StepFailed: a script not shaped as the SDK writes it.
    """
    cd, run = _CD.search(runproc), _RUN.findall(runproc)
    if cd is None or not run:
        raise StepFailed.because(
            where,
            f"{RUNPROC} is not the script the SDK's FrameworkProcessor writes",
            "the engine plays its steps (unpack sourcedir.tar.gz, check requirements.txt, "
            'run `<command> <script> "$@"`) rather than running bash with the network',
            "build the step with FrameworkProcessor.run(code=..., source_dir=...), or use a "
            "ScriptProcessor whose entrypoint is python3 <script>",
        )
    command, script = run[-1]
    return FrameworkJob(cd.group(1), command.split(), script)


def unpack_sources(archive: Path, dest: Path) -> None:
    """runproc.sh's `tar -xzf sourcedir.tar.gz`, into `dest` rather than the code input (an
    input the job must not change: it may be the engine's S3 object itself)."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")


def check_requirements(python: str, code_dir: Path, where: str) -> None:
    """runproc.sh's `pip install -r requirements.txt`, offline: the job's Python must already
    satisfy every line; nothing is installed.

    Raises:
        StepFailed: the requirements the job's Python lacks, one a line.
    """
    requirements = code_dir / REQUIREMENTS
    if not requirements.is_file():
        return
    done = subprocess.run(
        [python, str(CHECKER), str(requirements)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONNOUSERSITE": "1"},
    )
    if done.returncode != 0:
        missing = done.stdout.strip() or done.stderr.strip()[-400:]
        raise StepFailed.because(
            f"{where}, {REQUIREMENTS} of its source dir",
            f"not satisfied by the job's Python ({python}):\n    "
            + missing.replace("\n", "\n    "),
            "on SageMaker runproc.sh pip-installs them; the local engine never installs "
            "anything (offline, and the job's environment stays as it is)",
            f"install them into that environment (pip install -r {REQUIREMENTS}), or run with "
            "--containers for the image's own stack",
        )

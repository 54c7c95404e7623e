"""How the benchmarks measure a command: wall time, the largest process's peak memory, exit code,
CPU time.

The command runs under a small wrapper process; `getrusage(RUSAGE_CHILDREN).ru_maxrss` there is
the largest resident set any of its descendants reached (each one waited for by its parent, as
the engine waits for its jobs), sampled by the kernel rather than by polling, so no short peak is
missed. On Linux it is in KiB. Its user + system time is the CPU the whole tree used: on a shared
machine a steadier figure than wall time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

WRAPPER = (  # argv: LOG COMMAND...; the command's output goes to LOG
    "import resource, subprocess, sys; "
    "log = open(sys.argv[1], 'wb'); "
    "code = subprocess.run(sys.argv[2:], stdout=log, stderr=subprocess.STDOUT).returncode; "
    "used = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "print(used.ru_maxrss, code, used.ru_utime + used.ru_stime)"
)


@dataclass(frozen=True)
class Measured:
    wall_s: float
    peak_mib: float  # the largest single process's peak resident set
    code: int
    output: str  # what the command printed (stdout and stderr)
    cpu_s: float = 0.0  # CPU seconds of the command and every process under it (user + system)


def measure(
    command: list[str], cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> Measured:
    """Run `command` to its end, keeping what it prints."""
    log = tempfile.NamedTemporaryFile(suffix=".log", delete=False)  # noqa: SIM115
    log.close()
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, log.name, *command],
        cwd=cwd,
        env=None if env is None else {**os.environ, **env},
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    wall = time.monotonic() - started
    peak_kib, code, cpu = done.stdout.split()
    output = Path(log.name).read_text(errors="replace")
    Path(log.name).unlink()
    return Measured(wall, int(peak_kib) / 1024, int(code), output, float(cpu))


def bytes_on_disk(root: Path, exclude: Iterable[Path] = ()) -> int:
    """Bytes of the files under `root`, each inode once, leaving out the inodes of `exclude`.

    Hard links to the input (or between jobs) cost no bytes, so they count once or not at all.
    """
    seen = {(s.st_dev, s.st_ino) for s in (p.stat() for p in exclude)}
    total = 0
    for path in root.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        stat = path.stat()
        if (stat.st_dev, stat.st_ino) not in seen:
            seen.add((stat.st_dev, stat.st_ino))
            total += stat.st_size
    return total

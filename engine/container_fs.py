"""A job's container filesystem: `/opt/ml/...` as real paths, inputs without copies.

Two ways, chosen once per engine process (`--container-paths`, or `$ENGINE_CONTAINER_PATHS`:
auto, namespace, rewrite; auto takes a namespace where the system allows one):
- namespace: the job runs in a private mount namespace (engine/namespace.py: as root, or in an
  unprivileged user namespace) with a tmpfs over /opt, its folder `<work>/opt/ml` bound at
  /opt/ml and each input bound read-only at its container path. The job sees the paths its
  definition names, as on SageMaker, and cannot change an input's original, even as root.
- rewrite: container paths are rewritten under the job's folder in its command line, arguments
  and environment (a script that opens `/opt/ml/...` itself cannot work). Each input is
  hard-linked (its original made read-only), copied only across file systems, and checked after
  the job: a job that changed an original fails its step.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.executors.base import StepFailed
from engine.s3 import S3

CONTAINER_ROOT = "/opt/ml/"
COVERED = "/opt"  # the tmpfs goes over /opt: /opt/ml need not exist on the machine
MODE_VARIABLE = "ENGINE_CONTAINER_PATHS"
MODES = ("auto", "namespace", "rewrite")
LAUNCHER = Path(__file__).with_name("namespace.py")
REWRITE_LIMITS = (
    "container paths are rewritten only in each job's command line, arguments and environment; "
    "a script that opens a container path itself (open('/opt/ml/processing/input/data.csv'), "
    "a model saved to '/opt/ml/model') fails with FileNotFoundError here, though it works on "
    "SageMaker"
)

_chosen: list[str] = []  # the mode set by the command line, over the environment variable
_warned = threading.Event()


class ContainerPathsError(StepFailed):
    """A mode that is not one of MODES, or `namespace` where the system allows none."""


def choose(mode: str) -> None:
    """Take `mode` for every job of this process (the `--container-paths` option)."""
    if mode not in MODES:
        raise ContainerPathsError(f"--container-paths {mode!r}: use one of {', '.join(MODES)}")
    _chosen[:] = [mode]


def mode() -> str:
    return _chosen[0] if _chosen else os.environ.get(MODE_VARIABLE) or "auto"


def namespace_kind() -> str | None:
    """How jobs get a mount namespace ("root" or "user"), or None: they get their paths
    rewritten (and the reason is said once, on stderr).

    Raises:
        ContainerPathsError: mode `namespace` where no kind works, or an unknown mode.
    """
    chosen = mode()
    if chosen not in MODES:
        raise ContainerPathsError(f"${MODE_VARIABLE}={chosen!r}: use one of {', '.join(MODES)}")
    if chosen == "rewrite":
        _warn(f"{MODE_VARIABLE} or --container-paths is rewrite")
        return None
    kind, why = _probe()
    if kind is None and chosen == "namespace":
        raise ContainerPathsError(f"--container-paths namespace: no mount namespace here ({why})")
    if kind is None:
        _warn(why)
    return kind


@functools.cache
def _probe() -> tuple[str | None, str]:
    """The first kind of namespace in which a job sees a folder bound at /opt/ml, or why none."""
    if not sys.platform.startswith("linux"):
        return None, f"mount namespaces are Linux's; this is {sys.platform}"
    why = ""
    with tempfile.TemporaryDirectory(prefix="engine-probe-") as folder:
        Path(folder, "probe").write_text("seen")
        for kind in ("root", "user") if os.geteuid() == 0 else ("user",):
            plan = {"user": kind == "user", "tmpfs": COVERED, "binds": [[folder, "/opt/ml", True]]}
            check = "import sys; sys.exit(open('/opt/ml/probe').read() != 'seen')"
            try:
                done = subprocess.run(
                    [*_launcher(plan), sys.executable, "-S", "-c", check],
                    capture_output=True,
                    text=True,
                    timeout=30,
                )
            except (OSError, subprocess.TimeoutExpired) as error:
                return None, str(error)
            if done.returncode == 0:
                return kind, ""
            why = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
    return None, why


def _warn(why: str) -> None:
    if not _warned.is_set():
        _warned.set()
        print(f"warning: no mount namespace for jobs ({why}): {REWRITE_LIMITS}", file=sys.stderr)


def _launcher(plan: dict[str, object]) -> list[str]:
    return [sys.executable, "-S", str(LAUNCHER), json.dumps(plan), "--"]


@dataclass
class ContainerFs:
    """The container filesystem of one job whose `/opt/ml` is `<work>/opt/ml`.

    Attributes:
        work: the job's folder.
        job: the job as messages name it ("processing job <name>").
        kind: "root"/"user" (a mount namespace) or None (paths rewritten).
        cwd: the container folder the job starts in (namespace only; else the engine's cwd).
    """

    work: Path
    job: str
    kind: str | None = field(default_factory=namespace_kind)
    cwd: str | None = None
    _binds: list[tuple[str, str, bool]] = field(default_factory=list)
    _linked: dict[Path, tuple[int, int, int]] = field(default_factory=dict)
    _uris: dict[Path, str] = field(default_factory=dict)

    def seen(self, text: str) -> str:
        """`text` as the job must see it: unchanged in a namespace, else each container path in
        it mapped under the work folder."""
        if self.kind:
            return text
        return text.replace(CONTAINER_ROOT, f"{self.work}{CONTAINER_ROOT}")

    def host(self, container_path: str) -> Path:
        """Where a container path is in the engine's view (outputs are read from here)."""
        return self.work / container_path.lstrip("/")

    def stage(self, s3: S3, uri: str, container_dir: str) -> None:
        """Give the job the object or prefix at `uri` in folder `container_dir` (S3Prefix: an
        object as <dir>/<its name>, a prefix's objects at their relative paths), no bytes copied.

        Raises:
            FileNotFoundError: nothing exists at the URI.
            S3UriError: not an S3 URI the local S3 holds.
        """
        source = s3.path(uri)
        if not source.exists():
            raise FileNotFoundError(f"no object or prefix at {uri}")
        target = container_dir.rstrip("/") + ("" if source.is_dir() else f"/{source.name}")
        if self.kind:
            self.host(container_dir).mkdir(parents=True, exist_ok=True)
            self._binds.append((str(source), target, True))
            return
        for original in s3.link(uri, self.host(container_dir)):
            self._linked[original] = _identity(original)
            self._uris[original] = s3.uri(original)

    def bind(self, source: Path, container_path: str) -> None:
        """Show a folder the engine made (a model) at `container_path` too, read-only."""
        if self.kind:
            self._binds.append((str(source), container_path, True))

    def launcher(self) -> list[str]:
        """The command that runs a job's argv in this filesystem (nothing when rewriting)."""
        if not self.kind:
            return []
        ml = self.host(CONTAINER_ROOT)
        ml.mkdir(parents=True, exist_ok=True)
        plan = {
            "user": self.kind == "user",
            "tmpfs": COVERED,
            "binds": [[str(ml), CONTAINER_ROOT.rstrip("/"), False], *self._binds],
            "cwd": self.cwd,
        }
        return _launcher(plan)

    def check_inputs(self) -> None:
        """After the job: every hard-linked original is as it was.

        Raises:
            StepFailed: the job wrote into an input (so into the engine's S3 object).
        """
        changed = [
            path
            for path, before in self._linked.items()
            if not path.exists() or _identity(path) != before
        ]
        if changed:
            names = ", ".join(self._uris[path] for path in changed)
            raise StepFailed.because(
                self.job,
                f"the job changed its input {names}",
                "inputs are hard links to the engine's S3 objects (no mount namespace here to "
                "make them read-only), so the object itself changed",
                "write results under an output's LocalPath, never into an input; rerun the step "
                "that wrote the input to restore it",
            )


def _identity(path: Path) -> tuple[int, int, int]:
    stat = path.stat()
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def python_argv(argv: Sequence[str], fs: ContainerFs, python: str = sys.executable) -> list[str]:
    """A job's command as its filesystem needs it, with `python3` run by `python`."""
    mapped = [fs.seen(arg) for arg in argv]
    if mapped and Path(mapped[0]).name in {"python", "python3"}:
        mapped[0] = python
    return mapped

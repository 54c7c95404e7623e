"""`--containers`: each job runs on its image's Python and library versions, in a cached venv.

The stacks come from `kernel/image_environments.json`. A virtual environment is built once per
stack (venv + pip, from an interpreter of the image's Python found on PATH, in pyenv's versions
or by `uv python find`) under `~/.cache/sagemaker-pipeline-compiler/environments/<hash>` (or
`$ENGINE_ENVIRONMENTS`), the hash taken over the stack's spec. It is built in a temporary folder
and renamed into place, so two runs that build it at once both end with one whole environment.
Images the table gives no Python (Model Monitor's closed analyzer) and images it does not hold
run on the engine's own Python, as without `--containers`.

`python -m engine.environments build IMAGE...` builds stacks ahead (the Makefile's install step
builds the one the test suite proves, which then runs offline).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kernel.errors import ProblemError, did_you_mean, one_of
from kernel.image_environments import ImageEnvironment, environment_for, environments, image_key

CACHE_VARIABLE = "ENGINE_ENVIRONMENTS"
DEFAULT_CACHE = Path("~/.cache/sagemaker-pipeline-compiler/environments")
ALL = "all"  # `--containers` alone: every image
_PROBE = "import sys; print('%d.%d' % sys.version_info[:2]); print(sys.executable)"
_BUILD_TIMEOUT = 1800.0


class EnvironmentUnavailable(ProblemError):
    """An image's interpreter or packages cannot be had; where/what/why/fix, exit 2."""


def add_options(command: argparse.ArgumentParser) -> None:
    """`--containers` and `--containers-only REPO,...`, read back by `selected`."""
    command.add_argument(
        "--containers",
        action="store_const",
        const=ALL,
        help="run each job with its image's Python and library versions, in a virtual "
        "environment built once per image (engine/environments.py)",
    )
    command.add_argument(
        "--containers-only",
        dest="containers",
        metavar="REPO,...",
        help="as --containers, for these image repositories only (e.g. "
        "sagemaker-scikit-learn); the other jobs keep the engine's Python",
    )


def selected(value: str | None) -> frozenset[str]:
    """The image repositories (or `all`) an `add_options` value names; empty: off."""
    return frozenset(filter(None, (value or "").split(",")))


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_VARIABLE) or DEFAULT_CACHE).expanduser()


def spec_hash(env: ImageEnvironment) -> str:
    """The cache key: what pip is asked to install, on which Python."""
    spec = {
        "python": env.python,
        "requirements": [p.requirement for p in env.packages],
        "index": env.pip_index,
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def find_interpreter(version: str) -> Path | None:
    """A Python `version` ("3.9") interpreter: on PATH, in pyenv's versions, or from uv.

    Each candidate is run once to check its version (a pyenv shim on PATH may not run) and to
    learn its real path.
    """
    for candidate in _candidates(version):
        probed = _run([candidate, "-c", _PROBE])
        if probed is not None and probed.splitlines()[:1] == [version]:
            return Path(probed.splitlines()[1])
    return None


def _candidates(version: str) -> Iterator[str]:
    on_path = shutil.which(f"python{version}")
    if on_path:
        yield on_path
    pyenv = Path(os.environ.get("PYENV_ROOT") or "~/.pyenv").expanduser() / "versions"
    installed = [p for p in pyenv.glob(f"{version}.*") if p.name[len(version) + 1 :].isdigit()]
    for folder in sorted(installed, key=lambda p: int(p.name.rsplit(".", 1)[1]), reverse=True):
        yield str(folder / "bin" / "python")
    uv = shutil.which("uv")
    found = _run([uv, "python", "find", version]) if uv else None
    if found:
        yield found.strip()


def _run(argv: list[str]) -> str | None:
    """stdout of a quick command, or None when it cannot run or fails."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _python_in(venv: Path) -> Path:
    return venv / "bin" / "python"


def built(env: ImageEnvironment, root: Path) -> Path | None:
    """The interpreter of `env`'s virtual environment under `root`, if it is built."""
    python = _python_in(root / spec_hash(env))
    return python if python.is_file() else None


def build_environment(env: ImageEnvironment, root: Path) -> Path:
    """The interpreter of `env`'s virtual environment under `root`, built if not there yet.

    Raises:
        EnvironmentUnavailable: no interpreter of the image's Python, or pip cannot install.
    """
    assert env.python is not None
    target = root / spec_hash(env)
    if (ready := built(env, root)) is not None:
        return ready
    where = f"image {env.image} (--containers)"
    interpreter = find_interpreter(env.python)
    if interpreter is None:
        raise EnvironmentUnavailable(
            where,
            f"no Python {env.python} interpreter on this machine",
            f"the image runs its jobs with Python {env.python} ({env.python_source})",
            f"install it (`pyenv install {env.python}` or `uv python install {env.python}`), "
            f"or put python{env.python} on PATH; or run without --containers",
        )
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=root))
    try:
        _create(env, interpreter, staging, where)
        try:
            staging.rename(target)
        except OSError:  # another run finished first: keep its environment
            if not _python_in(target).is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return _python_in(target)


def _create(env: ImageEnvironment, interpreter: Path, folder: Path, where: str) -> None:
    requirements = [p.requirement for p in env.packages]
    stack = f"Python {env.python} with {', '.join(requirements) or 'no packages'}"
    _step(
        [str(interpreter), "-m", "venv", *([] if requirements else ["--without-pip"]), str(folder)],
        where,
        f"`{interpreter} -m venv` failed",
        f"the image's stack is {stack}",
        f"repair or reinstall that interpreter (`pyenv install --force {env.python}`)",
    )
    if requirements:
        index = ["--extra-index-url", env.pip_index] if env.pip_index else []
        pip = [str(_python_in(folder)), "-m", "pip", "install", "--disable-pip-version-check"]
        _step(
            [*pip, "--no-input", *index, *requirements],
            where,
            "pip cannot install the image's packages",
            f"the image's stack is {stack}",
            "check the network or pip's configuration (PIP_INDEX_URL); or run without --containers",
        )
    (folder / "image-environment.json").write_text(
        json.dumps({"image": env.image, "interpreter": str(interpreter)}, indent=2) + "\n"
    )


def _step(argv: list[str], where: str, what: str, why: str, fix: str) -> None:
    """Run one build command; its failure, with its last line of output, as a problem."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=_BUILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise EnvironmentUnavailable(
            where, f"{what}: still running after {_BUILD_TIMEOUT:g} s", why, fix
        ) from None
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["(no output)"]
        raise EnvironmentUnavailable(where, f"{what}: {lines[-1]}", why, fix)


@dataclass
class Interpreters:
    """Which Python runs a job of each image: its stack's venv, or the engine's own.

    `selected` holds image repositories (`sagemaker-scikit-learn`) or `all`; empty means off.
    """

    selected: frozenset[str] = frozenset()
    root: Path = field(default_factory=cache_root)
    _built: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def chosen(self, uri: str) -> ImageEnvironment | None:
        """The stack a job of this image runs on, or None (the engine's Python)."""
        if not self.selected:
            return None
        env = environment_for(uri)
        if env is None or env.python is None:
            return None
        repository = image_key(uri).split(":", 1)[0]
        return env if ALL in self.selected or repository in self.selected else None

    def prepare(self, uris: Iterable[str]) -> None:
        """Build every chosen image's environment now, so a missing one stops the run early.

        Raises:
            EnvironmentUnavailable: a selected repository has no stack, or one cannot be built.
        """
        known = sorted({k.split(":")[0] for k, env in environments().items() if env.python})
        for name in sorted(self.selected - {ALL}):
            if name not in known:
                raise EnvironmentUnavailable(
                    f"--containers-only {','.join(sorted(self.selected))}",
                    f"{name!r} is not an image repository with a known stack",
                    "the stacks are kernel/image_environments.json's images",
                    f"use one of {one_of(known)}{did_you_mean(name, known)}, or --containers "
                    "alone for every image",
                )
        for uri in sorted(set(uris)):
            self.python(uri)

    def python(self, uri: str) -> str:
        """The interpreter for a job of the image at `uri`.

        Raises:
            EnvironmentUnavailable: its environment cannot be built.
        """
        env = self.chosen(uri)
        if env is None:
            return sys.executable
        with self._lock:  # one build per stack per run, however many steps ask at once
            if env.image not in self._built:
                self._built[env.image] = str(build_environment(env, self.root))
            return self._built[env.image]


def named(names: Iterable[str]) -> list[ImageEnvironment]:
    """The stacks `build` names: `repository:version`, or a repository for all its versions.

    Raises:
        EnvironmentUnavailable: a name the table holds no stack for.
    """
    stacks = {key: env for key, env in environments().items() if env.python}
    known = {*stacks, *(key.split(":", 1)[0] for key in stacks)}
    chosen = []
    for name in names:
        found = [env for key, env in stacks.items() if name in (key, key.split(":", 1)[0])]
        if not found:
            raise EnvironmentUnavailable(
                f"python -m engine.environments build {name}",
                f"{name!r} is not an image with a known stack",
                "the stacks are kernel/image_environments.json's images",
                f"use one of {one_of(sorted(stacks))}{did_you_mean(name, known)}, or a "
                "repository alone for all its versions",
            )
        chosen += [env for env in found if env not in chosen]
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m engine.environments",
        description="Build images' stacks ahead, so `--containers` runs offline.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build these images' virtual environments")
    build.add_argument("images", nargs="+", metavar="REPOSITORY[:VERSION]")
    args = parser.parse_args(argv)
    root = cache_root()
    try:
        for env in named(args.images):
            print(f"{env.image}: {build_environment(env, root)}")
    except EnvironmentUnavailable as problem:
        print(problem.render(), file=sys.stderr)
        return problem.status
    return 0


if __name__ == "__main__":
    sys.exit(main())

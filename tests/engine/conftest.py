"""Shared bundles and executions for the engine tests: compiled and run once per test run.

Bundles are compiled with tiny hyperparameters; `penguins_train` and `penguins_tune_top2` without
the monitoring and deployment stages, `full_run` with every stage on. Whichever xdist worker asks
first runs a pipeline (tests/run_once.py); tests read that run or work in a copy of its root.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine import endpoint
from engine.cli import main
from engine.executions import Execution
from tests.run_once import once

STAGES_OFF = (
    "monitoring.data_quality.enabled=false",
    "monitoring.model_quality.enabled=false",
    "monitoring.data_quality.schedule.enabled=false",
    "monitoring.model_quality.schedule.enabled=false",
    "deployment.enabled=false",
)
# Three epochs: the digits net at its shipped learning rate (0.001) clears the Approved gate
# (0.70) on the 8x8 sample from the third (0.85; two give less).
SMALL = ("project.hyperparameters.epochs=3",)
SMALL_TUNING = ("training.tuning.max_jobs=2", "training.tuning.max_parallel_jobs=2")


def compile_bundle(target: Path, *overrides: str, stages_off: bool = True) -> Path:
    """Compile `overrides` (plus the small settings) into `target`; the bundle folder."""
    from compiler.compile import compile_overrides, write_bundle

    off = STAGES_OFF if stages_off else ()
    bundle = compile_overrides([*overrides, *off, *SMALL, f"output_dir={target}"])
    return write_bundle(bundle)


@dataclass(frozen=True)
class Ran:
    """One CLI call: exit code, output, and the execution folder it wrote (None if none)."""

    code: int
    out: str
    err: str
    root: Path
    folder: Path | None

    @property
    def execution(self) -> dict[str, Any]:
        assert self.folder is not None, self.err
        return Execution(self.folder).describe()

    @property
    def records(self) -> dict[str, dict[str, Any]]:
        assert self.folder is not None, self.err
        return {r["StepName"]: r for r in Execution(self.folder).records()}


def _call(bundle: Path, root: Path, *args: str) -> tuple[int, Path | None]:
    """Run the CLI; also return the execution folder it made (None when it made none)."""
    before = set(root.glob("executions/*/*"))
    code = main(["run", str(bundle), "--root", str(root), *args])
    new = sorted(set(root.glob("executions/*/*")) - before)
    assert len(new) <= 1
    return code, new[0] if new else None


RunEngine = Callable[..., Ran]


def run_engine(capsys: pytest.CaptureFixture[str], bundle: Path, root: Path, *args: str) -> Ran:
    code, folder = _call(bundle, root, *args)
    captured = capsys.readouterr()
    return Ran(code, captured.out, captured.err, root, folder)


@pytest.fixture
def engine(capsys: pytest.CaptureFixture[str]) -> RunEngine:
    """`engine(bundle, root, *args)` runs `python -m engine run` in this process."""

    def call(bundle: Path, root: Path, *args: str) -> Ran:
        return run_engine(capsys, bundle, root, *args)

    return call


@dataclass(frozen=True)
class Executed:
    """A bundle and the engine root of one execution of it, shared by every test that asks:
    read it, or run in a private copy (`copy_root`). Its endpoints are stopped; `served` keeps
    their records as the run left them."""

    bundle: Path
    root: Path
    first: Ran
    served: dict[str, dict[str, Any]]

    def copy_root(self, target: Path) -> Path:
        """A private copy of the engine root, so a test's runs cannot disturb another's."""
        shutil.copytree(self.root, target, symlinks=True)
        return target

    def first_in(self, root: Path) -> Ran:
        """The first run as seen in `root`, a copy of this root."""
        folder = self.first.folder and root / self.first.folder.relative_to(self.root)
        return dataclasses.replace(self.first, root=root, folder=folder)


def serve_again(root: Path) -> dict[str, str]:
    """Serve every endpoint recorded under `root` (a copy of a run's root): name -> URL."""
    names = sorted(path.stem for path in (root / "endpoints").glob("*.json"))
    return {name: endpoint.launch(root, name, 0) for name in names}


def execute(factory: pytest.TempPathFactory, *overrides: str, stages_off: bool = True) -> Executed:
    """Compile and run `overrides` (plus the small settings) once per test run."""

    def build(folder: Path) -> Executed:
        bundle = compile_bundle(folder / "bundle", *overrides, stages_off=stages_off)
        root = folder / "root"
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code, execution = _call(bundle, root)
        records = sorted((root / "endpoints").glob("*.json"))
        served = {path.stem: json.loads(path.read_text()) for path in records}
        endpoint.stop_all(root)  # each test serves its own copy again
        return Executed(
            bundle, root, Ran(code, out.getvalue(), err.getvalue(), root, execution), served
        )

    key = " ".join([*overrides, *(STAGES_OFF if stages_off else ())])
    return once(factory, key, build)


@pytest.fixture(scope="session")
def penguins_train(tmp_path_factory: pytest.TempPathFactory) -> Executed:
    return execute(tmp_path_factory, "project=penguins", "framework=pytorch")


@pytest.fixture(scope="session")
def penguins_tune_top2(tmp_path_factory: pytest.TempPathFactory) -> Executed:
    return execute(
        tmp_path_factory,
        "project=penguins",
        "framework=pytorch",
        "training=tune_top2",
        *SMALL_TUNING,
    )


FullRun = Callable[..., Executed]


@pytest.fixture(scope="session")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> FullRun:
    """`full_run(*overrides)`: the whole pipeline (every stage on), run once per test run."""
    return lambda *overrides: execute(tmp_path_factory, *overrides, stages_off=False)


def edit_bundle(
    source: Path, target: Path, edit: Callable[[dict[str, Any]], None], monitor: str | None = None
) -> Path:
    """A copy of bundle `source` in `target` with `edit` applied to its pipeline.json (or to
    that of its monitoring pipeline in folder `monitor`), its recorded sha256 recomputed, as a
    hostile hand edit would."""
    shutil.copytree(source, target)
    folder = target / monitor if monitor else target
    definition = json.loads((folder / "pipeline.json").read_text())
    edit(definition)
    text = json.dumps(definition, indent=2)
    (folder / "pipeline.json").write_text(text)
    digest = hashlib.sha256(text.encode()).hexdigest()
    manifest = json.loads((target / "assets.json").read_text())
    if monitor is None:
        manifest["definition_sha256"] = digest
    for entry in manifest.get("monitors", []):
        if entry["folder"] == monitor:
            entry["definition_sha256"] = digest
    (target / "assets.json").write_text(json.dumps(manifest, indent=2))
    return target


def step(definition: dict[str, Any], name: str) -> dict[str, Any]:
    """The step called `name`, wherever it is nested."""
    pending = list(definition["Steps"])
    while pending:
        current = pending.pop()
        if current["Name"] == name:
            return current
        arguments = current.get("Arguments", {})
        pending += arguments.get("IfSteps", []) + arguments.get("ElseSteps", [])
    raise KeyError(name)

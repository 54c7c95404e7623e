"""`python -m compiler.local [overrides]`: run a pipeline's jobs on this machine, without AWS.

It compiles the configuration exactly as `python -m compiler` does, then runs the same scripts
with the same arguments that the pipeline's jobs would run (container paths mapped to a work
folder): Preprocess -> Train -> Evaluate, and applies the quality gate to the report. Tuning is
not run locally (one training job with the configured hyperparameters stands in for it); the
AWS-only stages (quality checks, batch transform, registration, deployment) are listed, not run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bundle.assets import pack_model_dir
from compiler.compile import Bundle, compile_overrides
from kernel.context import REPO
from kernel.errors import CompileError
from kernel.ir import Step

FRAMEWORK_MODULES = {"tensorflow": "tensorflow", "pytorch": "torch"}
LOCAL_TYPES = {"Processing", "Training", "Tuning", "Condition", "Fail"}


class LocalRunError(Exception):
    """A job failed or cannot start; the message says which and why."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compiler.local", description=__doc__)
    parser.add_argument(
        "--data",
        type=Path,
        help="folder with the raw data files "
        "(default: the project's sample data, for penguins and digits)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path("build/local"),
        help="where the jobs' inputs and outputs go (default: build/local)",
    )
    args, overrides = parser.parse_known_args(argv)
    try:
        bundle = compile_overrides(overrides)
    except CompileError as exc:
        print(exc.render(), file=sys.stderr)
        return 2
    try:
        work = (args.workdir / bundle.pipeline.name).resolve()
        run = run_locally(bundle, args.data and args.data.resolve(), work)
    except LocalRunError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(run.decision)
    return 0


@dataclass(frozen=True)
class LocalRun:
    """What a local run produced: the evaluation report, job wall times, the gate's decision."""

    report: dict[str, Any]
    seconds: dict[str, float]
    decision: str


def run_locally(
    bundle: Bundle,
    data: Path | None,
    work: Path,
    train_args: tuple[str, ...] = (),
    echo: Callable[[str], None] = print,
) -> LocalRun:
    """Run the jobs in `work`; `train_args` are added to the training script's command line."""
    config = bundle.config
    framework = config.framework.name
    if importlib.util.find_spec(FRAMEWORK_MODULES[framework]) is None:
        raise LocalRunError(
            f"{framework} is not installed here; fix: pip install -e '.[{framework}]'"
        )
    if work.exists():
        shutil.rmtree(work)
    steps = {s.name: s for s in bundle.pipeline.all_steps()}
    seconds: dict[str, float] = {}
    assets = {a["name"]: a for a in json.loads(bundle.assets_json)["assets"]}
    processing = work / "processing"
    _raw_data(config.project.name, data, processing / "input")

    preprocess = steps["Preprocess"]
    seconds["Preprocess"] = _run(
        echo,
        "Preprocess",
        _code(assets, "preprocess-code"),
        "--base_dir",
        str(processing),
        *preprocess.arguments["AppSpecification"].get("ContainerArguments", []),
    )

    trainer = steps.get("Train") or steps["Tune"]
    if trainer.type == "Tuning":
        echo("Tune: not run locally; one training job with the configured hyperparameters")
    model_dir = work / "model"
    hyperparameters = config.project.hyperparameters.model_dump()
    seconds["Train"] = _run(
        echo,
        "Train",
        REPO / _program(trainer),
        *[f"--{k}={v}" for k, v in sorted(hyperparameters.items())],
        *train_args,
        env={
            **{
                f"SM_CHANNEL_{c.upper()}": str(processing / c)
                for c in ("train", "validation", "artifacts")
            },
            "SM_MODEL_DIR": str(model_dir),
        },
    )

    evaluation = work / "evaluation"
    (evaluation / "model").mkdir(parents=True)
    pack_model_dir(model_dir, evaluation / "model" / "model.tar.gz")
    shutil.copytree(processing / "test", evaluation / "test")
    seconds["Evaluate"] = _run(
        echo, "Evaluate", _code(assets, "evaluate-code"), "--base_dir", str(evaluation)
    )

    report = json.loads((evaluation / "evaluation" / "evaluation.json").read_text())
    skipped = sorted(n for n, s in steps.items() if s.type not in LOCAL_TYPES)
    if skipped:
        echo(f"needs AWS, not run: {', '.join(skipped)}")
    gate = config.gate
    decision = _decide(report, gate.metric, gate.approve, gate.pending, work)
    return LocalRun(report, seconds, decision)


def _raw_data(project: str, data: Path | None, target: Path) -> None:
    target.mkdir(parents=True)
    if data is not None:
        if not data.is_dir():
            raise LocalRunError(f"--data {data}: not a folder; fix: pass the folder of raw files")
        for path in data.iterdir():
            if path.is_file():
                shutil.copy(path, target / path.name)
        return
    if project == "penguins":
        from projects.penguins.sample_data import write_penguins_csv

        write_penguins_csv(target)
    elif project == "digits":
        from projects.digits.sample_data import write_digits_csvs

        write_digits_csvs(target)
    else:
        raise LocalRunError(f"project {project} has no sample data; fix: pass --data FOLDER")


def _code(assets: dict[str, Any], name: str) -> Path:
    path: str = assets[name]["files"][0]["path"]
    return REPO / path


def _program(trainer: Step) -> str:
    arguments = trainer.arguments
    hyper = (
        arguments.get("HyperParameters")
        or arguments["TrainingJobDefinition"]["StaticHyperParameters"]
    )
    program: str = json.loads(hyper["sagemaker_program"])
    return program


def _run(
    echo: Callable[[str], None],
    step: str,
    script: Path,
    *args: str,
    env: dict[str, str] | None = None,
) -> float:
    """Run one job's script as its own process; return its wall time."""
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        env={**os.environ, **(env or {})},
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
        raise LocalRunError(f"{step} ({script.name}) exited {proc.returncode}:\n{tail}")
    elapsed = time.monotonic() - started
    echo(f"{step}: ok in {elapsed:.1f} s")
    return elapsed


def _decide(report: dict[str, Any], metric: str, approve: float, pending: float, work: Path) -> str:
    value: Any = report
    for part in metric.split("."):
        value = value[part]
    where = f"(report: {work / 'evaluation' / 'evaluation' / 'evaluation.json'})"
    if value >= approve:
        return f"gate: {metric} = {value:.4f} >= {approve}: would register as Approved {where}"
    if value >= pending:
        return (
            f"gate: {metric} = {value:.4f} >= {pending}: would register as "
            f"PendingManualApproval {where}"
        )
    return f"gate: {metric} = {value:.4f} < {pending}: would not register (Reject) {where}"


if __name__ == "__main__":
    sys.exit(main())

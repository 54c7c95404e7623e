"""The command line as a user runs it: a separate process in a fresh working directory."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

MATRIX = [
    "project=penguins,digits",
    "framework=tensorflow,pytorch",
    "training=train,tune,train_and_tune,tune_top2",
]


def run(cwd: Path, *args: str, seed: str = "0") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run(
        [sys.executable, "-m", "compiler", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


# A bundle: the definition, its assets, its pictures (an SVG too where Graphviz is installed).
BUNDLE_FILES = sorted(
    ["assets.json", "pipeline.dot", "pipeline.json", "pipeline.mmd"]
    + (["pipeline.svg"] if shutil.which("dot") else [])
)


def test_compile_writes_the_bundle_and_nothing_else(tmp_path: Path) -> None:
    proc = run(tmp_path, "project=digits", "framework=pytorch")
    assert proc.returncode == 0, proc.stderr
    assert tree(tmp_path) == [
        "build",
        "build/digits-pytorch-train",
        *(f"build/digits-pytorch-train/{name}" for name in BUNDLE_FILES),
    ]
    assert "-> build/digits-pytorch-train/pipeline.json" in proc.stdout
    assert re.search(r"^  Train +Training$", proc.stdout, re.MULTILINE)
    assert re.search(r"^  Deploy +Lambda$", proc.stdout, re.MULTILINE)
    definition = json.loads((tmp_path / "build/digits-pytorch-train/pipeline.json").read_text())
    assert definition["Version"] == "2020-12-01"


def test_output_is_byte_identical_under_any_hash_seed(tmp_path: Path) -> None:
    outputs = []
    for seed in ("1", "2"):
        cwd = tmp_path / seed
        cwd.mkdir()
        assert run(cwd, "training=tune_top2", "output_dir=out", seed=seed).returncode == 0
        texts = ("pipeline.json", "assets.json", "pipeline.mmd", "pipeline.dot")
        outputs.append([(cwd / "out" / n).read_bytes() for n in texts])
    assert outputs[0] == outputs[1]


def test_matrix_sweep_writes_one_bundle_per_job_and_no_hydra_files(tmp_path: Path) -> None:
    proc = run(tmp_path, "-m", *MATRIX)
    assert proc.returncode == 0, proc.stderr
    bundles = sorted(p.name for p in (tmp_path / "build").iterdir())
    assert len(bundles) == 16
    assert "penguins-tensorflow-train-and-tune" in bundles
    assert tree(tmp_path) == sorted(
        ["build"]
        + [f"build/{b}" for b in bundles]
        + [f"build/{b}/{f}" for b in bundles for f in BUNDLE_FILES]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["gate.pending=0.9"], "command line override gate.pending=0.9\n  gate.pending = 0.9\n"),
        (["-m", "project=penguins,digitz"], "did you mean 'digits'?"),
        (["-m", "project=penguins,digits", "gate.approve=1.5"], "thresholds lie in (0, 1]"),
        (["project=cancer", "project.positive_class=benigm"], "project.positive_class = 'benigm'"),
        (
            ["monitoring.backend=builtin", "deployment.enabled=false"],
            "monitoring.data_quality.schedule.enabled = true\n  why: a schedule watches",
        ),
        (
            ["monitoring.backend=builtin", "monitoring.model_quality.schedule.window=P1W"],
            "'P1W' is not a window the monitoring job reads",
        ),
        (
            [
                "monitoring.backend=builtin",
                "monitoring.data_quality.schedule.cron='cron(0 * * * * *)'",
            ],
            "'cron(0 * * * * *)' is not an EventBridge Scheduler expression",
        ),
        (
            ["monitoring.data_quality.schedule.cron='cron(30 * ? * * *)'"],
            "SageMaker monitoring schedules run at most hourly, on the hour",
        ),
    ],
    ids=[
        "single",
        "sweep-group",
        "sweep-value",
        "positive-class-not-a-class",
        "builtin-schedules-without-deployment",
        "builtin-window",
        "builtin-cron",
        "model-monitor-cron",
    ],
)
def test_bad_input_exits_2_with_the_message_and_writes_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    proc = run(tmp_path, *args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert tree(tmp_path) == []


def test_debug_flag_shows_the_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "HYDRA_FULL_ERROR": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "compiler", "gate.pending=0.9"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "Traceback" in proc.stderr


def test_a_failed_compile_keeps_the_previous_bundle(tmp_path: Path) -> None:
    assert run(tmp_path, "project=digits").returncode == 0
    before = tree(tmp_path)
    golden = (tmp_path / "build/digits-tensorflow-train/pipeline.json").read_bytes()
    assert run(tmp_path, "project=digits", "gate.approve=7").returncode == 2
    assert tree(tmp_path) == before
    assert (tmp_path / "build/digits-tensorflow-train/pipeline.json").read_bytes() == golden


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--help"], "training: train, train_and_tune, tune, tune_top2"),
        (["--cfg", "job", "project=digits"], "train_file: mnist_train.csv"),
    ],
    ids=["help", "cfg-job"],
)
def test_hydra_flags_work_and_write_nothing(tmp_path: Path, args: list[str], expected: str) -> None:
    proc = run(tmp_path, *args)
    assert proc.returncode == 0, proc.stderr
    assert expected in proc.stdout
    assert tree(tmp_path) == []


def test_two_jobs_of_a_sweep_that_write_one_folder_stop_before_writing(tmp_path: Path) -> None:
    proc = run(tmp_path, "-m", "training=train,tune", "project.pipeline_name=same")
    assert proc.returncode == 2
    assert proc.stderr == (
        "error: build/same\n"
        "  two jobs of this sweep write this folder\n"
        "  why: they give the same pipeline name 'same'\n"
        "  fix: keep ${training.name} and ${framework.name} in project.pipeline_name, "
        "or set output_dir per job\n"
    )
    assert not (tmp_path / "build").exists()


@pytest.mark.parametrize("value", ["0.0", "1.0", "-0.2"])
def test_a_probability_threshold_outside_0_1_is_a_config_error(tmp_path: Path, value: str) -> None:
    proc = run(
        tmp_path, "project=cancer", f"monitoring.model_quality.probability_threshold={value}"
    )
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == (
        "error: 1 problem in the pipeline configuration\n\n"
        f"command line override monitoring.model_quality.probability_threshold={value}\n"
        f"  monitoring.model_quality.probability_threshold = {float(value)!r}\n"
        f"  why: {float(value)!r} is not a probability strictly between 0 and 1: a binary model's "
        "records are positive when their probability is at or above it\n"
        "  fix: use a number in (0, 1), e.g. 0.5\n"
    )
    assert tree(tmp_path) == []

"""`python -m compiler.local`: the pipeline's own jobs, run here on sample data, then the gate."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


def run_local(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONHASHSEED": "0", "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [sys.executable, "-m", "compiler.local", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("args", "trainer"),
    [
        (
            [
                "project=penguins",
                "framework=pytorch",
                "project.hyperparameters.epochs=3",
                "gate.approve=1.0",
                "gate.pending=0.5",
            ],
            "Train",
        ),
        (
            [
                "project=digits",
                "framework=tensorflow",
                "training=tune",
                "project.hyperparameters.epochs=1",
            ],
            "Tune",
        ),
    ],
    ids=["penguins-pytorch-train", "digits-tensorflow-tune"],
)
def test_local_run_follows_the_pipeline_and_applies_the_gate(
    tmp_path: Path, args: list[str], trainer: str
) -> None:
    proc = run_local(tmp_path, *args)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("Preprocess: ok")
    assert any(line.startswith("Train: ok") for line in lines)
    if trainer == "Tune":
        assert (
            "Tune: not run locally; one training job with the configured hyperparameters" in lines
        )
    assert any(line.startswith("Evaluate: ok") for line in lines)
    assert "needs AWS, not run: CreateModel, DataQualityBaseline, Deploy" in proc.stdout
    report_path = Path(re.search(r"\(report: (.+)\)$", lines[-1])[1])  # type: ignore[index]
    assert report_path.is_relative_to(tmp_path)
    accuracy = json.loads(report_path.read_text())["metrics"]["accuracy"]["value"]
    approve = 1.0 if trainer == "Train" else 0.7
    expected = "Approved" if accuracy >= approve else "PendingManualApproval"
    assert lines[-1].startswith(f"gate: metrics.accuracy.value = {accuracy:.4f} ")
    assert f"would register as {expected}" in lines[-1]


def test_bad_override_is_the_compilers_error(tmp_path: Path) -> None:
    proc = run_local(tmp_path, "gate.pending=0.9")
    assert proc.returncode == 2
    assert "command line override gate.pending=0.9" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_missing_data_folder(tmp_path: Path) -> None:
    proc = run_local(tmp_path, "--data", "nowhere", "project=penguins")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: --data ")
    assert "not a folder; fix: pass the folder of raw files" in proc.stderr
    assert "Traceback" not in proc.stderr

"""`compile-run` (compiles in a child process, then runs), and the tuning strategies' draws."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.cli import main
from engine.executors.tuning import draw, rank
from tests.engine.conftest import SMALL, STAGES_OFF, Executed, RunEngine


@pytest.mark.integration
def test_compile_run_compiles_then_runs_the_bundle(
    penguins_train: Executed, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root = penguins_train.copy_root(tmp_path / "root")
    overrides = [
        "project=penguins",
        "framework=pytorch",
        *STAGES_OFF,
        *SMALL,
        f"output_dir={tmp_path / 'bundle'}",
    ]
    args = ["--root", str(root), "--from", "CheckApprove", "-p", "ApproveThreshold=1.01"]
    code = main(["compile-run", *args, "-p", "PendingThreshold=1.01", *overrides])
    out = capsys.readouterr().out
    assert code == 1
    assert (tmp_path / "bundle/pipeline.json").is_file()
    assert out.startswith(f"compiled {' '.join(overrides)} -> {tmp_path / 'bundle'}\n")
    assert "fail Reject: Model not registered: metrics.accuracy.value = " in out
    accuracy = "Evaluate.EvaluationReport: metrics.accuracy.value = "
    assert re.search(
        "^condition CheckApprove: False -> else branch \\(CheckPending\\)\n"
        f"  {re.escape(accuracy)}[0-9.]+ >= ApproveThreshold = 1.01: false\n"
        "condition CheckPending: False -> else branch \\(Reject\\)\n"
        f"  {re.escape(accuracy)}[0-9.]+ >= PendingThreshold = 1.01: false\n",
        out,
        re.MULTILINE,
    ), out


@pytest.mark.integration
def test_the_summary_is_not_cut_when_piped(
    penguins_train: Executed, engine: RunEngine, tmp_path: Path
) -> None:
    ran = engine(penguins_train.bundle, penguins_train.copy_root(tmp_path / "root"))
    assert ran.code == 0
    assert "…" not in ran.out
    rows = [line for line in ran.out.splitlines() if line.startswith("│ ")]
    assert {line.split("│")[1].strip() for line in rows} == set(ran.records)
    assert all(line.split("│")[3].strip() == "Succeeded" for line in rows)


def test_compile_run_passes_on_the_compilers_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(["compile-run", "--root", str(tmp_path), "project=nosuch"])
    err = capsys.readouterr().err
    assert code == 2
    assert "nosuch" in err and "fix:" in err


RANGES = {
    "ContinuousParameterRanges": [
        {"Name": "lr", "MinValue": "0.001", "MaxValue": "0.1", "ScalingType": "Logarithmic"}
    ],
    "IntegerParameterRanges": [{"Name": "epochs", "MinValue": "2", "MaxValue": "4"}],
    "CategoricalParameterRanges": [{"Name": "opt", "Values": ["adam", "sgd"]}],
}


@pytest.mark.parametrize("strategy", ["Random", "Bayesian"])
def test_random_draws_stay_in_their_ranges_and_repeat_for_the_same_seed(strategy: str) -> None:
    points = draw(RANGES, strategy, 40, seed="s")
    assert points == draw(RANGES, strategy, 40, seed="s") != draw(RANGES, strategy, 40, seed="t")
    assert all(0.001 <= float(p["lr"]) <= 0.1 for p in points)
    assert {p["epochs"] for p in points} == {"2", "3", "4"}
    assert {p["opt"] for p in points} == {"adam", "sgd"}
    below = sum(float(p["lr"]) < 0.01 for p in points)
    assert 8 <= below <= 32  # log scale: half the draws fall in the first decade, not a tenth


def test_grid_enumerates_categorical_ranges() -> None:
    ranges = {
        "CategoricalParameterRanges": [
            {"Name": "a", "Values": ["1", "2"]},
            {"Name": "b", "Values": ["x", "y"]},
        ]
    }
    assert draw(ranges, "Grid", 10, seed="s") == [
        {"a": "1", "b": "x"},
        {"a": "1", "b": "y"},
        {"a": "2", "b": "x"},
        {"a": "2", "b": "y"},
    ]


@pytest.mark.parametrize(
    ("direction", "order"),
    [
        pytest.param("Maximize", ["b", "c", "a", "f"], id="maximize"),
        pytest.param("Minimize", ["a", "c", "b", "f"], id="minimize"),
    ],
)
def test_trials_rank_by_objective_then_failed_last(direction: str, order: list[str]) -> None:
    def summary(name: str, value: float | None) -> dict[str, object]:
        if value is None:
            return {"TrainingJobName": name, "TrainingJobStatus": "Failed"}
        metric = {"MetricName": "m", "Value": value}
        return {
            "TrainingJobName": name,
            "TrainingJobStatus": "Completed",
            "FinalHyperParameterTuningJobObjectiveMetric": metric,
        }

    trials = [summary("f", None), summary("a", 0.1), summary("b", 0.9), summary("c", 0.5)]
    assert [s["TrainingJobName"] for s in rank(trials, direction)] == order

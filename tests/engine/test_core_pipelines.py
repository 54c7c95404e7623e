"""Whole penguins pipelines on the local engine (monitoring and deployment off): every step's
status and properties, and which branch the gate took. test_full_pipelines.py runs every stage
(TensorFlow's first steps are checked here on that run).
"""

from __future__ import annotations

import json
import tarfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from engine.s3 import S3
from tests.engine.conftest import (
    SMALL_TUNING,
    Executed,
    FullRun,
    Ran,
    RunEngine,
    compile_bundle,
    edit_bundle,
)

pytestmark = pytest.mark.integration
JOBS = ("Preprocess", "Train", "Evaluate")


def accuracy(root: Path, record: dict[str, Any]) -> float:
    """The accuracy in an Evaluate step's evaluation.json, read from the local S3."""
    uri = record["Properties"]["ProcessingOutputConfig"]["Outputs"]["evaluation"]["S3Output"][
        "S3Uri"
    ]
    report = json.loads((S3(root / "s3").path(uri) / "evaluation.json").read_text())
    return float(report["metrics"]["accuracy"]["value"])


def assert_registered(records: dict[str, dict[str, Any]], started: str, absent: str) -> None:
    assert started in records and absent not in records
    register = records[started]
    assert register["StepStatus"] == "Succeeded" or "no executor yet" in register["FailureReason"]


def assert_trained(root: Path, records: dict[str, dict[str, Any]], train: str) -> None:
    properties = records[train]["Properties"]
    model = S3(root / "s3").path(properties["ModelArtifacts"]["S3ModelArtifacts"])
    assert model.name == "model.tar.gz"
    assert model.parent.parent.name == properties["TrainingJobName"]
    with tarfile.open(model) as tar:
        assert tar.getnames()
    (metric,) = properties["FinalMetricDataList"]
    assert metric["MetricName"] == "validation:accuracy" and 0.0 <= metric["Value"] <= 1.0


def test_train_pytorch_runs_every_step_and_the_gate_follows_the_report(
    penguins_train: Executed,
) -> None:
    run = penguins_train.first
    records = run.records
    for name in JOBS:
        assert records[name]["StepStatus"] == "Succeeded", records[name].get("FailureReason")
        log = run.folder / "steps" / name / "log.txt"
        assert "$ " in log.read_text()
    assert_trained(run.root, records, "Train")
    outputs = records["Preprocess"]["Properties"]["ProcessingOutputConfig"]["Outputs"]
    assert sorted(outputs) == ["artifacts", "baseline", "test", "train", "validation"]
    assert (S3(run.root / "s3").path(outputs["train"]["S3Output"]["S3Uri"]) / "train.csv").is_file()
    approved = accuracy(run.root, records["Evaluate"]) >= 0.7
    assert records["CheckApprove"]["Metadata"] == {"Condition": {"Outcome": str(approved)}}
    if approved:
        assert_registered(records, "RegisterApproved", "CheckPending")
    else:
        assert records["CheckPending"]["StepStatus"] == "Succeeded"


@pytest.mark.parametrize(
    ("thresholds", "register", "absent"),
    [
        (("ApproveThreshold=1.01", "PendingThreshold=0.0"), "RegisterPending", "RegisterApproved"),
        (("ApproveThreshold=0.0", "PendingThreshold=0.0"), "RegisterApproved", "RegisterPending"),
    ],
    ids=["pending", "approved"],
)
def test_thresholds_choose_the_branch(
    penguins_train: Executed,
    engine: RunEngine,
    tmp_path: Path,
    thresholds: tuple[str, str],
    register: str,
    absent: str,
) -> None:
    root = penguins_train.copy_root(tmp_path / "root")
    args = [a for t in thresholds for a in ("-p", t)]
    ran = engine(penguins_train.bundle, root, "--from", "CheckApprove", *args)
    records = ran.records
    assert records["Train"]["SelectiveExecutionResult"]["SourcePipelineExecutionArn"].endswith(
        penguins_train.first.execution["PipelineExecutionId"]
    )
    assert_registered(records, register, absent)
    assert f"register {register}" in ran.out


def test_reject_ends_failed_with_the_fail_message(
    penguins_train: Executed, engine: RunEngine, tmp_path: Path
) -> None:
    root = penguins_train.copy_root(tmp_path / "root")
    ran = engine(
        penguins_train.bundle,
        root,
        "--from",
        "CheckApprove",
        "-p",
        "ApproveThreshold=1.01",
        "-p",
        "PendingThreshold=1.01",
    )
    value = accuracy(root, ran.records["Evaluate"])
    message = (
        f"Model not registered: metrics.accuracy.value = {value} is below the pending threshold "
        "1.01 (gate.pending). Improve the model or lower PendingThreshold."
    )
    assert ran.code == 1
    assert ran.records["Reject"]["StepStatus"] == "Failed"
    assert ran.records["Reject"]["Metadata"] == {"Fail": {"ErrorMessage": message}}
    assert ran.execution["PipelineExecutionStatus"] == "Failed"
    assert f"fail Reject: {message}" in ran.out


def test_cache_hits_reuse_the_earlier_jobs_and_no_cache_reruns(
    penguins_train: Executed, engine: RunEngine, tmp_path: Path
) -> None:
    def cache_jobs(definition: dict[str, Any]) -> None:
        for step in definition["Steps"]:
            if step["Name"] in JOBS:
                step["CacheConfig"] = {"Enabled": True, "ExpireAfter": "PT1H"}

    bundle = edit_bundle(penguins_train.bundle, tmp_path / "cached", cache_jobs)
    root = tmp_path / "root"
    first = engine(bundle, root)
    assert not any("CacheHitResult" in r for r in first.records.values())
    second = engine(bundle, root)
    first_arn = first.execution["PipelineExecutionArn"]
    for name in JOBS:
        record = second.records[name]
        assert record["CacheHitResult"] == {"SourcePipelineExecutionArn": first_arn}
        assert record["Properties"] == first.records[name]["Properties"]
        assert record["CacheKey"] == first.records[name]["CacheKey"]
    assert second.records["CheckApprove"]["Metadata"] == first.records["CheckApprove"]["Metadata"]
    third = engine(bundle, root, "--no-cache", "--from", "Evaluate")
    assert "CacheHitResult" not in third.records["Evaluate"]
    assert third.records["Evaluate"]["StepStatus"] == "Succeeded"
    assert third.records["Evaluate"]["Properties"] != first.records["Evaluate"]["Properties"]


def test_train_tensorflow(full_run: FullRun) -> None:
    # The run test_full_pipelines checks every stage of: its first steps are these.
    ran = full_run("project=penguins", "framework=tensorflow", "monitoring.backend=model_monitor")
    records = ran.first.records
    for name in JOBS:
        assert records[name]["StepStatus"] == "Succeeded", records[name].get("FailureReason")
    assert_trained(ran.root, records, "Train")
    approved = accuracy(ran.root, records["Evaluate"]) >= 0.7
    assert records["CheckApprove"]["Metadata"]["Condition"]["Outcome"] == str(approved)


def test_tune_top2_ranks_real_trials_and_evaluates_the_top_two(
    penguins_tune_top2: Executed,
) -> None:
    run = penguins_tune_top2.first
    records = run.records
    tune = records["Tune"]["Properties"]
    summaries = tune["TrainingJobSummaries"]
    assert len(summaries) == 2 and tune["BestTrainingJob"] == summaries[0]
    values = [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in summaries]
    assert values == sorted(values, reverse=True)  # Maximize: best first
    rates = [float(s["TunedHyperParameters"]["learning_rate"]) for s in summaries]
    assert all(0.01 <= r <= 0.03 for r in rates) and rates[0] != rates[1]
    windows = [
        (
            datetime.fromisoformat(s["TrainingStartTime"]),
            datetime.fromisoformat(s["TrainingEndTime"]),
        )
        for s in summaries
    ]
    assert max(w[0] for w in windows) < min(w[1] for w in windows)  # the two ran at once
    output = "s3://example-sagemaker-bucket/ml-pipelines/penguins/models"
    for rank, name in ((0, "EvaluateTop1"), (1, "EvaluateTop2")):
        model_uri = f"{output}/{summaries[rank]['TrainingJobName']}/output/model.tar.gz"
        assert S3(run.root / "s3").path(model_uri).is_file()
        inputs = {i["InputName"]: i for i in records[name]["Properties"]["ProcessingInputs"]}
        assert inputs["model"]["S3Input"]["S3Uri"] == model_uri
        assert records[name]["StepStatus"] == "Succeeded"
        trial_log = run.folder / "steps/Tune/jobs" / f"{summaries[rank]['TrainingJobName']}.log"
        assert "val_accuracy" in trial_log.read_text()
    top1_wins = accuracy(run.root, records["EvaluateTop1"]) >= accuracy(
        run.root, records["EvaluateTop2"]
    )
    assert records["SelectBestModel"]["Metadata"]["Condition"]["Outcome"] == str(top1_wins)


def test_train_and_tune_selects_the_better_of_the_two(engine: RunEngine, tmp_path: Path) -> None:
    bundle = compile_bundle(
        tmp_path / "b",
        "project=penguins",
        "framework=pytorch",
        "training=train_and_tune",
        *SMALL_TUNING,
    )
    ran: Ran = engine(bundle, tmp_path / "root")
    records = ran.records
    for name in ("Preprocess", "Train", "Tune", "EvaluateTrain", "EvaluateTune"):
        assert records[name]["StepStatus"] == "Succeeded", records[name].get("FailureReason")
    train_wins = accuracy(ran.root, records["EvaluateTrain"]) >= accuracy(
        ran.root, records["EvaluateTune"]
    )
    assert records["SelectBestModel"]["Metadata"]["Condition"]["Outcome"] == str(train_wins)
    chosen, other = (
        ("CheckApproveTrain", "CheckApproveTune")
        if train_wins
        else ("CheckApproveTune", "CheckApproveTrain")
    )
    assert chosen in records and other not in records

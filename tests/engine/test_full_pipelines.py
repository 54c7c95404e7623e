"""Whole pipelines with every stage on, as compiled by default: every step, on this machine.

Both projects and both neural frameworks in train mode, XGBoost on penguins and (builtin
monitoring backend) on the binary cancer project; then a second run of the penguins pipeline,
compiled with `monitoring.first_run=false` and the checks asked for, which checks the new data
and model against the baselines the first run registered with its Approved package.
Each pipeline runs once per test run (`full_run`, shared with the monitoring proof and the binary
test); a test reads its records and works in a private copy of its engine root.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import endpoint
from engine.registry import Registry
from tests.engine.conftest import FullRun, Ran, compile_bundle, run_engine

pytestmark = pytest.mark.integration
EVERY_STEP = [
    "Preprocess",
    "Train",
    "DataQualityBaseline",
    "Evaluate",
    "CreateModel",
    "TransformTestSet",
    "ModelQualityBaseline",
    "CheckApprove",
    "RegisterApproved",
    "Deploy",
    "DeploySucceeded",
    "ScheduleDataQualityMonitor",
    "ScheduleModelQualityMonitor",
    "MonitoringSucceeded",
]
CHECKS_ON = [
    "monitoring.first_run=false",
    "monitoring.data_quality.skip_check=false",
    "monitoring.model_quality.skip_check=false",
]
PACKAGE_ARN = re.compile(r"^arn:aws:sagemaker:us-east-1:\d{12}:model-package/(?P<group>[^/]+)/\d+$")


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "root"
    endpoint.stop_all(tmp_path / "root")  # the deployed endpoints live as long as the engine


def succeeded(ran: Ran) -> dict[str, dict[str, Any]]:
    records = ran.records
    failed = {
        n: r.get("FailureReason") for n, r in records.items() if r["StepStatus"] != "Succeeded"
    }
    assert ran.code == 0 and not failed, (ran.out[-2000:], failed)
    return records


@pytest.mark.parametrize(
    ("project", "framework", "backend"),
    [
        ("penguins", "pytorch", "model_monitor"),
        ("penguins", "tensorflow", "model_monitor"),
        ("digits", "pytorch", "model_monitor"),
        ("digits", "tensorflow", "model_monitor"),
        ("penguins", "xgboost", "model_monitor"),
        ("cancer", "xgboost", "builtin"),
    ],
    ids=lambda value: str(value),
)
def test_every_stage_runs(
    project: str, framework: str, backend: str, full_run: FullRun, root: Path
) -> None:
    run = full_run(f"project={project}", f"framework={framework}", f"monitoring.backend={backend}")
    run.copy_root(root)
    records = succeeded(run.first_in(root))
    assert sorted(records) == sorted(EVERY_STEP)
    arn = records["RegisterApproved"]["Properties"]["ModelPackageArn"]
    assert PACKAGE_ARN.match(arn)["group"] == project  # type: ignore[index]
    (package,) = Registry(root / "registry.sqlite").packages(project)
    assert (package.arn, package.status) == (arn, "Approved")
    drift = package.drift_check_baselines
    quality = records["DataQualityBaseline"]["Properties"]
    if backend == "builtin":  # the analyzer job's output holds the baseline files
        (output,) = quality["ProcessingOutputConfig"]["Outputs"].values()
        used = f"{output['S3Output']['S3Uri']}/statistics.json"
    else:
        used = quality["BaselineUsedForDriftCheckStatistics"]
    assert drift["ModelDataQuality"]["Statistics"]["S3Uri"] == used
    deployed = records["Deploy"]["Properties"]["OutputParameters"]
    assert (deployed["statusCode"], deployed["endpoint_name"]) == (200, f"{project}-endpoint")
    served = run.served[f"{project}-endpoint"]  # its record as the run left it
    assert served["EndpointStatus"] == "InService"
    assert served["Url"].startswith("http://127.0.0.1:")
    transform = records["TransformTestSet"]["Properties"]["TransformOutput"]["S3OutputPath"]
    (predictions,) = (root / "s3" / transform.removeprefix("s3://")).glob("*.out")
    first = json.loads(predictions.read_text().splitlines()[0])
    assert set(first["SageMakerOutput"]) >= {"label", "confidence"}


def test_a_second_run_checks_against_the_registered_baselines(
    full_run: FullRun, root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = full_run("project=penguins", "framework=pytorch", "monitoring.backend=model_monitor")
    first = succeeded(run.first_in(run.copy_root(root)))
    approved = first["RegisterApproved"]["Properties"]["ModelPackageArn"]
    second_bundle = compile_bundle(
        tmp_path / "second",
        "project=penguins",
        "framework=pytorch",
        "monitoring.backend=model_monitor",
        *CHECKS_ON,
        stages_off=False,
    )
    definition = json.loads((second_bundle / "pipeline.json").read_text())
    defaults = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
    assert defaults["SkipDataQualityCheck"] is False and defaults["SkipModelQualityCheck"] is False
    ran = run_engine(capsys, second_bundle, root)
    second = succeeded(ran)
    assert ran.folder is not None
    for check in ("DataQualityBaseline", "ModelQualityBaseline"):
        log = (ran.folder / "steps" / check / "log.txt").read_text()
        # Same data, seed and model: the check finds nothing against what the first run registered.
        assert f"{check}: 0 violation(s) against the latest Approved package {approved}" in log
        properties = second[check]["Properties"]
        # RegisterNewBaseline stays true: the new baseline becomes the one used for drift.
        assert (
            properties["BaselineUsedForDriftCheckConstraints"]
            == (properties["CalculatedBaselineConstraints"])
        )
        assert (
            properties["CalculatedBaselineConstraints"]
            != (first[check]["Properties"]["CalculatedBaselineConstraints"])
        )
    packages = Registry(root / "registry.sqlite").packages("penguins")
    assert [p.status for p in packages] == ["Approved", "Approved"]

"""Cache keys by SageMaker's per-type attribute lists, ExpireAfter durations, and the lookup."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.cache import CacheConfigError, cache_key, expire_after, find_cached
from engine.executions import Execution

PROCESSING: dict[str, Any] = {
    "Arguments": {
        "AppSpecification": {"ContainerEntrypoint": ["python3", "x.py"], "ImageUri": "i"},
        "ProcessingInputs": [{"InputName": "code", "S3Input": {"S3Uri": "s3://b/code/x.py"}}],
        "ProcessingOutputConfig": {
            "Outputs": [{"OutputName": "o", "S3Output": {"S3Uri": "s3://b/run1/o"}}]
        },
        "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.xlarge"}},
    }
}


def edited(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    step = copy.deepcopy(PROCESSING)
    target: Any = step
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return step


@pytest.mark.parametrize(
    ("path", "value"),
    [
        pytest.param(
            ("Arguments", "ProcessingOutputConfig", "Outputs", 0, "S3Output", "S3Uri"),
            "s3://b/run2/o",
            id="output-location",
        ),
        pytest.param(
            ("Arguments", "ProcessingResources", "ClusterConfig", "InstanceType"),
            "ml.m5.large",
            id="instance-type",
        ),
    ],
)
def test_fields_outside_the_key_do_not_change_it(path: tuple[str | int, ...], value: Any) -> None:
    assert cache_key("Processing", edited(path, value)) == cache_key("Processing", PROCESSING)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        pytest.param(("Arguments", "AppSpecification", "ContainerEntrypoint", 1), "y.py", id="app"),
        pytest.param(
            ("Arguments", "ProcessingInputs", 0, "S3Input", "S3Uri"),
            "s3://b/code2/x.py",
            id="inputs",
        ),
        pytest.param(("Arguments", "Environment"), {"A": "1"}, id="environment"),
    ],
)
def test_fields_in_the_key_change_it(path: tuple[str | int, ...], value: Any) -> None:
    assert cache_key("Processing", edited(path, value)) != cache_key("Processing", PROCESSING)


def test_tuning_keys_on_the_training_definition_but_not_its_output_path() -> None:
    tuning = {
        "Arguments": {
            "HyperParameterTuningJobConfig": {"Strategy": "Random"},
            "TrainingJobDefinition": {
                "StaticHyperParameters": {"epochs": "2"},
                "OutputDataConfig": {"S3OutputPath": "s3://b/1"},
            },
        }
    }
    moved = copy.deepcopy(tuning)
    moved["Arguments"]["TrainingJobDefinition"]["OutputDataConfig"]["S3OutputPath"] = "s3://b/2"
    longer = copy.deepcopy(tuning)
    longer["Arguments"]["TrainingJobDefinition"]["StaticHyperParameters"]["epochs"] = "3"
    assert cache_key("Tuning", moved) == cache_key("Tuning", tuning) != cache_key("Tuning", longer)


@pytest.mark.parametrize("step_type", ["Condition", "Fail", "RegisterModel", "Lambda", "Model"])
def test_types_sagemaker_never_caches_have_no_key(step_type: str) -> None:
    assert cache_key(step_type, PROCESSING) is None


@pytest.mark.parametrize(
    ("text", "duration"),
    [
        pytest.param("PT1H", timedelta(hours=1), id="iso-hours"),
        pytest.param("P30D", timedelta(days=30), id="iso-days"),
        pytest.param("P1DT2H30M", timedelta(days=1, hours=2, minutes=30), id="iso-mixed"),
        pytest.param("30d", timedelta(days=30), id="short-days"),
        pytest.param("T16m", timedelta(minutes=16), id="short-minutes"),
        pytest.param("30dT5h", timedelta(days=30, hours=5), id="short-mixed"),
        pytest.param("P1W", timedelta(days=7), id="weeks"),
    ],
)
def test_expire_after_reads_iso_8601_durations(text: str, duration: timedelta) -> None:
    assert expire_after(text) == duration


@pytest.mark.parametrize("text", ["", "1 hour", "PT", "P1X"])
def test_expire_after_refuses_other_text(text: str) -> None:
    with pytest.raises(CacheConfigError, match="is not an ISO 8601 duration"):
        expire_after(text)


def _execution(
    folder: Path, status: str, key: str, ended: datetime, hit: bool = False
) -> Execution:
    execution = Execution(folder)
    execution.write_describe(
        {"PipelineExecutionArn": f"arn:{folder.name}", "CreationTime": ended.isoformat()}
    )
    record = {
        "StepName": "Prep",
        "StepStatus": status,
        "CacheKey": key,
        "EndTime": ended.isoformat(),
    }
    if hit:
        record["CacheHitResult"] = {"SourcePipelineExecutionArn": "arn:older"}
    execution.write_record(record)
    return execution


def test_lookup_takes_the_newest_unexpired_success_with_the_same_key(tmp_path: Path) -> None:
    at = datetime(2026, 12, 1, 12, tzinfo=UTC)
    old = _execution(tmp_path / "old", "Succeeded", "k", at - timedelta(hours=3))
    good = _execution(tmp_path / "good", "Succeeded", "k", at - timedelta(minutes=30))
    failed = _execution(tmp_path / "failed", "Failed", "k", at - timedelta(minutes=10))
    other = _execution(tmp_path / "other", "Succeeded", "other", at - timedelta(minutes=5))
    hit = _execution(tmp_path / "hit", "Succeeded", "k", at - timedelta(minutes=1), hit=True)
    executions = [old, good, failed, other, hit]
    found = find_cached(executions, "Prep", "k", timedelta(hours=1), at)
    assert found is not None and found[0] is good
    assert find_cached(executions, "Prep", "k", timedelta(minutes=20), at) is None
    assert find_cached(executions, "Train", "k", timedelta(hours=1), at) is None

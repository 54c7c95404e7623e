"""What a 2-class project compiles to, beside a multiclass one: the positive class reaches every
step that scores or serves the model, and the gate's contract knows the project's classes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest

from compiler.compile import compile_overrides
from kernel.frameworks import FRAMEWORKS

POSITIVE_CLASS_ENV = "INFERENCE_POSITIVE_CLASS"


def all_steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for step in steps:
        yield step
        for branch in ("IfSteps", "ElseSteps"):
            yield from all_steps(step["Arguments"].get(branch, []))


@cache
def steps_of(*overrides: str) -> dict[str, dict[str, Any]]:
    definition = json.loads(compile_overrides(list(overrides)).pipeline_json)
    return {step["Name"]: step["Arguments"] for step in all_steps(definition["Steps"])}


def serving_environments(steps: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
    """The Environment of every container that serves the model: CreateModel's, the packages'."""
    return [steps["CreateModel"]["PrimaryContainer"]["Environment"]] + [
        steps[name]["InferenceSpecification"]["Containers"][0]["Environment"]
        for name in ("RegisterApproved", "RegisterPending")
    ]


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_a_binary_project_is_scored_and_served_for_its_positive_class(framework: str) -> None:
    steps = steps_of("project=cancer", f"framework={framework}")
    quality = steps["ModelQualityBaseline"]["Environment"]
    assert (quality["problem_type"], quality["positive_label"]) == (
        "BinaryClassification",
        "malignant",
    )
    assert quality["probability_attribute"] == "SageMakerOutput.probability"
    schedule = steps["ScheduleModelQualityMonitor"]
    assert (schedule["problem_type"], schedule["probability_attribute"]) == (
        "BinaryClassification",
        "0.probability",
    )
    assert schedule["positive_label"] == "malignant"
    assert "positive_label" not in steps["ScheduleDataQualityMonitor"]
    served = FRAMEWORKS[framework].environment() | {POSITIVE_CLASS_ENV: "malignant"}
    assert serving_environments(steps) == [served] * 3
    evaluate = steps["Evaluate"]["AppSpecification"]
    assert evaluate["ContainerArguments"] == ["--positive_class", "malignant"]


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_a_multiclass_project_has_no_positive_class_anywhere(framework: str) -> None:
    steps = steps_of("project=penguins", f"framework={framework}")
    quality = steps["ModelQualityBaseline"]["Environment"]
    assert quality["problem_type"] == "MulticlassClassification" and "positive_label" not in quality
    assert quality["probability_attribute"] == "SageMakerOutput.confidence"
    schedule = steps["ScheduleModelQualityMonitor"]
    assert (schedule["problem_type"], schedule["probability_attribute"]) == (
        "MulticlassClassification",
        "0.confidence",
    )
    assert serving_environments(steps) == [FRAMEWORKS[framework].environment()] * 3
    assert "ContainerArguments" not in steps["Evaluate"]["AppSpecification"]


@pytest.mark.parametrize(
    ("project", "metric"),
    [
        pytest.param("cancer", "metrics.recall.per_class.malignant", id="cancer-recall-malignant"),
        pytest.param("cancer", "metrics.roc_auc.value", id="cancer-roc-auc"),
        pytest.param("cancer", "metrics.pr_auc.value", id="cancer-pr-auc"),
        pytest.param("penguins", "metrics.f1.per_class.Gentoo", id="penguins-f1-gentoo"),
        pytest.param("digits", "metrics.support.per_class.7", id="digits-support-7"),
        pytest.param("digits", "metrics.precision.weighted", id="digits-weighted"),
    ],
)
def test_the_gate_reads_any_metric_the_projects_report_has(project: str, metric: str) -> None:
    condition = steps_of(f"project={project}", f"gate.metric={metric}")["CheckApprove"]
    (comparison,) = condition["Conditions"]
    assert comparison["LeftValue"]["Std:JsonGet"]["Path"] == metric


@pytest.mark.parametrize(
    ("project", "expected"),
    [
        pytest.param(
            "cancer",
            {
                "problem_type": "BinaryClassification",
                "probability_attribute": "0.probability",
                "positive_label": "malignant",
            },
            id="cancer",
        ),
        pytest.param(
            "penguins",
            {"problem_type": "MulticlassClassification", "probability_attribute": "0.confidence"},
            id="penguins",
        ),
    ],
)
def test_the_builtin_model_quality_monitor_scores_the_projects_problem(
    project: str, expected: dict[str, str]
) -> None:
    bundle = compile_overrides([f"project={project}", "monitoring.backend=builtin"])
    monitor = json.loads(bundle.monitors["monitors/model-quality"].pipeline_json)
    (job,) = [s for s in monitor["Steps"] if s["Type"] == "Processing"]
    environment = job["Arguments"]["Environment"]
    assert {k: environment.get(k) for k in expected} == expected
    assert ("positive_label" in environment) == (project == "cancer")
    baseline = steps_of(f"project={project}", "monitoring.backend=builtin")["ModelQualityBaseline"]
    assert baseline["Environment"]["problem_type"] == expected["problem_type"]


def thresholds(*overrides: str) -> dict[str, Any]:
    """Every probability threshold the compiled bundle hands a model-quality check, by place."""
    bundle = compile_overrides(list(overrides))
    steps = {
        s["Name"]: s["Arguments"] for s in all_steps(json.loads(bundle.pipeline_json)["Steps"])
    }
    found = {
        "baseline": steps["ModelQualityBaseline"]["Environment"].get(
            "probability_threshold_attribute"
        )
    }
    schedule = steps["ScheduleModelQualityMonitor"]
    if "monitor_type" in schedule:  # Model Monitor's (builtin: a schedule of the monitor below)
        found["schedule"] = schedule.get("probability_threshold_attribute")
    if "monitors/model-quality" in bundle.monitors:
        monitor = json.loads(bundle.monitors["monitors/model-quality"].pipeline_json)
        (job,) = [s for s in monitor["Steps"] if s["Type"] == "Processing"]
        found["monitor"] = job["Arguments"]["Environment"].get("probability_threshold_attribute")
    return found


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param((), {"baseline": "0.5", "schedule": 0.5}, id="model_monitor-default"),
        pytest.param(
            ("monitoring.model_quality.probability_threshold=0.9",),
            {"baseline": "0.9", "schedule": 0.9},
            id="model_monitor-0.9",
        ),
        pytest.param(
            ("monitoring.backend=builtin", "monitoring.model_quality.probability_threshold=0.9"),
            {"baseline": "0.9", "monitor": "0.9"},
            id="builtin-0.9",
        ),
    ],
)
def test_binary_model_quality_carries_the_probability_threshold(
    overrides: tuple[str, ...], expected: dict[str, Any]
) -> None:
    """Beside the positive class's probability, as AWS pairs them: QualityCheck's environment
    as the SDK writes it (a string); the schedule event's number becomes the job definition's
    ProbabilityThresholdAttribute."""
    assert thresholds("project=cancer", *overrides) == expected


@pytest.mark.parametrize("backend", ["model_monitor", "builtin"])
def test_a_multiclass_project_has_no_probability_threshold(backend: str) -> None:
    found = thresholds("project=penguins", f"monitoring.backend={backend}")
    assert set(found.values()) == {None} and len(found) == 2

"""engine.gate: a Condition step's comparisons as written, with the values they had."""

from __future__ import annotations

from typing import Any

from engine.gate import RESOLVED, decisions

METRIC = {
    "Std:JsonGet": {
        "PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.EvaluationReport"},
        "Path": "metrics.accuracy.value",
    }
}
GATE = {
    "Name": "CheckApprove",
    "Type": "Condition",
    "Arguments": {
        "Conditions": [
            {
                "Type": "GreaterThanOrEqualTo",
                "LeftValue": METRIC,
                "RightValue": {"Get": "Parameters.ApproveThreshold"},
            },
            {"Type": "In", "QueryValue": "a", "Values": ["a", "b"]},
        ],
        "IfSteps": [{"Name": "Register", "Type": "RegisterModel", "Arguments": {}}],
        "ElseSteps": [{"Name": "Reject", "Type": "Fail", "Arguments": {}}],
    },
}


def record(outcome: str, resolved: list[dict[str, Any]] | None) -> dict[str, Any]:
    properties: dict[str, Any] = {"Outcome": outcome}
    if resolved is not None:
        properties[RESOLVED] = resolved
    return {"StepName": "CheckApprove", "StepStatus": "Succeeded", "Properties": properties}


def test_values_outcome_and_branch_read_as_people_write_them() -> None:
    resolved = [
        {"Type": "GreaterThanOrEqualTo", "LeftValue": 0.62, "RightValue": 0.7, "Result": False},
        {"Type": "In", "QueryValue": "a", "Values": ["a", "b"], "Result": True},
    ]
    (found,) = decisions({"Steps": [GATE]}, {"CheckApprove": record("False", resolved)})
    assert found.lines() == [
        "condition CheckApprove: False -> else branch (Reject)",
        "  Evaluate.EvaluationReport: metrics.accuracy.value = 0.62 >= ApproveThreshold = 0.7: "
        "false",
        '  "a" in ["a", "b"]: true',
    ]
    assert found.comparisons[0].value == 0.62


def test_a_record_without_resolved_values_still_names_outcome_and_branch() -> None:
    (found,) = decisions({"Steps": [GATE]}, {"CheckApprove": record("True", None)})
    assert found.lines()[0] == "condition CheckApprove: True -> if true branch (Register)"
    assert [c.result for c in found.comparisons] == [None, None]


def test_conditions_that_did_not_run_or_failed_decide_nothing() -> None:
    failed = {**record("True", []), "StepStatus": "Failed"}
    assert decisions({"Steps": [GATE]}, {}) == []
    assert decisions({"Steps": [GATE]}, {"CheckApprove": failed}) == []

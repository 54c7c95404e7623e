"""The definition check's rules on small hand-written definitions (the mutation suite in
tests/engine/test_mutations.py runs the same check on edited compiled bundles, through the
engine)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kernel.check import definition_problems

LAMBDA_ARN = "arn:aws:lambda:us-east-1:111122223333:function:f"
SOUND: dict[str, Any] = {
    "Version": "2020-12-01",
    "Parameters": [{"Name": "Threshold", "Type": "Float", "DefaultValue": 0.5}],
    "Steps": [
        {
            "Name": "Call",
            "Type": "Lambda",
            "FunctionArn": LAMBDA_ARN,
            "Arguments": {"uri": "s3://my-bucket/a/b"},
            "OutputParameters": [{"OutputName": "score", "OutputType": "Float"}],
        },
        {
            "Name": "Gate",
            "Type": "Condition",
            "Arguments": {
                "Conditions": [
                    {
                        "Type": "GreaterThan",
                        "LeftValue": {"Get": "Steps.Call.OutputParameters['score']"},
                        "RightValue": {"Get": "Parameters.Threshold"},
                    }
                ],
                "IfSteps": [{"Name": "Yes", "Type": "Fail", "Arguments": {"ErrorMessage": "y"}}],
                "ElseSteps": [{"Name": "No", "Type": "Fail", "Arguments": {"ErrorMessage": "n"}}],
            },
        },
    ],
}


def edited(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    definition = copy.deepcopy(SOUND)
    target: Any = definition
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return definition


def whats(definition: dict[str, Any]) -> list[str]:
    return [f"{p.where}: {p.what}" for p in definition_problems(definition, [LAMBDA_ARN])]


GATE = ("Steps", 1, "Arguments")


def test_the_sound_definition_passes() -> None:
    assert whats(SOUND) == []


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        pytest.param(
            (*GATE, "Conditions", 0),
            {"Type": "Not", "Condition": {"Type": "Equals", "LeftValue": 1, "RightValue": "1"}},
            "step Gate: Arguments.Conditions[0].Condition (Equals) compares a number with a string",
            id="not-of-mixed-types",
        ),
        pytest.param(
            (*GATE, "Conditions", 0),
            {"Type": "In", "QueryValue": {"Get": "Parameters.Threshold"}, "Values": [0.1, "x"]},
            "step Gate: Arguments.Conditions[0] (In) compares a number with a string (Values[1])",
            id="in-of-mixed-types",
        ),
        pytest.param(
            (*GATE, "IfSteps", 0, "Arguments", "ErrorMessage"),
            {"Std:Join": {"On": " ", "Values": ["a", ["b"]]}},
            'step Yes: Arguments.ErrorMessage.Std:Join.Values[1] is ["b"]',
            id="join-of-a-list",
        ),
        pytest.param(
            (*GATE, "ElseSteps", 0, "DependsOn"),
            ["Yes"],
            "step No: DependsOn names step Yes, inside Gate's IfSteps",
            id="else-waits-for-if",
        ),
        pytest.param(
            ("Steps", 0, "PropertyFiles"),
            [{"PropertyFileName": "R", "OutputName": "o", "FilePath": "r.json"}],
            "step Call: PropertyFiles",
            id="property-files-of-a-lambda",
        ),
        pytest.param(
            ("Steps", 0, "Arguments", "uri"),
            "s3://192.168.1.1/a",
            "step Call: Arguments.uri = 's3://192.168.1.1/a'",
            id="bucket-like-an-ip-address",
        ),
        pytest.param(
            ("Steps", 0, "Arguments", "uri"),
            "s3://my-bucket/a/./b",
            "step Call: Arguments.uri = 's3://my-bucket/a/./b'",
            id="dot-segment",
        ),
        pytest.param(
            ("Parameters", 0, "DefaultValue"),
            True,
            "Parameters[0] (Threshold): DefaultValue true is not of Type Float",
            id="boolean-for-a-float",
        ),
        pytest.param(
            ("Steps", 0, "DependsOn"),
            "Gate",
            "step Call: DependsOn is 'Gate'",
            id="depends-on-a-string",
        ),
    ],
)
def test_one_edit_one_finding(path: tuple[str | int, ...], value: Any, expected: str) -> None:
    assert whats(edited(path, value)) == [expected]


def tuning(ranges: dict[str, Any], static: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "Version": "2020-12-01",
        "Steps": [
            {
                "Name": "Tune",
                "Type": "Tuning",
                "Arguments": {
                    "HyperParameterTuningJobConfig": {"ParameterRanges": ranges},
                    "TrainingJobDefinition": {"StaticHyperParameters": static or {}},
                },
            }
        ],
    }


@pytest.mark.parametrize(
    ("ranges", "expected"),
    [
        pytest.param(
            {
                "IntegerParameterRanges": [
                    {
                        "Name": "n",
                        "MinValue": "0",
                        "MaxValue": "1",
                        "ScalingType": "ReverseLogarithmic",
                    }
                ]
            },
            "step Tune: IntegerParameterRanges[0] (n) is ReverseLogarithmic over [0, 1]",
            id="reverse-logarithmic-integers",
        ),
        pytest.param(
            {"CategoricalParameterRanges": [{"Name": "c", "Values": ["a", "a"]}]},
            "step Tune: CategoricalParameterRanges[0].Values repeat a value",
            id="repeated-category",
        ),
        pytest.param(
            {
                "ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}],
                "CategoricalParameterRanges": [{"Name": "x", "Values": ["a"]}],
            },
            "step Tune: hyperparameter x has two ranges",
            id="two-ranges",
        ),
        pytest.param(
            {"ContinuousParameterRanges": [{"Name": "x", "MinValue": "nan", "MaxValue": "1"}]},
            "step Tune: ContinuousParameterRanges[0].MinValue is 'nan'",
            id="nan-bound",
        ),
    ],
)
def test_tuning_ranges(ranges: dict[str, Any], expected: str) -> None:
    assert whats(tuning(ranges)) == [expected]


def test_without_functions_the_arn_is_checked_for_shape_only() -> None:
    definition = edited(("Steps", 0, "FunctionArn"), LAMBDA_ARN.removesuffix("f") + "other")
    assert definition_problems(definition) == []
    assert whats(definition) == [
        "step Call: FunctionArn arn:aws:lambda:us-east-1:111122223333:function:other"
    ]

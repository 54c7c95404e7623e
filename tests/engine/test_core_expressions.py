"""Expressions, conditions, parameters and the step graph, on small definitions."""

from __future__ import annotations

from typing import Any

import pytest

from engine.expressions import (
    ExpressionError,
    ParameterError,
    PropertyFileRef,
    Scope,
    evaluate,
    parse_parameters,
    parse_path,
    resolve,
)
from engine.graph import DefinitionError, build_graph, descendants

PROPERTIES = {
    "Prep": {"ProcessingOutputConfig": {"Outputs": {"train": {"S3Output": {"S3Uri": "s3://b/t"}}}}},
    "Tune": {"TrainingJobSummaries": [{"TrainingJobName": "t-001"}, {"TrainingJobName": "t-002"}]},
}
REPORT = {"metrics": {"accuracy": {"value": 0.91}}, "per_class": [{"f1": 0.5}]}


def _properties(step: str) -> dict[str, Any]:
    if step not in PROPERTIES:
        raise ExpressionError(f"step {step} has no properties in this execution (not run)")
    return PROPERTIES[step]


def _report(ref: PropertyFileRef) -> Any:
    assert ref == PropertyFileRef("Eval", "EvaluationReport")
    return REPORT


SCOPE = Scope(
    {"Threshold": 0.7, "Flag": True}, {"PipelineExecutionId": "abc123"}, _properties, _report
)


def test_paths_split_into_names_indexes_and_keys() -> None:
    assert parse_path("Steps.Prep.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri") == [
        "Steps",
        "Prep",
        "ProcessingOutputConfig",
        "Outputs",
        "train",
        "S3Output",
        "S3Uri",
    ]
    assert parse_path("Steps.Tune.TrainingJobSummaries[1].TrainingJobName")[3] == 1


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        pytest.param({"Get": "Parameters.Threshold"}, 0.7, id="parameter"),
        pytest.param({"Get": "Execution.PipelineExecutionId"}, "abc123", id="execution"),
        pytest.param(
            {"Get": "Steps.Prep.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"},
            "s3://b/t",
            id="step-output",
        ),
        pytest.param(
            {"Get": "Steps.Tune.TrainingJobSummaries[1].TrainingJobName"}, "t-002", id="index"
        ),
        pytest.param(
            {
                "Std:Join": {
                    "On": "/",
                    "Values": ["s3:/", "b", {"Get": "Execution.PipelineExecutionId"}],
                }
            },
            "s3://b/abc123",
            id="join",
        ),
        pytest.param(
            {"Std:Join": {"On": " ", "Values": ["x", {"Get": "Parameters.Flag"}, 0.7, 3]}},
            "x true 0.7 3",
            id="join-renders-json-scalars",
        ),
        pytest.param(
            {
                "Std:JsonGet": {
                    "Path": "metrics.accuracy.value",
                    "PropertyFile": {"Get": "Steps.Eval.PropertyFiles.EvaluationReport"},
                }
            },
            0.91,
            id="json-get",
        ),
        pytest.param(
            {
                "Std:JsonGet": {
                    "Path": "per_class[0].f1",
                    "PropertyFile": {"Get": "Steps.Eval.PropertyFiles.EvaluationReport"},
                }
            },
            0.5,
            id="json-get-index",
        ),
        pytest.param(
            {"A": [{"Get": "Parameters.Threshold"}], "B": 1}, {"A": [0.7], "B": 1}, id="nested"
        ),
    ],
)
def test_expressions_resolve(expression: Any, value: Any) -> None:
    assert resolve(expression, SCOPE) == value


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        pytest.param(
            {"Get": "Parameters.Treshold"},
            "Get Parameters.Treshold: no such parameter (there: Flag, Threshold)",
            id="parameter",
        ),
        pytest.param(
            {"Get": "Execution.StartTime"},
            "Get Execution.StartTime: no such execution variable (there: PipelineExecutionId)",
            id="execution",
        ),
        pytest.param(
            {"Get": "Steps.Prep.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"},
            "Get Steps.Prep.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri: step Prep: "
            "no 'test' at ProcessingOutputConfig.Outputs (there: train)",
            id="output",
        ),
        pytest.param(
            {"Get": "Steps.Tune.TrainingJobSummaries[2].TrainingJobName"},
            "Get Steps.Tune.TrainingJobSummaries[2].TrainingJobName: step Tune: no index [2] "
            "at TrainingJobSummaries (length 2)",
            id="index",
        ),
        pytest.param(
            {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"},
            "step Train has no properties in this execution (not run)",
            id="step-not-run",
        ),
        pytest.param(
            {
                "Std:JsonGet": {
                    "Path": "metrics.acc.value",
                    "PropertyFile": {"Get": "Steps.Eval.PropertyFiles.EvaluationReport"},
                }
            },
            "Std:JsonGet 'metrics.acc.value' in Eval's property file EvaluationReport: no 'acc' "
            "at metrics (there: accuracy)",
            id="json-get-path",
        ),
        pytest.param(
            {"Std:JsonGet": {"Path": "x", "PropertyFile": "EvaluationReport"}},
            "Std:JsonGet: PropertyFile 'EvaluationReport' is no report",
            id="json-get-file",
        ),
        pytest.param(
            {"Get": "Steps"}, "Get Steps: not a Parameters, Execution or Steps reference", id="bare"
        ),
    ],
)
def test_bad_expressions_say_what_is_missing(expression: Any, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        resolve(expression, SCOPE)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("condition", "result"),
    [
        pytest.param({"Type": "Equals", "LeftValue": 200, "RightValue": 200}, True, id="equals"),
        pytest.param(
            {"Type": "Equals", "LeftValue": 200, "RightValue": 200.0}, True, id="equals-int-float"
        ),
        pytest.param(
            {"Type": "GreaterThanOrEqualTo", "LeftValue": 0.7, "RightValue": 0.7}, True, id="ge"
        ),
        pytest.param({"Type": "GreaterThan", "LeftValue": 0.7, "RightValue": 0.7}, False, id="gt"),
        pytest.param({"Type": "LessThan", "LeftValue": 1, "RightValue": 2}, True, id="lt"),
        pytest.param(
            {"Type": "LessThanOrEqualTo", "LeftValue": 3, "RightValue": 2}, False, id="le"
        ),
        pytest.param({"Type": "In", "QueryValue": "a", "Values": ["a", "b"]}, True, id="in"),
        pytest.param(
            {"Type": "Not", "Condition": {"Type": "Equals", "LeftValue": 1, "RightValue": 1}},
            False,
            id="not",
        ),
        pytest.param(
            {
                "Type": "Or",
                "Conditions": [
                    {"Type": "Equals", "LeftValue": 1, "RightValue": 2},
                    {"Type": "LessThan", "LeftValue": 1, "RightValue": 2},
                ],
            },
            True,
            id="or",
        ),
    ],
)
def test_conditions(condition: dict[str, Any], result: bool) -> None:
    assert evaluate(condition) is result


@pytest.mark.parametrize("kind", ["GreaterThanOrEqualTo", "Equals"])
def test_conditions_refuse_what_cannot_be_compared(kind: str) -> None:
    """Mixed types fail the step for every comparison: Equals was silently False before."""
    with pytest.raises(
        ExpressionError,
        match=rf"^{kind}: cannot compare '0\.9' \(number\) with '0\.7' \(string\): compare "
        "values of one type$",
    ):
        evaluate({"Type": kind, "LeftValue": 0.9, "RightValue": "0.7"})
    with pytest.raises(ExpressionError, match=r"cannot compare 'true' \(boolean\) with '1'"):
        evaluate({"Type": kind, "LeftValue": True, "RightValue": 1})
    with pytest.raises(ExpressionError, match=r"^unknown condition type 'Between'$"):
        evaluate({"Type": "Between"})


DECLARED = [
    {"Name": "ApproveThreshold", "Type": "Float", "DefaultValue": 0.7},
    {"Name": "Epochs", "Type": "Integer", "DefaultValue": 3},
    {"Name": "SkipCheck", "Type": "Boolean", "DefaultValue": True},
    {"Name": "Uri", "Type": "String", "DefaultValue": "s3://b/k"},
]


def test_parameters_take_defaults_and_typed_overrides() -> None:
    values = parse_parameters(
        DECLARED, ["Epochs=5", "SkipCheck=false", "ApproveThreshold=1", "Uri=a=b"]
    )
    assert values == {"ApproveThreshold": 1.0, "Epochs": 5, "SkipCheck": False, "Uri": "a=b"}


def test_bad_parameters_are_all_listed() -> None:
    with pytest.raises(ParameterError) as caught:
        parse_parameters(DECLARED, ["Epochs=2.5", "SkipCheck=yes"])
    assert str(caught.value) == (
        "2 problems\n\n"
        "-p Epochs=2.5\n  '2.5' is not of type Integer\n  why: parameter Epochs is declared with "
        "Type Integer in pipeline.json\n  fix: give a value of type Integer, e.g. -p Epochs=3\n\n"
        "-p SkipCheck=yes\n  'yes' is not of type Boolean\n  why: parameter SkipCheck is declared "
        "with Type Boolean in pipeline.json\n"
        "  fix: give a value of type Boolean, e.g. -p SkipCheck=true"
    )


@pytest.mark.parametrize(
    "override", ["Epochs=1_000", "Epochs= 5", "ApproveThreshold=nan", "SkipCheck=False"], ids=str
)
def test_parameters_take_only_the_literals_sagemaker_takes(override: str) -> None:
    """int(), float() and a case-blind bool would take these; publishing refuses them too."""
    with pytest.raises(ParameterError, match="is not of type"):
        parse_parameters(DECLARED, [override])


def _step(name: str, **fields: Any) -> dict[str, Any]:
    return {"Name": name, "Type": "Processing", "Arguments": {}, **fields}


def test_graph_nests_branches_and_collects_dependencies() -> None:
    read = {"Get": "Steps.A.ProcessingJobName"}
    gate = {
        "Name": "Gate",
        "Type": "Condition",
        "Arguments": {
            "Conditions": [{"Type": "Equals", "LeftValue": read, "RightValue": "x"}],
            "IfSteps": [_step("Yes", Arguments={"X": {"Get": "Steps.B.ProcessingJobName"}})],
            "ElseSteps": [_step("No")],
        },
    }
    nodes = build_graph({"Steps": [_step("A"), _step("B", DependsOn=["A"]), gate]})
    assert nodes["Gate"].needs == {"A"}
    assert (nodes["Yes"].parent, nodes["Yes"].branch, nodes["Yes"].needs) == (
        "Gate",
        True,
        {"Gate", "B"},
    )
    assert (nodes["No"].branch, nodes["No"].needs) == (False, {"Gate"})
    assert descendants(nodes, "B") == {"B", "Yes"}


@pytest.mark.parametrize(
    ("steps", "problem"),
    [
        pytest.param([_step("A"), _step("A")], "step name 'A' is used twice", id="duplicate"),
        pytest.param(
            [_step("Train"), _step("B", DependsOn=["Trian"])],
            "step B: DependsOn names step 'Trian', which is not in the definition "
            "(did you mean 'Train'?)",
            id="depends-on",
        ),
        pytest.param(
            [_step("B", Arguments={"X": {"Get": "Steps.Nope.ProcessingJobName"}})],
            "step B: a Get reads step 'Nope', which is not in the definition",
            id="get",
        ),
        pytest.param(
            [_step("A", DependsOn=["B"]), _step("B", DependsOn=["A"])],
            "these steps wait for each other: A -> B",
            id="cycle",
        ),
    ],
)
def test_graph_refuses_definitions_sagemaker_rejects(
    steps: list[dict[str, Any]], problem: str
) -> None:
    with pytest.raises(DefinitionError) as caught:
        build_graph({"Steps": steps})
    assert str(caught.value).startswith(f"pipeline.json\n  {problem}\n  why: ")


def test_graph_refuses_steps_without_name_or_type() -> None:
    with pytest.raises(DefinitionError) as caught:
        build_graph({"Steps": [_step("A"), {"Name": "B"}, "C"]})
    assert str(caught.value).startswith(
        "pipeline.json\n  2 step(s) without a string Name and Type (in definition order, "
        "counting nested steps: 1, 2)\n"
    )

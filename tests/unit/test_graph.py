"""The graph stage: references must point at real steps, properties and contract paths."""

from __future__ import annotations

import pytest

from kernel.errors import CompileError
from kernel.graph import check_pipeline, json_path_problem
from kernel.ir import (
    JsonGet,
    Parameter,
    ParameterRef,
    Pipeline,
    PropertyFile,
    Step,
    model_artifacts,
    step_output,
)

CONTRACT = {
    "type": "object",
    "required": ["metrics"],
    "properties": {
        "metrics": {
            "type": "object",
            "required": ["accuracy"],
            "properties": {
                "accuracy": {
                    "type": "object",
                    "required": ["value"],
                    "properties": {"value": {"type": "number"}},
                },
                "notes": {"type": "string"},
            },
        }
    },
}


def processing(name: str, outputs: tuple[str, ...] = ("out",), **args: object) -> Step:
    report = PropertyFile("Report", "out", "report.json", CONTRACT)
    return Step(name, "Processing", dict(args), outputs=outputs, property_files=(report,))


def training(name: str, **args: object) -> Step:
    return Step(name, "Training", dict(args))


def problems_of(*steps: Step, parameters: tuple[Parameter, ...] = ()) -> str:
    with pytest.raises(CompileError) as raised:
        check_pipeline(Pipeline("p", parameters, steps))
    return raised.value.render()


def test_order_follows_references_not_declaration() -> None:
    steps = (
        processing("Evaluate", model=model_artifacts("Train")),
        training("Train", data=step_output("Prep", "out")),
        processing("Prep"),
    )
    assert check_pipeline(Pipeline("p", (), steps)) == ["Prep", "Train", "Evaluate"]


def test_cycle_names_the_steps_in_the_loop() -> None:
    message = problems_of(
        training("Train", data=step_output("Evaluate", "out")),
        processing("Evaluate", model=model_artifacts("Train")),
    )
    assert "cycle: Train -> Evaluate -> Train" in message  # each waits for the next


def test_reference_to_a_missing_step() -> None:
    message = problems_of(training("Train", data=step_output("Prepare", "out")))
    assert "step 'Train' reads from step 'Prepare'\n  why: there is no step of that name" in message


def test_reference_to_a_missing_output() -> None:
    message = problems_of(processing("Prep"), training("Train", data=step_output("Prep", "tran")))
    assert "step 'Train' reads output 'tran' of 'Prep'" in message
    assert "why: 'Prep' has outputs ['out']" in message


def test_property_a_step_type_lacks() -> None:
    message = problems_of(processing("Prep"), training("Train", x=model_artifacts("Prep")))
    assert "a Processing step has no such property" in message


def test_json_get_of_an_undeclared_property_file() -> None:
    cond = Step(
        "Gate", "Condition", {"Left": JsonGet("Eval", "Evaluation", "metrics.accuracy.value")}
    )
    message = problems_of(processing("Eval"), cond)
    assert "reads property file 'Evaluation' of 'Eval'" in message
    assert "why: 'Eval' declares ['Report']" in message


def test_unknown_parameter() -> None:
    message = problems_of(training("Train", instance=ParameterRef("TrainingInstance")))
    assert "reads Parameters.TrainingInstance" in message


def test_duplicate_and_invalid_step_names() -> None:
    message = problems_of(processing("Prep"), processing("Prep"), processing("Prep step"))
    assert "two steps are named 'Prep'" in message
    assert "step name 'Prep step'" in message


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("metrics.accuracy.value", None),
        (
            "metrics.acc.value",
            "the contract has no 'acc' under metrics (it has ['accuracy', 'notes'])",
        ),
        ("metrics.notes", "'metrics.notes' is optional in the report contract"),
        (
            "metrics.accuracy",
            "'metrics.accuracy' is not a number in the contract, so it cannot be compared",
        ),
    ],
    ids=["present", "missing", "optional", "not-a-number"],
)
def test_json_path_against_contract(path: str, why: str | None) -> None:
    assert json_path_problem(CONTRACT, path) == why

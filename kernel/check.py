"""Checks on an emitted definition that its JSON schema cannot express.

They read the JSON itself, not the graph, so they also hold for definitions written by hand or
by the SageMaker SDK, and they guard the emit stage against drifting from the graph.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from kernel.emit import MAX_DEFINITION_CHARS
from kernel.ir import STEP_NAME, STEP_PROPERTIES
from kernel.names import PIPELINE_NAME as PIPELINE_NAME_PATTERN
from kernel.notation import placed_steps

PIPELINE_NAME = re.compile(PIPELINE_NAME_PATTERN)
GET_STEP = re.compile(r"^Steps\.(?P<step>[^.\[]+)\.(?P<path>.+)$")
PROPERTY_FILE = re.compile(r"PropertyFiles\.(?P<file>\w+)")  # what a JsonGet reads
EXECUTION = {
    "PipelineName",
    "PipelineExecutionId",
    "PipelineExecutionArn",
    "StartDateTime",
    "CurrentDateTime",
    "PipelineArn",
}


def all_steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every step, nested condition branches included, in definition order."""
    return (placed.step for placed in placed_steps(steps))


def check_definition(definition: dict[str, Any], pipeline_name: str, text: str) -> list[str]:
    """Every rule broken by one definition, as readable sentences (empty when it is sound)."""
    problems = []
    if len(text) > MAX_DEFINITION_CHARS:
        problems.append(
            f"definition has {len(text)} characters; CreatePipeline takes {MAX_DEFINITION_CHARS}"
        )
    if not PIPELINE_NAME.match(pipeline_name):
        problems.append(f"pipeline name {pipeline_name!r} breaks {PIPELINE_NAME.pattern}")
    steps = {s["Name"]: s for s in all_steps(definition["Steps"])}
    count = sum(1 for _ in all_steps(definition["Steps"]))
    if count != len(steps):
        problems.append("step names are not unique")
    parameters = {p["Name"] for p in definition.get("Parameters", [])}
    for name in [*steps, *parameters]:
        if not STEP_NAME.match(name):
            problems.append(f"name {name!r} breaks {STEP_NAME.pattern}")
    for step in steps.values():
        for ref in _gets(step.get("Arguments", {})):
            problem = _check_get(ref, steps, parameters)
            if problem:
                problems.append(f"step {step['Name']}: {problem}")
    return problems


def _gets(value: Any) -> Iterator[str]:
    """The path of every {"Get": ...}, including those of JsonGet property files."""
    if isinstance(value, dict):
        if set(value) == {"Get"} and isinstance(value["Get"], str):
            yield value["Get"]
            return
        for key, item in value.items():
            if key in ("IfSteps", "ElseSteps"):
                continue  # nested steps are checked as steps of their own
            yield from _gets(item)
    elif isinstance(value, list):
        for item in value:
            yield from _gets(item)


def _check_get(ref: str, steps: dict[str, Any], parameters: set[str]) -> str | None:
    if ref.startswith("Parameters."):
        name = ref.removeprefix("Parameters.")
        return None if name in parameters else f"{ref}: no such parameter"
    if ref.startswith("Execution."):
        name = ref.removeprefix("Execution.")
        return None if name in EXECUTION else f"{ref}: no such execution variable"
    match = GET_STEP.match(ref)
    if not match:
        return f"{ref}: not a Steps/Parameters/Execution reference"
    target = steps.get(match["step"])
    if target is None:
        return f"{ref}: no step named {match['step']!r}"
    if target["Type"] == "Processing" and (prop := PROPERTY_FILE.fullmatch(match["path"])):
        files = [f["PropertyFileName"] for f in target.get("PropertyFiles", [])]
        if prop["file"] not in files:
            return f"{ref}: {match['step']} declares property files {files}"
        return None
    pattern = STEP_PROPERTIES.get(target["Type"])
    prop = pattern.fullmatch(match["path"]) if pattern else None
    if prop is None:
        return f"{ref}: a {target['Type']} step has no such property"
    output = prop.groupdict().get("output")
    if output is not None:
        outputs = _output_names(target)
        if output not in outputs:
            return f"{ref}: {match['step']} has outputs {outputs}"
    return None


def _output_names(step: dict[str, Any]) -> list[str]:
    """Names a step's `output` properties may use: Processing outputs or Lambda outputs."""
    if step["Type"] == "Lambda":
        return [o["OutputName"] for o in step.get("OutputParameters", [])]
    return [o["OutputName"] for o in step["Arguments"]["ProcessingOutputConfig"]["Outputs"]]

"""Checks on an emitted definition that its JSON schema cannot express.

They read the JSON itself, not the graph, so they also hold for definitions written by hand or
by the SageMaker SDK, and they guard the emit stage against drifting from the graph.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

NAME = re.compile(r"^[A-Za-z0-9\-_]{1,64}$")
PIPELINE_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")
MAX_CHARS = 1_048_576
GET_STEP = re.compile(r"^Steps\.(?P<step>[^.\[]+)\.(?P<path>.+)$")
PROPERTIES = {
    "Processing": re.compile(
        r"ProcessingOutputConfig\.Outputs\['(?P<output>[^']+)'\]\.S3Output\.S3Uri"
        r"|PropertyFiles\.(?P<file>\w+)"
    ),
    "Training": re.compile(r"ModelArtifacts\.S3ModelArtifacts|TrainingJobName"),
    "Model": re.compile(r"ModelName"),
    "Transform": re.compile(r"TransformOutput\.S3OutputPath"),
    "RegisterModel": re.compile(r"ModelPackageArn"),
    "QualityCheck": re.compile(
        r"(CalculatedBaseline|BaselineUsedForDriftCheck)(Statistics|Constraints)"
    ),
    "Lambda": re.compile(r"OutputParameters\['(?P<parameter>[^']+)'\]"),
    "Tuning": re.compile(
        r"TrainingJobSummaries\[\d+\]\.TrainingJobName|BestTrainingJob\.TrainingJobName"
    ),
}
EXECUTION = {
    "PipelineName",
    "PipelineExecutionId",
    "PipelineExecutionArn",
    "StartDateTime",
    "CurrentDateTime",
    "PipelineArn",
}


def all_steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for step in steps:
        yield step
        args = step.get("Arguments", {})
        if step.get("Type") == "Condition":
            yield from all_steps(args.get("IfSteps", []) + args.get("ElseSteps", []))


def check_definition(definition: dict[str, Any], pipeline_name: str, text: str) -> list[str]:
    """Every rule broken by one definition, as readable sentences (empty when it is sound)."""
    problems = []
    if len(text) > MAX_CHARS:
        problems.append(f"definition has {len(text)} characters; CreatePipeline takes {MAX_CHARS}")
    if not PIPELINE_NAME.match(pipeline_name):
        problems.append(f"pipeline name {pipeline_name!r} breaks {PIPELINE_NAME.pattern}")
    steps = {s["Name"]: s for s in all_steps(definition["Steps"])}
    count = sum(1 for _ in all_steps(definition["Steps"]))
    if count != len(steps):
        problems.append("step names are not unique")
    parameters = {p["Name"] for p in definition.get("Parameters", [])}
    for name in [*steps, *parameters]:
        if not NAME.match(name):
            problems.append(f"name {name!r} breaks {NAME.pattern}")
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
    pattern = PROPERTIES.get(target["Type"])
    prop = pattern.fullmatch(match["path"]) if pattern else None
    if prop is None:
        return f"{ref}: a {target['Type']} step has no such property"
    groups = prop.groupdict()
    if groups.get("output"):
        outputs = [
            o["OutputName"] for o in target["Arguments"]["ProcessingOutputConfig"]["Outputs"]
        ]
        if groups["output"] not in outputs:
            return f"{ref}: {match['step']} has outputs {outputs}"
    if groups.get("parameter"):
        names = [o["OutputName"] for o in target.get("OutputParameters", [])]
        if groups["parameter"] not in names:
            return f"{ref}: {match['step']} has output parameters {names}"
    if groups.get("file"):
        files = [f["PropertyFileName"] for f in target.get("PropertyFiles", [])]
        if groups["file"] not in files:
            return f"{ref}: {match['step']} declares property files {files}"
    return None

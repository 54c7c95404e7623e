"""Stage 4, emit: graph -> SageMaker Pipeline definition dict -> canonical JSON.

Pure functions: no AWS, no clock, no randomness, so the same graph always gives the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from kernel.ir import (
    ExecutionVariable,
    Join,
    JsonGet,
    ParameterRef,
    Pipeline,
    Step,
    StepRef,
)

VERSION = "2020-12-01"
MAX_DEFINITION_CHARS = 1_048_576  # CreatePipeline's limit on PipelineDefinition


def render(value: Any) -> Any:
    """Turn reference objects into the definition's expression dicts, recursively."""
    if isinstance(value, StepRef):
        return {"Get": f"Steps.{value.step}.{value.path}"}
    if isinstance(value, ParameterRef):
        return {"Get": f"Parameters.{value.name}"}
    if isinstance(value, ExecutionVariable):
        return {"Get": f"Execution.{value.name}"}
    if isinstance(value, Join):
        return {"Std:Join": {"On": value.on, "Values": [render(v) for v in value.values]}}
    if isinstance(value, JsonGet):
        return {
            "Std:JsonGet": {
                "Path": value.path,
                "PropertyFile": {"Get": f"Steps.{value.step}.PropertyFiles.{value.property_file}"},
            }
        }
    if isinstance(value, Mapping):
        return {str(k): render(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render(v) for v in value]
    return value


def step_definition(step: Step) -> dict[str, Any]:
    """One step as the definition lists it (condition branches hold whole steps)."""
    arguments = dict(step.arguments)
    if step.type == "Condition":
        arguments["IfSteps"] = [step_definition(s) for s in step.if_steps]
        arguments["ElseSteps"] = [step_definition(s) for s in step.else_steps]
    out: dict[str, Any] = {"Name": step.name, "Type": step.type, "Arguments": render(arguments)}
    if step.property_files:
        out["PropertyFiles"] = [
            {"PropertyFileName": f.name, "OutputName": f.output, "FilePath": f.path}
            for f in step.property_files
        ]
    if step.depends_on:
        out["DependsOn"] = list(step.depends_on)
    out.update(render(dict(step.extra)))
    return out


def pipeline_definition(pipeline: Pipeline) -> dict[str, Any]:
    return {
        "Version": VERSION,
        "Metadata": {},
        "Parameters": [
            {"Name": p.name, "Type": p.type, "DefaultValue": p.default} for p in pipeline.parameters
        ],
        "PipelineExperimentConfig": {
            "ExperimentName": {"Get": "Execution.PipelineName"},
            "TrialName": {"Get": "Execution.PipelineExecutionId"},
        },
        "Steps": [step_definition(s) for s in pipeline.steps],
    }


def canonical_json(data: Any) -> str:
    """Sorted keys, 2-space indent, trailing newline: byte-identical for equal data."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

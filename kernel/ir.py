"""The intermediate form: frozen steps whose arguments hold typed references.

References between steps are objects (`StepRef`, `JsonGet`, `ParameterRef`...) that the emit
stage renders to `{"Get": ...}`, so the graph checks can see every edge, check that it points at
a real step and property, and find cycles.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

STEP_NAME = re.compile(r"^[A-Za-z0-9\-_]{1,64}$")


# ---- values that render to pipeline expressions -------------------------------------------


@dataclass(frozen=True)
class Parameter:
    """A pipeline parameter: set per execution, referenced as Parameters.<name>."""

    name: str
    type: str  # "String" | "Float" | "Integer" | "Boolean"
    default: str | float | int | bool


PARAMETER_LITERALS = {  # the literals each parameter type takes; String takes any text
    "Integer": re.compile(r"[+-]?[0-9]+"),
    "Float": re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"),
    "Boolean": re.compile(r"true|false"),
}


def value_fits(kind: str, value: str) -> bool:
    """Whether `value` is a literal of the parameter type (Python's int() and float() would also
    take '1_000', ' 5' or 'nan', which SageMaker does not). Publishing and the engine share it."""
    pattern = PARAMETER_LITERALS.get(kind)
    return pattern is None or pattern.fullmatch(value) is not None


@dataclass(frozen=True)
class ParameterRef:
    name: str


@dataclass(frozen=True)
class ExecutionVariable:
    name: str  # e.g. "PipelineExecutionId"


@dataclass(frozen=True)
class StepRef:
    """A property of another step's outcome; `path` is the part after Steps.<step>."""

    step: str
    path: str


def step_output(step: str, output: str) -> StepRef:
    """The S3 URI of a Processing step's named output."""
    return StepRef(step, f"ProcessingOutputConfig.Outputs['{output}'].S3Output.S3Uri")


def model_artifacts(step: str) -> StepRef:
    """The model.tar.gz of a Training step."""
    return StepRef(step, "ModelArtifacts.S3ModelArtifacts")


def tuning_job_name(step: str, rank: int) -> StepRef:
    """The training job name of the tuning job's rank-th best model (0 = best)."""
    return StepRef(step, f"TrainingJobSummaries[{rank}].TrainingJobName")


@dataclass(frozen=True)
class Join:
    on: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class JsonGet:
    """A value read from a property file that another step wrote (e.g. the evaluation report)."""

    step: str
    property_file: str
    path: str


@dataclass(frozen=True)
class PropertyFile:
    name: str
    output: str
    path: str
    contract: Mapping[str, Any]  # JSON schema of the file, to check JsonGet paths against

    def __hash__(self) -> int:
        return hash((self.name, self.output, self.path))


# ---- steps -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One pipeline step. `arguments` holds plain data and the reference objects above."""

    name: str
    type: str
    arguments: Mapping[str, Any]
    outputs: tuple[str, ...] = ()
    property_files: tuple[PropertyFile, ...] = ()
    depends_on: tuple[str, ...] = ()
    if_steps: tuple[Step, ...] = ()
    else_steps: tuple[Step, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)  # other top-level keys

    def nested(self) -> Iterator[Step]:
        """This step and every step inside its condition branches."""
        yield self
        for child in (*self.if_steps, *self.else_steps):
            yield from child.nested()


@dataclass(frozen=True)
class Pipeline:
    name: str
    parameters: tuple[Parameter, ...]
    steps: tuple[Step, ...]

    def all_steps(self) -> list[Step]:
        return [s for top in self.steps for s in top.nested()]


# Properties each step type exposes: patterns of the path after Steps.<name>. A named group
# `output` must name one of the step's outputs (Processing outputs, Lambda output parameters).
STEP_PROPERTIES = {
    step_type: re.compile("|".join(patterns))
    for step_type, patterns in {
        "Processing": [r"ProcessingOutputConfig\.Outputs\['(?P<output>[^']+)'\]\.S3Output\.S3Uri"],
        "Training": [r"ModelArtifacts\.S3ModelArtifacts", r"TrainingJobName"],
        "Model": [r"ModelName"],
        "Transform": [r"TransformOutput\.S3OutputPath"],
        "RegisterModel": [r"ModelPackageArn"],
        "QualityCheck": [r"(CalculatedBaseline|BaselineUsedForDriftCheck)(Statistics|Constraints)"],
        "Lambda": [r"OutputParameters\['(?P<output>[^']+)'\]"],
        "Tuning": [
            r"TrainingJobSummaries\[\d+\]\.TrainingJobName",
            r"BestTrainingJob\.TrainingJobName",
        ],
    }.items()
}


def references(value: Any) -> Iterator[StepRef | JsonGet | ParameterRef]:
    """Every reference inside a step's arguments, depth first."""
    if isinstance(value, StepRef | JsonGet | ParameterRef):
        yield value
    elif isinstance(value, Join):
        for item in value.values:
            yield from references(item)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from references(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from references(item)

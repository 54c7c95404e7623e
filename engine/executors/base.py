"""The contract between the engine's scheduler and the executor of each step type.

The scheduler resolves every expression in a step (Get, Std:Join, Std:JsonGet) before calling
its executor, so an executor sees plain values. It returns the step's properties shaped like the
matching Describe* answer, which later steps read with `{"Get": "Steps.<name>.<path>"}`; maps
that SageMaker addresses by name (Processing outputs, Lambda output parameters) are dicts keyed
by that name, e.g. {"ProcessingOutputConfig": {"Outputs": {"train": {"S3Output": {...}}}}}.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from engine.registry import DEFAULT_ACCOUNT, DEFAULT_REGION
from engine.s3 import S3
from kernel.errors import Problem
from kernel.manifest import Function


class StepFailed(Exception):
    """The step ends Failed; the message is its FailureReason (what, why, and how to fix it)."""

    @classmethod
    def because(cls, where: str, what: str, why: str, fix: str) -> StepFailed:
        """A failure whose reason reads where/what/why/fix (as Problem.reason renders it)."""
        return cls(Problem(where, what, why, fix).reason())


@dataclass(frozen=True)
class StepContext:
    """Everything an executor may use.

    Attributes:
        pipeline_name: from assets.json.
        execution_id: this execution's id (also Execution.PipelineExecutionId).
        step_name, step_type: the step's Name and Type.
        arguments: the step's Arguments, every expression resolved.
        definition: the whole step definition with every expression resolved (top-level keys
            such as PropertyFiles, OutputParameters, CheckType, SkipCheck, CacheConfig).
        s3: the folder-backed S3 of this engine root.
        work: an empty scratch folder for this step in this execution.
        log: appends a line to this step's log file.
        log_path: that log file (a job's stdout and stderr go there too).
        root: the engine's root folder (registry, endpoints, schedules live under it).
        run_process: runs a child process the engine can stop on Ctrl-C; see engine/process.py.
        assets: the bundle's assets by name -> their s3_uri (in this engine's S3 folder).
        region, account: the pipeline's, from the bundle's manifest: those of the ARNs it makes.
        python_for: the interpreter a job of an image runs with (the engine's own, or with
            `--containers` the image's stack; see engine/environments.py).
        functions: the bundle's Lambda functions (assets.json `functions`) by FunctionArn.
    """

    pipeline_name: str
    execution_id: str
    step_name: str
    step_type: str
    arguments: dict[str, Any]
    definition: dict[str, Any]
    s3: S3
    work: Path
    log: Callable[[str], None]
    log_path: Path
    root: Path
    run_process: Callable[..., int]
    assets: Mapping[str, str] = field(default_factory=dict)
    python_for: Callable[[str], str] = field(default=lambda _image: sys.executable)
    region: str = DEFAULT_REGION  # the defaults serve executors' own tests
    account: str = DEFAULT_ACCOUNT
    functions: Mapping[str, Function] = field(default_factory=dict)

    def arn(self, resource: str) -> str:
        """The SageMaker ARN of a resource this step makes, e.g. "training-job/<name>"."""
        return f"arn:aws:sagemaker:{self.region}:{self.account}:{resource}"


class Executor(Protocol):
    def __call__(self, ctx: StepContext) -> dict[str, Any]: ...

"""Model steps (CreateModel): record the container, as SageMaker keeps a Model resource.

The record, `<root>/models/<ModelName>.json`, is what a Transform step that names the model reads
(image, model data, environment). As CreateModel does, the step fails when the model data is not
there.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from engine.executors.base import StepContext, StepFailed
from engine.records import now, write_json

NAME_MAX = 63


def job_name(ctx: StepContext) -> str:
    """The name SageMaker Pipelines gives a step's job or model: pipelines-<execution>-<step>."""
    name = re.sub(r"[^a-zA-Z0-9-]+", "-", f"pipelines-{ctx.execution_id}-{ctx.step_name}")
    return name[:NAME_MAX].strip("-")


def model_record_path(root: Path, model_name: str) -> Path:
    return root / "models" / f"{model_name}.json"


def primary_container(arguments: dict[str, Any], where: str) -> dict[str, Any]:
    """The model's container: PrimaryContainer, or the only entry of Containers."""
    container = arguments.get("PrimaryContainer")
    if container is None and len(arguments.get("Containers") or []) == 1:
        container = arguments["Containers"][0]
    if not isinstance(container, dict) or not container.get("Image"):
        raise StepFailed.because(
            where,
            "no PrimaryContainer with an Image",
            "the local engine serves one container a model",
            "give the Model step Arguments.PrimaryContainer {Image, ModelDataUrl}",
        )
    return container


def run(ctx: StepContext) -> dict[str, Any]:
    container = primary_container(ctx.arguments, f"step {ctx.step_name}")
    model_data = container.get("ModelDataUrl")
    if not isinstance(model_data, str) or not ctx.s3.path(model_data).is_file():
        raise StepFailed.because(
            f"step {ctx.step_name}",
            f"ClientError: Could not find model data at {model_data}",
            "CreateModel checks that the model artifact exists",
            "point PrimaryContainer.ModelDataUrl at the training step's "
            "ModelArtifacts.S3ModelArtifacts",
        )
    name = job_name(ctx)
    record = {
        "ModelName": name,
        "PrimaryContainer": {
            "Image": container["Image"],
            "ModelDataUrl": model_data,
            "Environment": dict(container.get("Environment") or {}),
        },
        "ExecutionRoleArn": ctx.arguments.get("ExecutionRoleArn", ""),
        "CreationTime": now(),
        "PipelineExecutionId": ctx.execution_id,
    }
    write_json(model_record_path(ctx.root, name), record)
    ctx.log(f"model {name}: {container['Image']} serving {model_data}")
    return {"ModelName": name, "PrimaryContainer": record["PrimaryContainer"]}

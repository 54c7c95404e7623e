"""CreateModel: a SageMaker Model from a candidate's artifact, for batch transform to use."""

from __future__ import annotations

from typing import Any

from components.model.config import Model
from kernel.context import BuildContext
from kernel.ir import Step, StepRef


def build(settings: Model, ctx: BuildContext, *, name: str, model_uri: Any) -> list[Step]:
    arguments = {
        "ExecutionRoleArn": ctx.role,
        "PrimaryContainer": {
            "Environment": settings.environment,
            "Image": settings.image,
            "ModelDataUrl": model_uri,
        },
    }
    return [Step(name=name, type="Model", arguments=arguments)]


def model_name(step: str) -> StepRef:
    return StepRef(step, "ModelName")

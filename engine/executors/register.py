"""RegisterModel steps: a new version in the local model registry (`<root>/registry.sqlite`).

The ARN carries the pipeline's region and account (the bundle's manifest says which).
"""

from __future__ import annotations

from typing import Any

from engine.executors.base import StepContext, StepFailed
from engine.registry import Registry


def run(ctx: StepContext) -> dict[str, Any]:
    arguments = ctx.arguments
    containers = (arguments.get("InferenceSpecification") or {}).get("Containers") or []
    if not containers or not containers[0].get("Image"):
        raise StepFailed(
            f"step {ctx.step_name}: InferenceSpecification.Containers is empty\n"
            "  why: a model package needs the container that serves it\n"
            "  fix: give the RegisterModel step a container with Image and ModelDataUrl"
        )
    container = containers[0]
    model_data = str(container.get("ModelDataUrl", ""))
    if not model_data or not ctx.s3.path(model_data).is_file():
        raise StepFailed(
            f"step {ctx.step_name}: ValidationException: Could not access model data at "
            f"{model_data or '(none)'}\n"
            "  why: CreateModelPackage checks the model artifact exists\n"
            "  fix: point the container's ModelDataUrl at the training step's model.tar.gz"
        )
    registry = Registry(ctx.root / "registry.sqlite", region=ctx.region, account=ctx.account)
    status = str(arguments.get("ModelApprovalStatus") or "PendingManualApproval")
    try:
        arn = registry.register(
            str(arguments.get("ModelPackageGroupName", "")),
            model_data_url=model_data,
            image=str(container["Image"]),
            status=status,
            metrics=arguments.get("ModelMetrics") or {},
            drift_check_baselines=arguments.get("DriftCheckBaselines") or {},
            inference_specification=arguments["InferenceSpecification"],
            execution_id=ctx.execution_id,
        )
    except ValueError as error:
        raise StepFailed(f"step {ctx.step_name}: ValidationException: {error}") from None
    ctx.log(f"registered {arn} ({status})")
    return {
        "ModelPackageArn": arn,
        "ModelPackageGroupName": arguments["ModelPackageGroupName"],
        "ModelPackageVersion": int(arn.rsplit("/", 1)[1]),
        "ModelApprovalStatus": status,
    }

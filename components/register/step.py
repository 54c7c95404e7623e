"""Register: a model package version in the project's group, with its evaluation report."""

from __future__ import annotations

from typing import Any

from compiler import images
from compiler.context import BuildContext
from compiler.graph import Join, Step, StepRef, step_output
from components.evaluate.step import REPORT
from components.register.config import Registration

REGISTRATION = Registration()


def inference_image(ctx: BuildContext) -> str:
    fw, aws = ctx.config.framework, ctx.config.aws
    return fw.inference_image or images.image_uri(
        fw.name, "inference", fw.version, fw.py_version, aws.region, fw.inference_instance_type
    )


def _metrics(statistics: Any, constraints: Any) -> dict[str, Any]:
    return {
        "Constraints": {"ContentType": "application/json", "S3Uri": constraints},
        "Statistics": {"ContentType": "application/json", "S3Uri": statistics},
    }


def _baseline(check: str, kind: str) -> dict[str, Any]:
    """A QualityCheck step's calculated or drift-check statistics and constraints."""
    return _metrics(StepRef(check, f"{kind}Statistics"), StepRef(check, f"{kind}Constraints"))


def build(
    ctx: BuildContext,
    name: str,
    status: str,
    model_uri: Any,
    evaluation: str,
    data_quality: str | None = None,
    model_quality: str | None = None,
) -> Step:
    """Register the model at `model_uri` as `status`; `evaluation` names its Evaluate step.

    With quality checks, their calculated baselines become model metrics and the baselines they
    used become the drift-check baselines, which later checks and schedules compare against.

    The inference code travels inside the model artifact (code/inference.py), so the container
    needs no entry point and the SDK's repack step is not needed.
    """
    instance = ctx.config.framework.inference_instance_type
    report_uri = Join("/", (step_output(evaluation, REPORT.output), REPORT.file))
    arguments: dict[str, Any] = {
        "InferenceSpecification": {
            "Containers": [
                {"Environment": {}, "Image": inference_image(ctx), "ModelDataUrl": model_uri}
            ],
            "SupportedContentTypes": list(REGISTRATION.content_types),
            "SupportedRealtimeInferenceInstanceTypes": [instance],
            "SupportedResponseMIMETypes": list(REGISTRATION.response_types),
            "SupportedTransformInstanceTypes": [instance],
        },
        "ModelApprovalStatus": status,
        "ModelMetrics": {
            "Bias": {},
            "Explainability": {},
            "ModelQuality": {
                "Statistics": {"ContentType": "application/json", "S3Uri": report_uri}
            },
        },
        "ModelPackageGroupName": ctx.config.project.model_package_group,
        "SkipModelValidation": "None",
    }
    metrics: dict[str, Any] = arguments["ModelMetrics"]
    drift: dict[str, Any] = {}
    if data_quality:
        metrics["ModelDataQuality"] = _baseline(data_quality, "CalculatedBaseline")
        drift["ModelDataQuality"] = _baseline(data_quality, "BaselineUsedForDriftCheck")
    if model_quality:
        metrics["ModelQuality"]["Constraints"] = {
            "ContentType": "application/json",
            "S3Uri": StepRef(model_quality, "CalculatedBaselineConstraints"),
        }
        drift["ModelQuality"] = _baseline(model_quality, "BaselineUsedForDriftCheck")
    if drift:
        arguments["DriftCheckBaselines"] = drift  # the SDK sends no empty Bias/Explainability
    return Step(name=name, type="RegisterModel", arguments=arguments)

"""Register: a model package version in the project's group, with its evaluation report.

With quality checks, their calculated baselines become model metrics and the baselines they used
become the drift-check baselines, which later checks and schedules compare against. The inference
code travels inside the model artifact (code/inference.py), so the container needs no entry point
and the SDK's repack step is not needed.
"""

from __future__ import annotations

from typing import Any

from components.model.contract import CONTENT_TYPES, RESPONSE_TYPES, serving_environment
from components.register.config import Register
from kernel.context import BuildContext
from kernel.ir import Step, StepRef


def _metrics(statistics: Any, constraints: Any) -> dict[str, Any]:
    return {
        "Constraints": {"ContentType": "application/json", "S3Uri": constraints},
        "Statistics": {"ContentType": "application/json", "S3Uri": statistics},
    }


def _baseline(check: str, kind: str) -> dict[str, Any]:
    """A QualityCheck step's calculated or drift-check statistics and constraints."""
    return _metrics(StepRef(check, f"{kind}Statistics"), StepRef(check, f"{kind}Constraints"))


def build(
    settings: Register,
    ctx: BuildContext,
    *,
    name: str,
    model_uri: Any,
    report_uri: Any,
    data_quality: str | None = None,
    model_quality: str | None = None,
) -> list[Step]:
    """Register the model at `model_uri`; the check arguments name QualityCheck steps."""
    arguments: dict[str, Any] = {
        "InferenceSpecification": {
            "Containers": [
                {
                    "Environment": serving_environment(settings.positive_class),
                    "Image": settings.image,
                    "ModelDataUrl": model_uri,
                }
            ],
            "SupportedContentTypes": list(CONTENT_TYPES),
            "SupportedRealtimeInferenceInstanceTypes": [settings.instance_type],
            "SupportedResponseMIMETypes": list(RESPONSE_TYPES),
            "SupportedTransformInstanceTypes": [settings.instance_type],
        },
        "ModelApprovalStatus": settings.status,
        "ModelMetrics": {
            "Bias": {},
            "Explainability": {},
            "ModelQuality": {
                "Statistics": {"ContentType": "application/json", "S3Uri": report_uri}
            },
        },
        "ModelPackageGroupName": settings.model_package_group,
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
    return [Step(name=name, type="RegisterModel", arguments=arguments)]


def package_arn(step: str) -> StepRef:
    return StepRef(step, "ModelPackageArn")

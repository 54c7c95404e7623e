"""Register: a model package version in the project's group, with its evaluation report.

With quality baselines, the calculated ones become model metrics and the ones drift checks use
become the drift-check baselines, which later checks and schedules compare against (a
QualityCheck step's two may differ; a builtin baseline job's are the same files). The inference
code travels inside the model artifact (code/inference.py), so the container needs no entry point
and the SDK's repack step is not needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.model.contract import CONTENT_TYPES, RESPONSE_TYPES
from components.register.config import Register
from kernel.context import BuildContext
from kernel.ir import Step, StepRef


@dataclass(frozen=True)
class Baseline:
    """Where one quality baseline's files are: as calculated, and as drift checks use them."""

    statistics: Any
    constraints: Any
    drift_statistics: Any
    drift_constraints: Any


def _metrics(statistics: Any, constraints: Any) -> dict[str, Any]:
    return {
        "Constraints": {"ContentType": "application/json", "S3Uri": constraints},
        "Statistics": {"ContentType": "application/json", "S3Uri": statistics},
    }


def build(
    settings: Register,
    ctx: BuildContext,
    *,
    name: str,
    model_uri: Any,
    report_uri: Any,
    data_quality: Baseline | None = None,
    model_quality: Baseline | None = None,
) -> list[Step]:
    """Register the model at `model_uri` with its report and quality baselines."""
    arguments: dict[str, Any] = {
        "InferenceSpecification": {
            "Containers": [
                {
                    "Environment": settings.environment,
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
        metrics["ModelDataQuality"] = _metrics(data_quality.statistics, data_quality.constraints)
        drift["ModelDataQuality"] = _metrics(
            data_quality.drift_statistics, data_quality.drift_constraints
        )
    if model_quality:
        metrics["ModelQuality"]["Constraints"] = {
            "ContentType": "application/json",
            "S3Uri": model_quality.constraints,
        }
        drift["ModelQuality"] = _metrics(
            model_quality.drift_statistics, model_quality.drift_constraints
        )
    if drift:
        arguments["DriftCheckBaselines"] = drift  # the SDK sends no empty Bias/Explainability
    return [Step(name=name, type="RegisterModel", arguments=arguments)]


def package_arn(step: str) -> StepRef:
    return StepRef(step, "ModelPackageArn")

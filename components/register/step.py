"""Register: a model package version in the project's group, with its evaluation report."""

from __future__ import annotations

from typing import Any

from compiler import images
from compiler.context import BuildContext
from compiler.graph import Join, Step, step_output
from components.evaluate.step import REPORT
from components.register.config import Registration

REGISTRATION = Registration()


def inference_image(ctx: BuildContext) -> str:
    fw, aws = ctx.config.framework, ctx.config.aws
    return fw.inference_image or images.image_uri(
        fw.name, "inference", fw.version, fw.py_version, aws.region, fw.inference_instance_type
    )


def build(ctx: BuildContext, name: str, status: str, model_uri: Any, evaluation: str) -> Step:
    """Register the model at `model_uri` as `status`; `evaluation` names its Evaluate step.

    The inference code travels inside the model artifact (code/inference.py), so the container
    needs no entry point and the SDK's repack step is not needed.
    """
    instance = ctx.config.framework.inference_instance_type
    report_uri = Join("/", (step_output(evaluation, REPORT.output), REPORT.file))
    arguments = {
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
    return Step(name=name, type="RegisterModel", arguments=arguments)

"""Shared shape of Processing jobs (the SageMaker SDK's ScriptProcessor layout)."""

from __future__ import annotations

from typing import Any

from kernel.context import BuildContext

CODE_DIR = "/opt/ml/processing/input/code"
VOLUME_GB = 30


def processing_input(name: str, source: Any, local_path: str) -> dict[str, Any]:
    return {
        "AppManaged": False,
        "InputName": name,
        "S3Input": {
            "LocalPath": local_path,
            "S3CompressionType": "None",
            "S3DataDistributionType": "FullyReplicated",
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3Uri": source,
        },
    }


def processing_output(ctx: BuildContext, step: str, name: str) -> dict[str, Any]:
    return {
        "AppManaged": False,
        "OutputName": name,
        "S3Output": {
            "LocalPath": f"/opt/ml/processing/{name}",
            "S3UploadMode": "EndOfJob",
            "S3Uri": ctx.run_output(step, name),
        },
    }


def processing_arguments(
    ctx: BuildContext,
    *,
    step: str,
    image: str,
    code_path: str,
    code_asset: str,
    inputs: list[dict[str, Any]],
    outputs: tuple[str, ...],
    arguments: list[str] | None = None,
    instance_type: Any = None,
) -> dict[str, Any]:
    """Arguments of a Processing step that runs one uploaded script with python3.

    The instance type is the ProcessingInstanceType parameter unless `instance_type` is given.
    """
    code = ctx.code_asset(code_asset, code_path)
    filename = code_path.rsplit("/", 1)[-1]
    app: dict[str, Any] = {
        "ContainerEntrypoint": ["python3", f"{CODE_DIR}/{filename}"],
        "ImageUri": image,
    }
    if arguments:
        app["ContainerArguments"] = arguments
    return {
        "AppSpecification": app,
        "ProcessingInputs": [*inputs, processing_input("code", code.s3_uri, CODE_DIR)],
        "ProcessingOutputConfig": {
            "Outputs": [processing_output(ctx, step, name) for name in outputs]
        },
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": instance_type or ctx.parameter("ProcessingInstanceType"),
                "VolumeSizeInGB": VOLUME_GB,
            }
        },
        "RoleArn": ctx.role,
    }

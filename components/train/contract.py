"""The training job shape that a Training step and a Tuning step's job definition share."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from components.train.config import Training
from kernel.context import BuildContext

CHANNELS = ("train", "validation", "artifacts")
MAX_RUNTIME_S = 86_400
# The metric the training scripts print each epoch, as SageMaker parses it from the logs.
METRIC_DEFINITIONS = (("validation:accuracy", r"val_accuracy: ([0-9\.]+)"),)


def models_prefix(ctx: BuildContext) -> str:
    """Key prefix under which training jobs write <job-name>/output/model.tar.gz."""
    return f"{ctx.project_prefix}/models"


def script_hyperparameters(
    settings: Training, ctx: BuildContext, exclude: frozenset[str] = frozenset()
) -> dict[str, str]:
    """Hyperparameters as SageMaker framework containers read them: JSON-encoded strings."""
    source = ctx.sourcedir_asset("training-sourcedir", settings.sources)
    values: dict[str, Any] = {k: v for k, v in settings.hyperparameters.items() if k not in exclude}
    values |= {
        "inference_handler": settings.inference_handler,
        "sagemaker_program": settings.program,
        "sagemaker_submit_directory": source.s3_uri,
        "sagemaker_region": ctx.place.region,
    }
    encoded = {k: json.dumps(v) for k, v in values.items()}
    encoded["sagemaker_container_log_level"] = "20"
    return encoded


def job_definition(
    settings: Training, ctx: BuildContext, channels: Mapping[str, Any]
) -> dict[str, Any]:
    """The parts a Training step and a Tuning step's TrainingJobDefinition share."""
    return {
        "AlgorithmSpecification": {
            "MetricDefinitions": [{"Name": n, "Regex": r} for n, r in METRIC_DEFINITIONS],
            "TrainingImage": settings.image,
            "TrainingInputMode": "File",
        },
        "InputDataConfig": [
            {
                "ChannelName": channel,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataDistributionType": "FullyReplicated",
                        "S3DataType": "S3Prefix",
                        "S3Uri": channels[channel],
                    }
                },
            }
            for channel in CHANNELS
        ],
        "OutputDataConfig": {"S3OutputPath": ctx.s3(models_prefix(ctx))},
        "RoleArn": ctx.role,
        "StoppingCondition": {"MaxRuntimeInSeconds": MAX_RUNTIME_S},
    }


def resource_config(ctx: BuildContext) -> dict[str, Any]:
    return {
        "InstanceCount": 1,
        "InstanceType": ctx.parameter("TrainingInstanceType"),
        "VolumeSizeInGB": 30,
    }

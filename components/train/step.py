"""Train: one framework training job on the preprocessed train/validation sets."""

from __future__ import annotations

import json
from typing import Any

from compiler import images
from compiler.context import BuildContext
from compiler.graph import Step, step_output
from components.preprocess import step as preprocess
from components.train.config import METRIC_DEFINITIONS

NAME = "Train"
CHANNELS = ("train", "validation", "artifacts")
SOURCE_FOLDERS = ("components/train/scripts", "components/inference/scripts")
MAX_RUNTIME_S = 86_400


def training_image(ctx: BuildContext) -> str:
    fw, aws = ctx.config.framework, ctx.config.aws
    return fw.training_image or images.image_uri(
        fw.name, "training", fw.version, fw.py_version, aws.region, fw.training_instance_type
    )


def models_prefix(ctx: BuildContext) -> str:
    """Key prefix under which training jobs write <job-name>/output/model.tar.gz."""
    return f"{ctx.project_prefix}/models"


def script_hyperparameters(
    ctx: BuildContext, exclude: frozenset[str] = frozenset()
) -> dict[str, str]:
    """Hyperparameters as SageMaker framework containers read them: JSON-encoded strings."""
    source = ctx.sourcedir_asset("training-sourcedir", SOURCE_FOLDERS)
    values: dict[str, Any] = {
        k: v for k, v in ctx.config.project.hyperparameters.model_dump().items() if k not in exclude
    }
    values |= {
        "sagemaker_program": f"components/train/scripts/train_{ctx.config.framework.name}.py",
        "sagemaker_submit_directory": source.s3_uri,
        "sagemaker_region": ctx.config.aws.region,
    }
    encoded = {k: json.dumps(v) for k, v in values.items()}
    encoded["sagemaker_container_log_level"] = "20"
    return encoded


def job_definition(ctx: BuildContext) -> dict[str, Any]:
    """The parts a Training step and a Tuning step's TrainingJobDefinition share."""
    return {
        "AlgorithmSpecification": {
            "MetricDefinitions": [{"Name": n, "Regex": r} for n, r in METRIC_DEFINITIONS],
            "TrainingImage": training_image(ctx),
            "TrainingInputMode": "File",
        },
        "InputDataConfig": [
            {
                "ChannelName": channel,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataDistributionType": "FullyReplicated",
                        "S3DataType": "S3Prefix",
                        "S3Uri": step_output(preprocess.NAME, channel),
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
    instance = ctx.parameter(
        "TrainingInstanceType", "String", ctx.config.framework.training_instance_type
    )
    return {"InstanceCount": 1, "InstanceType": instance, "VolumeSizeInGB": 30}


def build(ctx: BuildContext) -> Step:
    arguments = job_definition(ctx)
    arguments["AlgorithmSpecification"]["EnableSageMakerMetricsTimeSeries"] = True
    arguments |= {
        "HyperParameters": script_hyperparameters(ctx),
        "ProfilerConfig": {"DisableProfiler": True},
        "ResourceConfig": resource_config(ctx),
    }
    return Step(name=NAME, type="Training", arguments=arguments)

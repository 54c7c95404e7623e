"""Train: one framework training job on the preprocessed train/validation/artifacts channels."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.train.config import Training
from components.train.contract import job_definition, resource_config, script_hyperparameters
from kernel.context import BuildContext
from kernel.ir import Step

NAME = "Train"


def build(settings: Training, ctx: BuildContext, channels: Mapping[str, Any]) -> list[Step]:
    """`channels`: the S3 URI of each channel (contract.CHANNELS), as references."""
    arguments = job_definition(settings, ctx, channels)
    arguments["AlgorithmSpecification"]["EnableSageMakerMetricsTimeSeries"] = True
    arguments |= {
        "HyperParameters": script_hyperparameters(settings, ctx),
        "ProfilerConfig": {"DisableProfiler": True},
        "ResourceConfig": resource_config(ctx),
    }
    return [Step(name=NAME, type="Training", arguments=arguments)]

"""Tune: a hyperparameter tuning job over the training script; exposes its top-k models."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.train.contract import (
    job_definition,
    models_prefix,
    resource_config,
    script_hyperparameters,
)
from components.tune.config import Range, Tune
from kernel.context import BuildContext
from kernel.frameworks import HYPERPARAMETERS
from kernel.ir import Join, Step, tuning_job_name

NAME = "Tune"


def top_model_uri(ctx: BuildContext, rank: int) -> Join:
    """model.tar.gz of the rank-th best job (0 = best), like the SDK's get_top_model_s3_uri."""
    return Join(
        "/",
        (
            "s3:/",
            ctx.place.bucket,
            models_prefix(ctx),
            tuning_job_name(NAME, rank),
            "output/model.tar.gz",
        ),
    )


def parameter_ranges(search: dict[str, Range]) -> dict[str, list[dict[str, str]]]:
    ranges: dict[str, list[dict[str, str]]] = {
        "CategoricalParameterRanges": [],
        "ContinuousParameterRanges": [],
        "IntegerParameterRanges": [],
    }
    for name, rng in sorted(search.items()):
        integer = HYPERPARAMETERS[name].integer
        kind = "IntegerParameterRanges" if integer else "ContinuousParameterRanges"
        low, high = (int(rng.min), int(rng.max)) if integer else (rng.min, rng.max)
        ranges[kind].append(
            {"MaxValue": str(high), "MinValue": str(low), "Name": name, "ScalingType": rng.scaling}
        )
    return ranges


def build(settings: Tune, ctx: BuildContext, channels: Mapping[str, Any]) -> list[Step]:
    tuning = settings.tuning
    definition: dict[str, Any] = job_definition(settings.training, ctx, channels)
    definition |= {
        # The SDK writes HyperParameterTuningResourceConfig; the API accepts both, and the
        # published definition schema accepts only ResourceConfig.
        "ResourceConfig": resource_config(ctx),
        "StaticHyperParameters": script_hyperparameters(
            settings.training, ctx, frozenset(settings.ranges)
        ),
    }
    arguments = {
        "HyperParameterTuningJobConfig": {
            "HyperParameterTuningJobObjective": {
                "MetricName": tuning.objective_metric,
                "Type": tuning.objective_type,
            },
            "ParameterRanges": parameter_ranges(settings.ranges),
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": tuning.max_jobs,
                "MaxParallelTrainingJobs": tuning.max_parallel_jobs,
            },
            "Strategy": tuning.strategy,
            "TrainingJobEarlyStoppingType": "Off",
        },
        "TrainingJobDefinition": definition,
    }
    return [Step(name=NAME, type="Tuning", arguments=arguments)]

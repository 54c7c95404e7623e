"""Tune: a hyperparameter tuning job over the training script; exposes its top-k models."""

from __future__ import annotations

from typing import Any

from compiler.context import BuildContext
from compiler.graph import Join, Step, tuning_job_name
from components.train import step as train
from components.tune.config import INTEGER_HYPERPARAMETERS, Tuning

NAME = "Tune"


def top_model_uri(ctx: BuildContext, rank: int) -> Join:
    """model.tar.gz of the rank-th best job (0 = best), like the SDK's get_top_model_s3_uri."""
    return Join(
        "/",
        (
            "s3:/",
            ctx.config.aws.bucket,
            train.models_prefix(ctx),
            tuning_job_name(NAME, rank),
            "output/model.tar.gz",
        ),
    )


def parameter_ranges(tuning: Tuning) -> dict[str, list[dict[str, str]]]:
    ranges: dict[str, list[dict[str, str]]] = {
        "CategoricalParameterRanges": [],
        "ContinuousParameterRanges": [],
        "IntegerParameterRanges": [],
    }
    for name, rng in sorted(tuning.ranges.items()):
        integer = name in INTEGER_HYPERPARAMETERS
        kind = "IntegerParameterRanges" if integer else "ContinuousParameterRanges"
        low, high = (int(rng.min), int(rng.max)) if integer else (rng.min, rng.max)
        ranges[kind].append(
            {"MaxValue": str(high), "MinValue": str(low), "Name": name, "ScalingType": rng.scaling}
        )
    return ranges


def build(ctx: BuildContext) -> Step:
    tuning = ctx.config.training.tuning
    assert tuning is not None, "validated: tuning modes carry tuning settings"
    definition: dict[str, Any] = train.job_definition(ctx)
    definition |= {
        # The SDK writes HyperParameterTuningResourceConfig; the API accepts both, and the
        # published definition schema accepts only ResourceConfig.
        "ResourceConfig": train.resource_config(ctx),
        "StaticHyperParameters": train.script_hyperparameters(ctx, frozenset(tuning.ranges)),
    }
    arguments = {
        "HyperParameterTuningJobConfig": {
            "HyperParameterTuningJobObjective": {
                "MetricName": tuning.objective_metric,
                "Type": tuning.objective_type,
            },
            "ParameterRanges": parameter_ranges(tuning),
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": tuning.max_jobs,
                "MaxParallelTrainingJobs": tuning.max_parallel_jobs,
            },
            "Strategy": tuning.strategy,
            "TrainingJobEarlyStoppingType": "Off",
        },
        "TrainingJobDefinition": definition,
    }
    return Step(name=NAME, type="Tuning", arguments=arguments)

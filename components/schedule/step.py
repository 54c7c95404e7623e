"""Schedule*Monitor: Lambda steps that create (or update) monitoring schedules on the endpoint.

With Model Monitor, a monitoring schedule of the endpoint; with the builtin backend, an
EventBridge Scheduler schedule that starts the kind's monitoring pipeline with the endpoint and
the baseline as its parameters. Either way the schedule is made at run time, once the endpoint
and the registered baseline exist; the monitoring pipelines themselves are published with the
bundle, as their definitions are fixed at compile time.
"""

from __future__ import annotations

from typing import Any

from components.lambda_step.contract import lambda_call
from components.schedule.config import MonitorSchedule, PipelineSchedule
from components.schedule.contract import HANDLER, OUTPUT, PIPELINE_HANDLER, RECORD_PREPROCESSOR
from kernel.context import BuildContext
from kernel.ir import Step, StepRef


def build(
    settings: MonitorSchedule,
    ctx: BuildContext,
    *,
    name: str,
    endpoint: Any,
    check: str,
    after: str,
) -> list[Step]:
    """Watch `endpoint` against the baseline that QualityCheck step `check` used."""
    ctx.lambda_function(
        "schedule-function", HANDLER, settings.function_arn, settings.function_role_arn
    )
    schedule = settings.schedule
    event: dict[str, Any] = {
        "monitor_type": settings.kind,
        "endpoint_name": endpoint,
        "schedule_name": settings.schedule_name,
        "role_arn": ctx.role,
        "cron": schedule.cron,
        "instance_type": schedule.instance_type,
        "instance_count": 1,
        "max_runtime_seconds": schedule.max_runtime_seconds,
        "baseline_statistics_uri": StepRef(check, "BaselineUsedForDriftCheckStatistics"),
        "baseline_constraints_uri": StepRef(check, "BaselineUsedForDriftCheckConstraints"),
        "output_uri": ctx.s3(ctx.project_prefix, "monitoring", settings.kind.replace("_", "-")),
        "image_uri": settings.image,
    }
    if settings.kind == "data_quality":
        # Captured requests become records shaped like the baseline: the project's features.
        preprocessor = ctx.file_asset("record-preprocessor", RECORD_PREPROCESSOR)
        event["record_preprocessor_uri"] = preprocessor.s3_uri
        if settings.numeric_features:
            event["numeric_features"] = list(settings.numeric_features)
        if settings.categorical_features:
            event["categorical_features"] = list(settings.categorical_features)
        if settings.pixel_features:
            event["pixel_features"] = True
    if settings.kind == "model_quality":
        # No record preprocessor: the analyzer reads the prediction from the endpoint's output,
        # a list of answers (components/model/record.schema.json's SageMakerOutput).
        event |= {
            "ground_truth_uri": settings.ground_truth_uri,
            "problem_type": "MulticlassClassification",
            "inference_attribute": "0.label",
            "probability_attribute": "0.confidence",  # the predicted class's probability
        }
        if settings.positive_class is not None:  # labels are class names, this one positive
            event |= {
                "problem_type": "BinaryClassification",
                "probability_attribute": "0.probability",  # the positive class's probability
                "probability_threshold_attribute": settings.probability_threshold,
                "positive_label": settings.positive_class,
            }
    return [lambda_call(name, settings.function_arn, event, (OUTPUT,), after)]


def build_pipeline_schedule(
    settings: PipelineSchedule,
    ctx: BuildContext,
    *,
    name: str,
    parameters: dict[str, Any],
    after: str,
) -> list[Step]:
    """Start the monitoring pipeline on `settings.expression` with these parameter values."""
    ctx.lambda_function(
        "schedule-function", PIPELINE_HANDLER, settings.function_arn, settings.function_role_arn
    )
    event = {
        "schedule_name": settings.schedule_name,
        "schedule_expression": settings.expression,
        "timezone": "UTC",
        "pipeline_arn": settings.pipeline_arn,
        "scheduler_role_arn": settings.scheduler_role_arn,
        "parameters": parameters,
    }
    return [lambda_call(name, settings.function_arn, event, (OUTPUT,), after)]

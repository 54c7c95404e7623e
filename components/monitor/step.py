"""Monitor: quality baselines in the pipeline (QualityCheck) and schedules after deployment.

Data quality is checked on the training records as live requests carry them (no label). Model
quality needs predictions: a Model from the candidate's artifact, a batch Transform over the test
baseline that joins each prediction to its record, then a QualityCheck reading prediction and
ground truth.
"""

from __future__ import annotations

import json
from typing import Any

from compiler import images
from compiler.context import BuildContext
from compiler.graph import Join, ParameterRef, Step, StepRef, step_output
from components.deploy import step as deploy
from components.preprocess import step as preprocess
from components.processing import processing_input, processing_output
from components.register import step as register

DATA_QUALITY = "DataQualityBaseline"
DATASET_FORMAT = json.dumps({"json": {"lines": True}})  # the jsonl baselines and transform output
INPUT_DIR = "/opt/ml/processing/input/baseline_dataset_input"
OUTPUT = "quality_check_output"


def _check_arguments(
    ctx: BuildContext, step: str, dataset: Any, env: dict[str, str]
) -> dict[str, Any]:
    monitoring = ctx.config.monitoring
    output = processing_output(ctx, step, OUTPUT)
    output["S3Output"]["LocalPath"] = "/opt/ml/processing/output"
    return {
        "AppSpecification": {"ImageUri": images.monitor_image(ctx.config.aws.region)},
        "Environment": {
            "dataset_format": DATASET_FORMAT,
            "dataset_source": INPUT_DIR,
            "output_path": "/opt/ml/processing/output",
            "publish_cloudwatch_metrics": "Disabled",
            **env,
        },
        "ProcessingInputs": [processing_input("baseline_dataset_input", dataset, INPUT_DIR)],
        "ProcessingOutputConfig": {"Outputs": [output]},
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": monitoring.instance_type,
                "VolumeSizeInGB": 30,
            }
        },
        "RoleArn": ctx.role,
    }


def _check_step(
    ctx: BuildContext,
    name: str,
    kind: str,
    arguments: dict[str, Any],
    skip: ParameterRef,
    register_new: ParameterRef,
    fail_on_violation: bool,
) -> Step:
    extra = {
        "CheckType": kind,
        "FailOnViolation": fail_on_violation,
        "ModelPackageGroupName": ctx.config.project.model_package_group,
        "RegisterNewBaseline": register_new,
        "SkipCheck": skip,
        "SuppliedBaselineConstraints": None,
        "SuppliedBaselineStatistics": None,
    }
    return Step(name=name, type="QualityCheck", arguments=arguments, extra=extra)


def data_quality_check(ctx: BuildContext) -> Step:
    """Statistics and constraints of the training data, to check live requests against."""
    settings = ctx.config.monitoring.data_quality
    dataset = Join("/", (step_output(preprocess.NAME, "baseline"), "data-quality.jsonl"))
    return _check_step(
        ctx,
        DATA_QUALITY,
        "DATA_QUALITY",
        _check_arguments(ctx, DATA_QUALITY, dataset, {}),
        ctx.parameter("SkipDataQualityCheck", "Boolean", settings.skip_check),
        ctx.parameter("RegisterNewDataQualityBaseline", "Boolean", settings.register_new_baseline),
        settings.fail_on_violation,
    )


def model_quality_steps(ctx: BuildContext, suffix: str, model_uri: Any) -> list[Step]:
    """CreateModel -> TransformTestSet -> ModelQualityBaseline for one candidate model."""
    settings = ctx.config.monitoring.model_quality
    model_name, transform_name = f"CreateModel{suffix}", f"TransformTestSet{suffix}"
    check_name = f"ModelQualityBaseline{suffix}"
    model = Step(
        name=model_name,
        type="Model",
        arguments={
            "ExecutionRoleArn": ctx.role,
            "PrimaryContainer": {
                "Environment": {},
                "Image": register.inference_image(ctx),
                "ModelDataUrl": model_uri,
            },
        },
    )
    transform = Step(
        name=transform_name,
        type="Transform",
        arguments={
            "DataProcessing": {"InputFilter": "$", "JoinSource": "Input", "OutputFilter": "$"},
            "ModelName": StepRef(model_name, "ModelName"),
            "TransformInput": {
                "ContentType": "application/jsonlines",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": Join(
                            "/", (step_output(preprocess.NAME, "baseline"), "test.jsonl")
                        ),
                    }
                },
                "SplitType": "Line",
            },
            "TransformOutput": {
                "Accept": "application/jsonlines",
                "AssembleWith": "Line",
                "S3OutputPath": ctx.run_output(transform_name, "predictions"),
            },
            "TransformResources": {
                "InstanceCount": 1,
                "InstanceType": ctx.config.monitoring.instance_type,
            },
        },
    )
    env = {
        "analysis_type": "MODEL_QUALITY",
        "ground_truth_attribute": settings.ground_truth_attribute,
        "inference_attribute": settings.inference_attribute,
        "probability_attribute": settings.probability_attribute,
        "problem_type": "MulticlassClassification",
    }
    check = _check_step(
        ctx,
        check_name,
        "MODEL_QUALITY",
        _check_arguments(
            ctx, check_name, StepRef(transform_name, "TransformOutput.S3OutputPath"), env
        ),
        ctx.parameter("SkipModelQualityCheck", "Boolean", settings.skip_check),
        ctx.parameter("RegisterNewModelQualityBaseline", "Boolean", settings.register_new_baseline),
        settings.fail_on_violation,
    )
    return [model, transform, check]


def schedule_steps(
    ctx: BuildContext,
    suffix: str,
    endpoint: StepRef,
    data_quality: str | None,
    model_quality: str | None,
    after: str,
) -> list[Step]:
    """Lambda steps that create (or update) the monitoring schedules on the endpoint."""
    monitoring, deployment = ctx.config.monitoring, ctx.config.deployment
    preprocessor = ctx.file_asset(
        "record-preprocessor", "components/monitor/scripts/record_preprocessor.py"
    )
    steps = []
    for kind, check, settings in (
        ("data_quality", data_quality, monitoring.data_quality),
        ("model_quality", model_quality, monitoring.model_quality),
    ):
        if check is None or not settings.schedule.enabled:
            continue
        schedule = settings.schedule
        event: dict[str, Any] = {
            "monitor_type": kind,
            "endpoint_name": endpoint,
            "schedule_name": f"{deployment.endpoint_name}-{kind.replace('_', '-')}",
            "role_arn": ctx.role,
            "cron": schedule.cron,
            "instance_type": schedule.instance_type,
            "instance_count": 1,
            "max_runtime_seconds": schedule.max_runtime_seconds,
            "baseline_statistics_uri": StepRef(check, "BaselineUsedForDriftCheckStatistics"),
            "baseline_constraints_uri": StepRef(check, "BaselineUsedForDriftCheckConstraints"),
            "output_uri": ctx.s3(ctx.project_prefix, "monitoring", kind.replace("_", "-")),
            "image_uri": images.monitor_image(ctx.config.aws.region),
            "record_preprocessor_uri": preprocessor.s3_uri,
        }
        if kind == "model_quality":
            event |= {
                "ground_truth_uri": monitoring.model_quality.schedule.ground_truth_uri,
                "problem_type": "MulticlassClassification",
                "inference_attribute": "0.label",
                "probability_attribute": "0.confidence",
            }
        name = f"Schedule{''.join(w.title() for w in kind.split('_'))}Monitor{suffix}"
        steps.append(
            deploy.lambda_step(
                name, deployment.schedule_function_arn, event, ("schedule_name",), after
            )
        )
    return steps

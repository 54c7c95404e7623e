"""A monitoring pipeline: the builtin backend's check of an endpoint against its baseline.

Monitor (Processing, scikit-learn container) reads the last window of the endpoint's data capture
(and, for model quality, the ground truth), runs the project's analyzer against the baseline the
schedule passes, and writes the report with result.json; CheckViolations then ends the execution
Failed, naming the violated features or metrics, when there is any violation. The endpoint and the
baseline are parameters: the schedule that starts the pipeline sets them (components/schedule).
"""

from __future__ import annotations

from typing import Any

from components.monitor.config import MonitorJob
from jobkit.capture import feature_environment
from kernel.context import BuildContext
from kernel.ir import ExecutionVariable, Join, JsonGet, PropertyFile, Step, step_output
from kernel.jobs import processing_arguments, processing_input

NAME = "Monitor"
SCRIPT = "components/monitor/scripts/monitor.py"
REPORT = "report"
RESULT = PropertyFile(
    "MonitoringResult",
    REPORT,
    "result.json",
    {
        "type": "object",
        "required": ["violations", "violated", "records"],
        "properties": {
            "violations": {"type": "integer"},
            "violated": {"type": "string"},
            "records": {"type": "integer"},
        },
    },
)
INPUT = "/opt/ml/processing/input"


def _environment(settings: MonitorJob, endpoint: Any) -> dict[str, Any]:
    env: dict[str, Any] = {
        "MONITOR_KIND": settings.kind,
        "MONITOR_WINDOW": settings.window,
        "publish_cloudwatch_metrics": "Enabled" if settings.cloudwatch_metrics else "Disabled",
        "sagemaker_endpoint_name": endpoint,
        "sagemaker_monitoring_schedule_name": settings.schedule_name,
    }
    if settings.kind == "data_quality":
        env |= feature_environment(
            settings.numeric_features, settings.categorical_features, settings.pixel_features
        )
    else:
        env |= {
            "problem_type": settings.problem_type,
            "inference_attribute": settings.inference_attribute,
            "probability_attribute": settings.probability_attribute,
            "ground_truth_attribute": "groundTruthData",
        }
        if settings.positive_label is not None:
            env["positive_label"] = settings.positive_label
        if settings.problem_type == "BinaryClassification":
            env["probability_threshold_attribute"] = str(settings.probability_threshold)
    return env


def build(
    settings: MonitorJob, ctx: BuildContext, *, analyzer: str, record_preprocessor: str
) -> list[Step]:
    """Monitor -> CheckViolations (-> ViolationsFound); `analyzer` and `record_preprocessor`
    are the repository paths of the scripts the job runs."""
    endpoint = ctx.parameter("EndpointName")
    capture = Join("/", (ctx.parameter("DataCaptureUri"), endpoint, "AllTraffic"))
    inputs = [
        processing_input("capture", capture, f"{INPUT}/capture"),
        processing_input(
            "baseline_constraints",
            ctx.parameter("BaselineConstraintsUri"),
            f"{INPUT}/baseline_constraints",
        ),
        processing_input(
            "analyzer",
            ctx.code_asset("quality-check-analyzer", analyzer).s3_uri,
            f"{INPUT}/analyzer",
        ),
    ]
    if settings.kind == "data_quality":
        inputs += [
            processing_input(
                "baseline_statistics",
                ctx.parameter("BaselineStatisticsUri"),
                f"{INPUT}/baseline_statistics",
            ),
            processing_input(
                "record_preprocessor",
                ctx.file_asset("record-preprocessor", record_preprocessor).s3_uri,
                f"{INPUT}/record_preprocessor",
            ),
        ]
    else:
        inputs.append(
            processing_input(
                "ground_truth", ctx.parameter("GroundTruthUri"), f"{INPUT}/ground_truth"
            )
        )
    arguments = processing_arguments(
        ctx,
        step=NAME,
        image=settings.image,
        code_path=SCRIPT,
        code_asset="monitor-code",
        inputs=inputs,
        outputs=(REPORT,),
        instance_type=settings.instance_type,
    )
    # Reports by endpoint, one folder per execution (the executions list says when each ran).
    arguments["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] = Join(
        "/",
        (
            ctx.s3(ctx.project_prefix, "monitoring", settings.kind.replace("_", "-")),
            endpoint,
            ExecutionVariable("PipelineExecutionId"),
        ),
    )
    arguments["Environment"] = _environment(settings, endpoint)
    arguments["StoppingCondition"] = {"MaxRuntimeInSeconds": settings.max_runtime_seconds}
    violations = JsonGet(NAME, RESULT.name, "violations")
    failed = Step(
        name="ViolationsFound",
        type="Fail",
        arguments={
            "ErrorMessage": Join(
                " ",
                (
                    violations,
                    f"{settings.kind.replace('_', '-')} violations of the baseline:",
                    JsonGet(NAME, RESULT.name, "violated"),
                    "- report:",
                    step_output(NAME, REPORT),
                ),
            )
        },
    )
    check = Step(
        name="CheckViolations",
        type="Condition",
        arguments={
            "Conditions": [{"LeftValue": violations, "RightValue": 0, "Type": "LessThanOrEqualTo"}]
        },
        else_steps=(failed,),
    )
    job = Step(
        name=NAME,
        type="Processing",
        arguments=arguments,
        outputs=(REPORT,),
        property_files=(RESULT,),
    )
    return [job, check]

"""Settings of the monitoring schedules created on the endpoint after deployment."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator

from kernel.names import S3_URI
from kernel.settings import Settings

# Schedule expressions SageMaker Model Monitor accepts, and the SDK's shorthands for them.
CRON_SHORTHANDS = {"hourly": "cron(0 * ? * * *)", "daily": "cron(0 0 ? * * *)"}
_HOUR = r"([01]?[0-9]|2[0-3])"
_EVERY = r"([1-9]|1[0-9]|2[0-4])"
CRON = re.compile(rf"^cron\(0 (\*|{_HOUR}|{_HOUR}/{_EVERY}|\*/{_EVERY}) \? \* \* \*\)$")


# A builtin schedule's window: whole hours or days (ISO 8601), e.g. PT1H, PT6H, P1D, P1DT12H.
WINDOW = re.compile(r"^P(?!$)([1-9][0-9]*D)?(T[1-9][0-9]*H)?$")


def model_monitor_cron_problem(cron: str) -> str | None:
    """Why SageMaker Model Monitor would refuse the schedule expression (ending in a fix)."""
    if CRON.match(cron):
        return None
    return (
        f"SageMaker monitoring schedules run at most hourly, on the hour; '{cron}' is not "
        "one of its forms; fix: use 'hourly', 'daily', 'cron(0 * ? * * *)', "
        "'cron(0 3 ? * * *)' or 'cron(0 */6 ? * * *)'"
    )


def schedule_name(endpoint_name: str, kind: str) -> str:
    """The schedule of `kind` watching the endpoint, e.g. penguins-endpoint-data-quality."""
    return f"{endpoint_name}-{kind.replace('_', '-')}"


class Schedule(Settings):
    """A monitoring schedule created on the endpoint after deployment.

    `cron` is checked per backend (Model Monitor's few forms, or any EventBridge Scheduler
    expression); `window` and `cloudwatch_metrics` are the builtin backend's.
    """

    enabled: bool = True
    cron: str
    instance_type: str
    max_runtime_seconds: Annotated[int, Field(ge=1, le=3600)] = 1800
    window: str = "PT1H"  # builtin: each run reads the captures of this last stretch of time
    cloudwatch_metrics: bool = False  # builtin: also put the job's metrics in CloudWatch

    @field_validator("cron")
    @classmethod
    def _shorthand(cls, cron: str) -> str:
        return CRON_SHORTHANDS.get(cron, cron)

    @field_validator("window")
    @classmethod
    def _window(cls, window: str) -> str:
        if not WINDOW.match(window):
            raise ValueError(
                f"'{window}' is not a window the monitoring job reads: an ISO 8601 duration of "
                "whole days and hours, at least one hour; fix: use e.g. 'PT1H', 'PT6H' or 'P1D'"
            )
        return window


class ModelQualitySchedule(Schedule):
    ground_truth_uri: Annotated[str, Field(pattern=S3_URI)]


class MonitorSchedule(Settings):
    """What one schedule Lambda step is built from."""

    kind: Literal["data_quality", "model_quality"]
    schedule: Schedule
    schedule_name: str
    function_arn: str
    function_role_arn: str  # the Lambda function's execution role
    image: str  # the Model Monitor analyzer of the region
    ground_truth_uri: str | None = None  # model_quality only
    positive_class: str | None = None  # model_quality of a binary model: BinaryClassification
    probability_threshold: float = 0.5  # binary: at or above it, the positive class
    # data_quality only: the features the record preprocessor keeps (the project's own)
    numeric_features: tuple[str, ...] = ()
    categorical_features: tuple[str, ...] = ()
    pixel_features: bool = False  # an image project: pixels become p0..pN


class PipelineSchedule(Settings):
    """What one builtin schedule Lambda step is built from: a schedule starting a pipeline."""

    schedule_name: str
    expression: str  # EventBridge Scheduler's
    pipeline_arn: str  # the monitoring pipeline it starts
    scheduler_role_arn: str  # the role EventBridge Scheduler assumes to start it
    function_arn: str
    function_role_arn: str  # the Lambda function's execution role

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


class Schedule(Settings):
    """A monitoring schedule created on the endpoint after deployment."""

    enabled: bool = True
    cron: str
    instance_type: str
    max_runtime_seconds: Annotated[int, Field(ge=1, le=3600)] = 1800

    @field_validator("cron")
    @classmethod
    def _accepted_form(cls, cron: str) -> str:
        cron = CRON_SHORTHANDS.get(cron, cron)
        if not CRON.match(cron):
            raise ValueError(
                f"SageMaker monitoring schedules run at most hourly, on the hour; '{cron}' is not "
                "one of its forms; fix: use 'hourly', 'daily', 'cron(0 * ? * * *)', "
                "'cron(0 3 ? * * *)' or 'cron(0 */6 ? * * *)'"
            )
        return cron


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
    # data_quality only: the features the record preprocessor keeps (the project's own)
    numeric_features: tuple[str, ...] = ()
    categorical_features: tuple[str, ...] = ()
    pixel_features: bool = False  # an image project: pixels become p0..pN

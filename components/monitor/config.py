"""Settings of the quality baselines (QualityCheck steps) and the monitoring schedules."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, field_validator

from compiler.base import Settings

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
    ground_truth_uri: Annotated[
        str, Field(pattern=r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$")
    ]


class Check(Settings):
    """A QualityCheck step; skip_check and register_new_baseline are parameter defaults."""

    enabled: bool = True
    skip_check: bool = True
    register_new_baseline: bool = True
    fail_on_violation: bool = True


class DataQuality(Check):
    schedule: Schedule


class ModelQuality(Check):
    inference_attribute: str = "SageMakerOutput.label"
    probability_attribute: str = "SageMakerOutput.confidence"
    ground_truth_attribute: str = "ground_truth"
    schedule: ModelQualitySchedule


class Monitoring(Settings):
    first_run: bool = True
    instance_type: str
    data_quality: DataQuality
    model_quality: ModelQuality

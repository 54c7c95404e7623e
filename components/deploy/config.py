"""Settings of the deployment: endpoint, data capture, and the Lambda functions that act."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, field_validator

from compiler.base import Settings

LAMBDA_ARN = (
    r"^arn:aws[a-z\-]*:lambda:[a-z0-9\-]+:[0-9]{12}:function:[A-Za-z0-9\-_]{1,64}"
    r"(:[A-Za-z0-9$_\-]+)?$"
)
ENDPOINT_NAME = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"


class Deployment(Settings):
    """Deploy an Approved model; schedules then watch the endpoint."""

    enabled: bool = True
    endpoint_name: Annotated[str, Field(pattern=ENDPOINT_NAME)]
    instance_type: str
    instance_count: Annotated[int, Field(ge=1, le=100)] = 1
    data_capture_percentage: Annotated[int, Field(ge=0, le=100)] = 100
    data_capture_uri: Annotated[
        str, Field(pattern=r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$")
    ]
    deploy_function_arn: str
    schedule_function_arn: str

    @field_validator("deploy_function_arn", "schedule_function_arn")
    @classmethod
    def _function_arn(cls, value: str) -> str:
        if not re.match(LAMBDA_ARN, value):
            raise ValueError(
                "the pipeline's Lambda steps need the full ARN of a function; "
                "fix: use arn:aws:lambda:<region>:<12-digit account id>:function:<name>"
            )
        return value

"""Settings of the deployment: endpoint, data capture, and the Lambda functions that act."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, field_validator

from kernel.names import GROUP_NAME, LAMBDA_ARN, ROLE_ARN, S3_URI
from kernel.settings import Settings, named


class Deployment(Settings):
    """Deploy an Approved model; schedules then watch the endpoint."""

    enabled: bool = True
    endpoint_name: Annotated[str, named(GROUP_NAME, "endpoint names")]
    instance_type: str
    instance_count: Annotated[int, Field(ge=1, le=100)] = 1
    data_capture_percentage: Annotated[int, Field(ge=0, le=100)] = 100
    data_capture_uri: Annotated[str, Field(pattern=S3_URI)]
    deploy_function_arn: str
    schedule_function_arn: str
    lambda_role_arn: Annotated[str, Field(pattern=ROLE_ARN)]  # the functions' execution role

    @field_validator("deploy_function_arn", "schedule_function_arn")
    @classmethod
    def _function_arn(cls, value: str) -> str:
        if re.match(LAMBDA_ARN, value):
            return value
        named = re.match(r"^arn:aws[a-z\-]*:lambda:[a-z0-9\-]+:[0-9]{12}:function:([^:]*)", value)
        if named:
            raise ValueError(
                f"Lambda function names have 1 to 64 letters, digits, hyphens and underscores; "
                f"'{named.group(1)}' has {len(named.group(1))} characters; "
                "fix: set a shorter function name in the ARN"
            )
        raise ValueError(
            "the pipeline's Lambda steps need the full ARN of a function; "
            "fix: use arn:aws:lambda:<region>:<12-digit account id>:function:<name>"
        )

"""Deploy: a Lambda step that puts an Approved model package on a real-time endpoint."""

from __future__ import annotations

from typing import Any

from components.deploy.config import Deployment
from components.deploy.contract import HANDLER, OUTPUT
from components.lambda_step.contract import lambda_call
from kernel.context import BuildContext
from kernel.ir import Step


def build(
    settings: Deployment, ctx: BuildContext, *, name: str, package_arn: Any, after: str
) -> list[Step]:
    """Deploy the package at `package_arn` (create, or update the endpoint) after step `after`."""
    function = settings.deploy_function_arn
    ctx.lambda_function("deploy-function", HANDLER, function, settings.lambda_role_arn)
    event = {
        "model_package_arn": package_arn,
        "endpoint_name": settings.endpoint_name,
        "role_arn": ctx.role,
        "instance_type": settings.instance_type,
        "instance_count": settings.instance_count,
        "data_capture_percentage": ctx.parameter("DataCapturePercentage"),
        "data_capture_destination": ctx.parameter("DataCaptureUri"),
    }
    return [lambda_call(name, function, event, (OUTPUT,), after)]

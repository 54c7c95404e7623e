"""Deploy: a Lambda step that puts an Approved model package on a real-time endpoint."""

from __future__ import annotations

from typing import Any

from compiler.context import BuildContext
from compiler.graph import Join, Step, StepRef

OUTPUT = "endpoint_name"
# The handlers return errors instead of raising, so each Lambda step reports them as outputs
# and a condition after it fails the pipeline with the handler's message.
STATUS_OUTPUTS = [
    {"OutputName": "statusCode", "OutputType": "Integer"},
    {"OutputName": "error", "OutputType": "String"},
]


def build(ctx: BuildContext, name: str, registered: str) -> Step:
    """Deploy the package that step `registered` created (create, or update the endpoint)."""
    deployment = ctx.config.deployment
    ctx.lambda_asset("deploy-function", "components/deploy/scripts/deploy.py")
    ctx.lambda_asset("schedule-function", "components/monitor/scripts/schedule.py")
    event = {
        "model_package_arn": StepRef(registered, "ModelPackageArn"),
        "endpoint_name": deployment.endpoint_name,
        "role_arn": ctx.role,
        "instance_type": deployment.instance_type,
        "instance_count": deployment.instance_count,
        "data_capture_percentage": ctx.parameter(
            "DataCapturePercentage", "Integer", deployment.data_capture_percentage
        ),
        "data_capture_destination": ctx.parameter(
            "DataCaptureUri", "String", deployment.data_capture_uri
        ),
    }
    return lambda_step(name, deployment.deploy_function_arn, event, (OUTPUT,), registered)


def lambda_step(
    name: str, function_arn: str, event: dict[str, Any], outputs: tuple[str, ...], after: str
) -> Step:
    """A Lambda step whose handler returns statusCode/error rather than raising."""
    parameters = [{"OutputName": o, "OutputType": "String"} for o in outputs] + STATUS_OUTPUTS
    return Step(
        name=name,
        type="Lambda",
        arguments=event,
        outputs=(*outputs, "statusCode", "error"),
        depends_on=(after,),
        extra={"FunctionArn": function_arn, "OutputParameters": parameters},
    )


def succeeded(lambda_steps: list[Step], name: str, then: list[Step]) -> Step:
    """A condition that goes on with `then` when every Lambda step answered 200, else fails."""
    conditions = [
        {
            "LeftValue": StepRef(s.name, "OutputParameters['statusCode']"),
            "RightValue": 200,
            "Type": "Equals",
        }
        for s in lambda_steps
    ]
    errors: list[Any] = []
    for s in lambda_steps:
        errors += [f"{s.name}:", StepRef(s.name, "OutputParameters['error']")]
    fail = Step(
        name=f"{name}Failed", type="Fail", arguments={"ErrorMessage": Join(" ", tuple(errors))}
    )
    return Step(
        name=f"{name}Succeeded",
        type="Condition",
        arguments={"Conditions": conditions},
        if_steps=tuple(then),
        else_steps=(fail,),
    )


def endpoint(step: str) -> StepRef:
    return StepRef(step, f"OutputParameters['{OUTPUT}']")

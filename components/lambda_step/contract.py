"""The shape of the pipeline's Lambda steps: handlers answer statusCode/error rather than raise.

A Lambda step that raises only shows "failed" in the console; a handler that returns its error as
an output lets a condition after it fail the pipeline with the handler's own message.
"""

from __future__ import annotations

from typing import Any

from kernel.ir import Step, StepRef

STATUS_OUTPUTS = [
    {"OutputName": "statusCode", "OutputType": "Integer"},
    {"OutputName": "error", "OutputType": "String"},
]


def lambda_call(
    name: str, function_arn: str, event: dict[str, Any], outputs: tuple[str, ...], after: str
) -> Step:
    """A Lambda step that runs after step `after` and declares `outputs` plus statusCode/error."""
    parameters = [{"OutputName": o, "OutputType": "String"} for o in outputs] + STATUS_OUTPUTS
    return Step(
        name=name,
        type="Lambda",
        arguments=event,
        outputs=(*outputs, "statusCode", "error"),
        depends_on=(after,),
        extra={"FunctionArn": function_arn, "OutputParameters": parameters},
    )


def output(step: str, name: str) -> StepRef:
    return StepRef(step, f"OutputParameters['{name}']")

"""Succeeded: a condition that goes on when every Lambda call answered 200, else fails the run."""

from __future__ import annotations

from typing import Any

from components.lambda_step.config import Succeeded
from components.lambda_step.contract import output
from kernel.context import BuildContext
from kernel.ir import Join, Step


def build(
    settings: Succeeded, ctx: BuildContext, *, calls: list[Step], then: list[Step]
) -> list[Step]:
    conditions = [
        {"LeftValue": output(s.name, "statusCode"), "RightValue": 200, "Type": "Equals"}
        for s in calls
    ]
    errors: list[Any] = []
    for s in calls:
        errors += [f"{s.name}:", output(s.name, "error")]
    fail = Step(
        name=f"{settings.name}Failed",
        type="Fail",
        arguments={"ErrorMessage": Join(" ", tuple(errors))},
    )
    return [
        Step(
            name=f"{settings.name}Succeeded",
            type="Condition",
            arguments={"Conditions": conditions},
            if_steps=tuple(then),
            else_steps=(fail,),
        )
    ]

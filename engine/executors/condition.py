"""Condition steps: the conditions (ANDed, as on SageMaker) choose IfSteps or ElseSteps.

The scheduler resolves Conditions only (the branches' steps run later, when chosen) and starts
the chosen branch's steps from the `Outcome` property. The resolved conditions are kept too
(engine.gate reads them to say which values decided).
"""

from __future__ import annotations

from typing import Any

from engine.executors.base import StepContext, StepFailed
from engine.expressions import ExpressionError, evaluate
from engine.gate import RESOLVED


def run(ctx: StepContext) -> dict[str, Any]:
    results = []
    for index, condition in enumerate(ctx.arguments.get("Conditions", [])):
        try:
            results.append(evaluate(condition))
        except ExpressionError as exc:
            raise StepFailed(f"Conditions[{index}]: {exc}") from None
        ctx.log(f"Conditions[{index}] {describe(condition)} -> {results[-1]}")
    outcome = all(results)
    resolved = [
        {**condition, "Result": result}
        for condition, result in zip(ctx.arguments.get("Conditions", []), results, strict=True)
    ]
    return {
        "Outcome": "True" if outcome else "False",
        "EvaluationResult": outcome,
        RESOLVED: resolved,
    }


def describe(condition: dict[str, Any]) -> str:
    """A resolved condition in words, e.g. '0.97 GreaterThanOrEqualTo 0.7'."""
    kind = condition.get("Type")
    if "LeftValue" in condition:
        return f"{condition['LeftValue']!r} {kind} {condition['RightValue']!r}"
    if kind == "In":
        return f"{condition['QueryValue']!r} In {condition['Values']!r}"
    if kind == "Not":
        return f"Not ({describe(condition['Condition'])})"
    return f"{kind} ({'; '.join(describe(c) for c in condition.get('Conditions', []))})"

"""Gate: Approved at >= approve, PendingManualApproval at >= pending, else Fail.

With two candidates, a condition first picks the one with the better metric; each branch then
holds that candidate's own gate, since condition branches hold whole steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compiler.context import BuildContext
from compiler.graph import Join, JsonGet, ParameterRef, Step
from components.evaluate.step import REPORT
from components.register import step as register


@dataclass(frozen=True)
class Candidate:
    """A model that was evaluated: its label in step names, its artifact, its Evaluate step."""

    label: str
    model_uri: Any
    evaluation: str


def _metric(ctx: BuildContext, candidate: Candidate) -> JsonGet:
    return JsonGet(candidate.evaluation, REPORT.property_file, ctx.config.gate.metric)


def _condition(
    name: str, left: Any, right: Any, if_steps: list[Step], else_steps: list[Step]
) -> Step:
    arguments = {
        "Conditions": [{"LeftValue": left, "RightValue": right, "Type": "GreaterThanOrEqualTo"}]
    }
    return Step(
        name=name,
        type="Condition",
        arguments=arguments,
        if_steps=tuple(if_steps),
        else_steps=tuple(else_steps),
    )


def gate_for(ctx: BuildContext, candidate: Candidate, suffix: str) -> Step:
    """The three-way gate of one candidate; `suffix` keeps step names unique."""
    gate = ctx.config.gate
    approve = ctx.parameter("ApproveThreshold", "Float", gate.approve)
    pending = ctx.parameter("PendingThreshold", "Float", gate.pending)
    metric = _metric(ctx, candidate)
    reject = Step(
        name=f"Reject{suffix}",
        type="Fail",
        arguments={"ErrorMessage": _reject_message(ctx, metric, pending)},
    )
    pending_gate = _condition(
        f"CheckPending{suffix}",
        metric,
        pending,
        [
            register.build(
                ctx,
                f"RegisterPending{suffix}",
                "PendingManualApproval",
                candidate.model_uri,
                candidate.evaluation,
            )
        ],
        [reject],
    )
    return _condition(
        f"CheckApprove{suffix}",
        metric,
        approve,
        [
            register.build(
                ctx,
                f"RegisterApproved{suffix}",
                "Approved",
                candidate.model_uri,
                candidate.evaluation,
            )
        ],
        [pending_gate],
    )


def _reject_message(ctx: BuildContext, metric: JsonGet, pending: ParameterRef) -> Join:
    return Join(
        " ",
        (
            f"Model not registered: {ctx.config.gate.metric} =",
            metric,
            "is below the pending threshold",
            pending,
            "(gate.pending). Improve the model or lower PendingThreshold.",
        ),
    )


def build(ctx: BuildContext, candidates: list[Candidate]) -> Step:
    """The gate for one candidate, or a choice of the better of two, then its gate."""
    if len(candidates) == 1:
        return gate_for(ctx, candidates[0], "")
    first, second = candidates
    return _condition(
        "SelectBestModel",
        _metric(ctx, first),
        _metric(ctx, second),
        [gate_for(ctx, first, first.label)],
        [gate_for(ctx, second, second.label)],
    )

"""Gate: Approved at >= approve, PendingManualApproval at >= pending, else Fail.

With two candidates, a condition first picks the one with the better metric; each branch then
holds that candidate's own gate, since condition branches hold whole steps. What an Approved or a
pending candidate leads to (registration, deployment...) is handed in as built steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.gate.config import Gate
from kernel.context import BuildContext
from kernel.ir import Join, JsonGet, ParameterRef, Step


@dataclass(frozen=True)
class Candidate:
    """An evaluated model: its label in step names, its metric, what each outcome runs.

    Attributes:
        suffix: keeps step names unique ("" for a lone candidate).
        metric: the gate metric, read from the candidate's evaluation report.
        approved: the steps an Approved model runs (registration first).
        pending: the steps a model waiting for a person runs.
    """

    suffix: str
    metric: JsonGet
    approved: tuple[Step, ...]
    pending: tuple[Step, ...]


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


def _reject_message(settings: Gate, metric: JsonGet, pending: ParameterRef) -> Join:
    return Join(
        " ",
        (
            f"Model not registered: {settings.metric} =",
            metric,
            "is below the pending threshold",
            pending,
            "(gate.pending). Improve the model or lower PendingThreshold.",
        ),
    )


def _gate_for(settings: Gate, ctx: BuildContext, candidate: Candidate) -> Step:
    """The three-way gate of one candidate."""
    approve, pending = ctx.parameter("ApproveThreshold"), ctx.parameter("PendingThreshold")
    suffix, metric = candidate.suffix, candidate.metric
    reject = Step(
        name=f"Reject{suffix}",
        type="Fail",
        arguments={"ErrorMessage": _reject_message(settings, metric, pending)},
    )
    pending_gate = _condition(
        f"CheckPending{suffix}", metric, pending, list(candidate.pending), [reject]
    )
    return _condition(
        f"CheckApprove{suffix}", metric, approve, list(candidate.approved), [pending_gate]
    )


def build(settings: Gate, ctx: BuildContext, candidates: list[Candidate]) -> list[Step]:
    """The gate for one candidate, or a choice of the better of two, then its gate."""
    if len(candidates) == 1:
        return [_gate_for(settings, ctx, candidates[0])]
    first, second = candidates
    return [
        _condition(
            "SelectBestModel",
            first.metric,
            second.metric,
            [_gate_for(settings, ctx, first)],
            [_gate_for(settings, ctx, second)],
        )
    ]

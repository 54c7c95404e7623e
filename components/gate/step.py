"""Gate: Approved at >= approve, PendingManualApproval at >= pending, else Fail.

With two candidates, a condition first picks the one with the better metric; each branch then
holds that candidate's own gate, since condition branches hold whole steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compiler.context import BuildContext
from compiler.graph import Join, JsonGet, ParameterRef, Step
from components.deploy import step as deploy
from components.evaluate.step import REPORT
from components.monitor import step as monitor
from components.register import step as register


@dataclass(frozen=True)
class Candidate:
    """A model that was evaluated: its label in step names, its artifact, its Evaluate step."""

    label: str
    model_uri: Any
    evaluation: str
    model_quality: str | None = None  # its ModelQualityBaseline step, when monitoring is on


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


def gate_for(
    ctx: BuildContext, candidate: Candidate, suffix: str, data_quality: str | None = None
) -> Step:
    """The three-way gate of one candidate; `suffix` keeps step names unique.

    An Approved model is deployed and monitored; a pending one waits for a person.
    """
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
                data_quality,
                candidate.model_quality,
            )
        ],
        [reject],
    )
    approved = register.build(
        ctx,
        f"RegisterApproved{suffix}",
        "Approved",
        candidate.model_uri,
        candidate.evaluation,
        data_quality,
        candidate.model_quality,
    )
    approve_branch = [approved]
    if ctx.config.deployment.enabled:
        deployed = deploy.build(ctx, f"Deploy{suffix}", approved.name)
        schedules = monitor.schedule_steps(
            ctx,
            suffix,
            deploy.endpoint(deployed.name),
            data_quality,
            candidate.model_quality,
            deployed.name,
        )
        after_deploy: list[Step] = list(schedules)
        if schedules:
            after_deploy.append(deploy.succeeded(schedules, f"Monitoring{suffix}", []))
        approve_branch += [deployed, deploy.succeeded([deployed], f"Deploy{suffix}", after_deploy)]
    return _condition(f"CheckApprove{suffix}", metric, approve, approve_branch, [pending_gate])


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


def build(ctx: BuildContext, candidates: list[Candidate], data_quality: str | None = None) -> Step:
    """The gate for one candidate, or a choice of the better of two, then its gate."""
    if len(candidates) == 1:
        return gate_for(ctx, candidates[0], "", data_quality)
    first, second = candidates
    return _condition(
        "SelectBestModel",
        _metric(ctx, first),
        _metric(ctx, second),
        [gate_for(ctx, first, first.label, data_quality)],
        [gate_for(ctx, second, second.label, data_quality)],
    )

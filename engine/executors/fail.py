"""Fail steps: the execution ends Failed with the step's resolved ErrorMessage."""

from __future__ import annotations

from typing import Any

from engine.executors.base import StepContext, StepFailed


def run(ctx: StepContext) -> dict[str, Any]:
    raise StepFailed(str(ctx.arguments.get("ErrorMessage", "")))

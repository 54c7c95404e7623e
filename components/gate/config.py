"""Settings of the quality gate: approval thresholds on the evaluation report."""

from __future__ import annotations

from pydantic import ValidationInfo, field_validator

from kernel.settings import Settings


class Gate(Settings):
    """Approved at >= approve, PendingManualApproval at >= pending, no registration below."""

    approve: float = 0.70
    pending: float = 0.50
    metric: str = "metrics.accuracy.value"

    @field_validator("approve", "pending")
    @classmethod
    def _accuracy(cls, value: float) -> float:
        if not 0 < value <= 1:
            raise ValueError(
                f"{value} is not an accuracy threshold: thresholds lie in (0, 1]; "
                "fix: use e.g. gate.approve=0.7 gate.pending=0.5"
            )
        return value

    @field_validator("pending")
    @classmethod
    def _below_approve(cls, pending: float, info: ValidationInfo) -> float:
        approve = info.data.get("approve")
        if approve is not None and pending >= approve:
            raise ValueError(
                f"pending ({pending}) must be below approve ({approve}), or no model would ever "
                "wait for manual approval; fix: lower gate.pending or raise gate.approve"
            )
        return pending

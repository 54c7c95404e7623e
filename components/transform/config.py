"""Settings of the batch transform step."""

from __future__ import annotations

from kernel.settings import Settings


class Transform(Settings):
    """The instance type of the transform job (monitoring.instance_type)."""

    instance_type: str

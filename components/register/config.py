"""Settings of the register step: the group, and the container the package serves with."""

from __future__ import annotations

from typing import Literal

from kernel.settings import Settings


class Register(Settings):
    """What a model package version is built from."""

    model_package_group: str
    image: str  # the framework's inference image
    instance_type: str  # the one listed for real-time and batch inference
    status: Literal["Approved", "PendingManualApproval"]
    environment: dict[str, str]  # the serving container's (model.contract.serving_environment)

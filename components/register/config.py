"""Settings of the register step: what the model package promises its users."""

from __future__ import annotations

from compiler.base import Settings


class Registration(Settings):
    """The serving contract recorded in the model package (see components/inference)."""

    content_types: tuple[str, ...] = ("application/json", "application/jsonlines")
    response_types: tuple[str, ...] = ("application/json", "application/jsonlines")

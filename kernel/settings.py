"""The base of every settings model: unknown keys are errors, validated settings never change."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Settings(BaseModel):
    """Strict, frozen pydantic model for validated configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)

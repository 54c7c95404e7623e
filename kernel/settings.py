"""The base of every settings model: unknown keys are errors, validated settings never change."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import AfterValidator, BaseModel, ConfigDict

from kernel.names import name_problem


class Settings(BaseModel):
    """Strict, frozen pydantic model for validated configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


def rule(problem: Callable[[str], str | None]) -> AfterValidator:
    """A string field's check, as `Annotated[str, rule(problem)]`: `problem(value)` says why the
    value is wrong (ending in '; fix: ...'), or None; pydantic reports it at the field's key."""

    def check(value: str) -> str:
        why = problem(value)
        if why:
            raise ValueError(why)
        return value

    return AfterValidator(check)


def named(pattern: str, what: str) -> AfterValidator:
    """The check of a field holding a SageMaker name of `what` (kernel.names.name_problem)."""
    return rule(lambda value: name_problem(value, pattern, what))

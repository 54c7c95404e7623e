"""Settings of the tuning step: ranges, objective and budget."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from components.train.config import Training
from components.train.contract import METRIC_DEFINITIONS
from kernel.frameworks import FRAMEWORKS, HYPERPARAMETERS
from kernel.settings import Settings


class Range(Settings):
    """A range SageMaker searches: integer or continuous, as the hyperparameter's rule says."""

    min: Annotated[float, Field(gt=0)]
    max: Annotated[float, Field(gt=0)]
    scaling: Literal["Auto", "Linear", "Logarithmic", "ReverseLogarithmic"] = "Auto"

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min >= self.max:
            raise ValueError(
                f"min ({self.min}) must be below max ({self.max}); "
                "fix: swap them or widen the range"
            )
        return self


class Tuning(Settings):
    objective_metric: str = METRIC_DEFINITIONS[0][0]
    objective_type: Literal["Maximize", "Minimize"] = "Maximize"
    strategy: Literal["Bayesian", "Random", "Hyperband", "Grid"] = "Bayesian"
    max_jobs: Annotated[int, Field(gt=0, le=750)]
    max_parallel_jobs: Annotated[int, Field(gt=0, le=100)]
    ranges: dict[str, Range] | None = None  # None: the framework's (kernel/frameworks.py)

    @field_validator("objective_metric")
    @classmethod
    def _known_metric(cls, metric: str) -> str:
        known = [name for name, _ in METRIC_DEFINITIONS]
        if metric not in known:
            raise ValueError(f"the training scripts report only {known}; fix: use '{known[0]}'")
        return metric

    @field_validator("max_parallel_jobs")
    @classmethod
    def _parallel_within_budget(cls, parallel: int, info: ValidationInfo) -> int:
        total = info.data.get("max_jobs")
        if total is not None and parallel > total:
            raise ValueError(
                f"{parallel} parallel jobs exceed max_jobs ({total}); "
                f"fix: set max_parallel_jobs <= {total}"
            )
        return parallel

    @field_validator("ranges")
    @classmethod
    def _tunable(cls, ranges: dict[str, Range] | None) -> dict[str, Range] | None:
        names = sorted(HYPERPARAMETERS)
        if ranges is None:
            return None
        if not ranges:
            raise ValueError(
                f"nothing to tune; fix: add a range for one of {names}, or set null for the "
                "framework's own ranges"
            )
        for name, rng in ranges.items():
            if name not in names:
                raise ValueError(
                    f"'{name}' is not a hyperparameter of the training scripts; "
                    f"fix: tune one of {names}"
                )
            if HYPERPARAMETERS[name].integer and not (
                rng.min.is_integer() and rng.max.is_integer()
            ):
                raise ValueError(f"{name} takes whole numbers; fix: use integer min and max")
        return ranges


def search_ranges(framework: str, tuning: Tuning) -> dict[str, Range]:
    """The ranges a tuning job searches: the config's, else the framework's tuning ranges."""
    if tuning.ranges is not None:
        return tuning.ranges
    rules = FRAMEWORKS[framework].hyperparameters
    return {
        name: Range(min=rule.tune[0], max=rule.tune[1])
        for name, rule in rules.items()
        if rule.tune is not None
    }


class Tune(Settings):
    """What the tuning step is built from: the training job it repeats, and the search."""

    training: Training
    ranges: dict[str, Range]  # what it searches (search_ranges)
    tuning: Tuning

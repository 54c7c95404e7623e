"""Settings of the training step: a project's hyperparameters, the job the scripts run in."""

from __future__ import annotations

from typing import Any

from pydantic import Field, create_model

from kernel.frameworks import HYPERPARAMETERS, Hyperparameter
from kernel.settings import Settings


def _field(rule: Hyperparameter) -> Any:
    """A pydantic field of one hyperparameter: optional (the framework's default), in range."""
    kind: Any = int if rule.integer else float
    gt, ge = (rule.minimum, None) if rule.above else (None, rule.minimum)
    return (kind | None, Field(default=None, gt=gt, ge=ge, le=rule.maximum))


# Values for any framework's hyperparameters (kernel/frameworks.py); each framework takes its own.
_Values: type[Settings] = create_model(
    "Hyperparameters",
    __base__=Settings,
    **{name: _field(rule) for name, rule in sorted(HYPERPARAMETERS.items())},
)


class Hyperparameters(_Values):  # type: ignore[misc,valid-type,unused-ignore]
    """Passed to the training script as `--name value` (see components/train/README.md)."""


class Training(Settings):
    """What a training job (alone, or inside a tuning job) is built from."""

    image: str
    program: str  # the entry point, a repository path inside the source dir
    sources: tuple[str, ...]  # files and folders packed into the source dir, as in the repository
    hyperparameters: dict[str, int | float]  # the framework's own, resolved from the project's
    inference_handler: str  # copied into model.tar.gz as code/inference.py (a source dir path)

"""Settings of the training step: the hyperparameters every training script accepts."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from compiler.base import Settings

# The metric the training scripts print each epoch, as SageMaker parses it from the logs.
METRIC_DEFINITIONS = (("validation:accuracy", r"val_accuracy: ([0-9\.]+)"),)


class Hyperparameters(Settings):
    """Passed to the training script as `--name value` (see components/train/README.md)."""

    epochs: Annotated[int, Field(gt=0, le=10_000)]
    batch_size: Annotated[int, Field(gt=0, le=100_000)]
    learning_rate: Annotated[float, Field(gt=0, le=1)]

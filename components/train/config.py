"""Settings of the training step: the hyperparameters every training script accepts, the job."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from kernel.settings import Settings


class Hyperparameters(Settings):
    """Passed to the training script as `--name value` (see components/train/README.md)."""

    epochs: Annotated[int, Field(gt=0, le=10_000)]
    batch_size: Annotated[int, Field(gt=0, le=100_000)]
    learning_rate: Annotated[float, Field(gt=0, le=1)]


class Training(Settings):
    """What a training job (alone, or inside a tuning job) is built from."""

    image: str
    program: str  # the entry point, a repository path inside the source dir
    source_folders: tuple[str, ...]  # packed into the source dir, mirroring the repository
    hyperparameters: Hyperparameters
    inference_handler: str | None = None  # a project's own handler (a source dir path)

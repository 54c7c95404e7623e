"""Settings of the evaluate step: the container and script that score a candidate model."""

from __future__ import annotations

from kernel.settings import Settings


class Evaluate(Settings):
    """The framework's CPU training image (it can load the model) and the script it runs.

    `classes` and `positive_class` (a binary project's) shape the report the gate reads.
    """

    image: str
    script: str
    classes: tuple[str, ...]
    positive_class: str | None = None

"""Settings of the CreateModel step: the serving container of the candidate model."""

from __future__ import annotations

from kernel.settings import Settings


class Model(Settings):
    """The framework's inference image; the handler travels inside model.tar.gz (code/)."""

    image: str
    positive_class: str | None = None  # a binary model answers with this class's probability

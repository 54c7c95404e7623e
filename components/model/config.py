"""Settings of the CreateModel step: the serving container of the candidate model."""

from __future__ import annotations

from kernel.settings import Settings


class Model(Settings):
    """The framework's inference image; the handler travels inside model.tar.gz (code/)."""

    image: str
    environment: dict[str, str]  # the serving container's (contract.serving_environment)

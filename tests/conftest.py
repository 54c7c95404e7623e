"""Project-wide pytest options."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Two xdist workers share the cores, so no training job of theirs keeps OpenMP's spinning waits
# (engine/process.py): every job's waiting threads sleep after 1,000 turns, as the engine's
# environment may say.
os.environ.setdefault("GOMP_SPINCOUNT", "1000")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite the golden pipeline definitions instead of comparing against them",
    )


# Unit tests need only the core install; everything under these folders is an integration test.
INTEGRATION = ("components", "oracle", "endpoint", "engine", "bundle", "ui")


# Whole pipelines and trained models first: with `-n 2` a long test collected last leaves the
# other worker idle at the end; quick ones last fill the gaps. Modules stay whole (fixtures).
SLOW_FIRST = ("engine", "ui", "components", "endpoint")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    root = Path(__file__).parent
    for item in items:
        if Path(item.path).relative_to(root).parts[0] in INTEGRATION:
            item.add_marker(pytest.mark.integration)

    def rank(item: pytest.Item) -> int:
        folder = Path(item.path).relative_to(root).parts[0]
        return SLOW_FIRST.index(folder) if folder in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)

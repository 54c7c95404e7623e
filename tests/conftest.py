"""Project-wide pytest options."""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite the golden pipeline definitions instead of comparing against them",
    )


# Unit tests need only the core install; everything under these folders is an integration test.
INTEGRATION = ("components", "oracle", "endpoint", "engine", "bundle")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    root = Path(__file__).parent
    for item in items:
        if Path(item.path).relative_to(root).parts[0] in INTEGRATION:
            item.add_marker(pytest.mark.integration)

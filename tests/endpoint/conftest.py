"""Fixtures for the endpoint tools: fake AWS credentials, the fake runtime, a real test set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.aws_env import isolate_from_aws
from tests.components.fixtures_data import *  # noqa: F403
from tests.endpoint.fake_runtime import FakeRuntime, serve


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials and region; no profile or config file of this machine is read."""
    isolate_from_aws(monkeypatch, tmp_path, "us-east-1")


@pytest.fixture
def runtime() -> Iterator[FakeRuntime]:
    """The fake SageMaker runtime on a loopback port, recording requests."""
    with serve() as state:
        yield state


@pytest.fixture(scope="session")
def test_set(penguins_processed: Path) -> Path:
    """The penguins `baseline/test.jsonl` the real preprocess script wrote."""
    return penguins_processed / "baseline" / "test.jsonl"

"""Fixtures for the endpoint tools: fake AWS credentials, the fake runtime, a real test set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.components.fixtures_data import *  # noqa: F403
from tests.endpoint.fake_runtime import FakeRuntime, serve


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials and no user AWS config, so nothing can reach a real account."""
    for name in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def runtime() -> Iterator[FakeRuntime]:
    """The fake SageMaker runtime on a loopback port, recording requests."""
    with serve() as state:
        yield state


@pytest.fixture(scope="session")
def test_set(penguins_processed: Path) -> Path:
    """The penguins `baseline/test.jsonl` the real preprocess script wrote."""
    return penguins_processed / "baseline" / "test.jsonl"

"""The image stacks table: it covers every image the goldens use, and says when one lapses."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from kernel import images
from kernel.image_environments import (
    environment_for,
    environments,
    image_key,
    lapse,
    successor_uri,
)

REPO = Path(__file__).resolve().parents[2]
IMAGE_KEYS = {"ImageUri", "TrainingImage", "Image"}  # jobs, training, models and packages
TODAY = date(2026, 12, 6)
ECR = "763104351884.dkr.ecr.us-east-1.amazonaws.com"


def images_in(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {v for k, v in node.items() if k in IMAGE_KEYS and isinstance(v, str)}
        return found.union(*(images_in(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(images_in(v) for v in node))
    return set()


def golden_images() -> set[str]:
    return set().union(
        *(
            images_in(json.loads(path.read_text()))
            for path in (REPO / "tests/golden").rglob("pipeline.json")
        )
    )


def test_the_table_covers_every_image_a_golden_pipeline_uses() -> None:
    used = golden_images()
    assert len(used) >= 6  # the scan finds the images (training, inference, sklearn, monitor)
    assert sorted(u for u in used if environment_for(u) is None) == []


def test_every_stack_cites_its_sources() -> None:
    for env in environments().values():
        assert env.python is None or re.fullmatch(r"3\.\d+", env.python), env.image
        assert env.python_source and env.end_of_patch_source, env.image
        assert all(p.source and p.version for p in env.packages), env.image
        assert env.python is None or env.packages, env.image


@pytest.mark.parametrize("framework", ["tensorflow", "pytorch"], ids=str)
@pytest.mark.parametrize("scope", ["training", "inference"], ids=str)
def test_the_python_agrees_with_the_image_tables_python_tag(framework: str, scope: str) -> None:
    for version in images.known_versions(framework, scope):
        python = images.py_versions(framework, version, scope)[-1]
        uri = images.image_uri(framework, scope, version, python, "us-east-1", "ml.m5.xlarge")
        env = environment_for(uri)
        assert env is not None, uri
        assert env.python is not None, uri
        # TensorFlow Serving's SDK images name no Python in their tags (py3: none given)
        assert python in ("py3", "py" + env.python.replace(".", "")), uri


@pytest.mark.parametrize(
    ("uri", "key"),
    [
        (f"{ECR}/pytorch-training:2.6-cpu-py312", "pytorch-training:2.6"),
        (f"{ECR}/tensorflow-inference:2.19-gpu", "tensorflow-inference:2.19"),
        ("1.dkr.ecr.x/sagemaker-scikit-learn:1.2-1-cpu-py3", "sagemaker-scikit-learn:1.2-1"),
        ("1.dkr.ecr.x/sagemaker-xgboost:1.7-1", "sagemaker-xgboost:1.7-1"),
        ("1.dkr.ecr.x/sagemaker-model-monitor-analyzer", "sagemaker-model-monitor-analyzer"),
    ],
    ids=["framework", "no-py-tag", "sklearn", "xgboost", "untagged"],
)
def test_an_image_is_keyed_by_repository_and_version(uri: str, key: str) -> None:
    assert image_key(uri) == key


def test_an_image_past_its_end_of_patch_names_the_latest_still_patched() -> None:
    found = lapse(f"{ECR}/pytorch-training:2.6-cpu-py312", TODAY)

    assert found is not None and found.newer is not None
    assert (found.since, found.newer.version) == (date(2026, 1, 29), "2.10")
    assert found.reason == "AWS stopped patching it on 2026-01-29"
    # PyTorch 2.10's images run Python 3.13: the tag says so
    assert successor_uri(f"{ECR}/pytorch-training:2.6-cpu-py312", found.newer) == (
        f"{ECR}/pytorch-training:2.10-cpu-py313"
    )


def test_no_newer_version_where_none_is_patched() -> None:
    found = lapse(f"{ECR}/pytorch-inference:2.6-cpu-py312", TODAY)

    assert found is not None and (found.since, found.newer) == (date(2026, 6, 30), None)


def test_tensorflow_serving_moves_to_its_published_successor() -> None:
    found = lapse(f"{ECR}/tensorflow-inference:2.19-cpu", TODAY)

    assert found is not None and found.newer is not None
    assert (found.since, found.newer.version) == (date(2026, 3, 11), "2.20")


@pytest.mark.parametrize(
    ("uri", "newer"),
    [
        (f"{ECR}/pytorch-training:2.6-gpu-py312", f"{ECR}/pytorch-training:2.10-gpu-py313"),
        ("1.dkr.ecr.x/sagemaker-xgboost:1.7-1", "1.dkr.ecr.x/sagemaker-xgboost:3.2-0"),
    ],
    ids=["framework", "xgboost"],
)
def test_the_newer_image_keeps_registry_repository_and_processor(uri: str, newer: str) -> None:
    found = lapse(uri, TODAY)

    assert found is not None and found.newer is not None
    assert successor_uri(uri, found.newer) == newer


def test_an_image_without_a_date_lapses_with_its_python() -> None:
    found = lapse("1.dkr.ecr.x/sagemaker-scikit-learn:1.2-1-cpu-py3", TODAY)

    assert found is not None
    assert found.reason == "its Python 3.9 reached end of life on 2025-10-31"
    assert found.newer is not None and found.newer.version == "1.9-0"  # 1.4-2: EOP 2026-10-30


@pytest.mark.parametrize(
    "uri",
    [
        f"{ECR}/pytorch-training:2.6-cpu-py312",  # before its date
        "1.dkr.ecr.x/sagemaker-model-monitor-analyzer",  # no date published
        f"{ECR}/mxnet-training:1.9-cpu-py38",  # not in the table
    ],
    ids=["patched", "no-date", "unknown"],
)
def test_no_lapse_while_patched_or_unknown(uri: str) -> None:
    assert lapse(uri, date(2025, 6, 1)) is None

"""Our offline image table resolves exactly what the SageMaker SDK 2.x resolves.

A version the SDK's table lacks (kernel.images.PUBLISHED: TensorFlow training 2.21 and serving
2.20, PyTorch training 2.10, XGBoost 3.2-0, scikit-learn 1.9-0, from AWS's published image list)
is compared with the SDK's image of the version it mirrors, the tag substituted
(tests/oracle/sdk_twin.retrieve): the repository, registries and processor rules are the SDK's,
the tag is AWS's list's.
"""

from __future__ import annotations

import os
import re

import pytest

from kernel import images

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]

GPU_REGIONS = {"us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1"}
CASES = [
    (framework, scope, version, region, instance)
    for framework, scopes in images.SUPPORTED.items()
    for scope, versions in scopes.items()
    for version in versions
    for region in images.known_regions(framework)
    for instance in ("ml.m5.xlarge", "ml.g5.xlarge")
    # GPU images in a few regions only: the SDK takes ~60 ms a look-up
    if instance == "ml.m5.xlarge" or (framework != "sklearn" and region in GPU_REGIONS)
]


@pytest.fixture(scope="module")
def retrieve():  # type: ignore[no-untyped-def]
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    from tests.oracle import sdk_twin

    return sdk_twin.retrieve


def test_every_supported_image_matches_the_sdk(retrieve) -> None:  # type: ignore[no-untyped-def]
    mismatches = []
    for framework, scope, version, region, instance in CASES:
        py = images.py_versions(framework, version, scope)[-1]
        ours = images.image_uri(framework, scope, version, py, region, instance)
        sdk = retrieve(
            framework,
            region,
            version=version,
            py_version=py,
            instance_type=instance,
            image_scope=scope,
        )
        if ours != sdk:
            mismatches.append((framework, scope, region, instance, ours, sdk))
    assert len(CASES) > 200
    assert mismatches == []


# Each published version's CPU tag, as its yml (PUBLISHED's source) lists it.
PUBLISHED_TAGS = {
    ("tensorflow", "training", "2.21"): "2.21-cpu-py312-sagemaker",
    ("tensorflow", "inference", "2.20"): "2.20-cpu-py312-sagemaker",
    ("pytorch", "training", "2.10"): "2.10-cpu-py313",
    ("xgboost", "training", "3.2-0"): "3.2-0",
    ("xgboost", "inference", "3.2-0"): "3.2-0",
    ("sklearn", "training", "1.9-0"): "1.9-0-cpu-py3",  # the build config's tag: see PUBLISHED
}


@pytest.mark.parametrize(
    "key", sorted(images.PUBLISHED), ids=["-".join(key) for key in sorted(images.PUBLISHED)]
)
def test_a_published_only_version_is_the_sdks_image_of_the_one_it_mirrors(key, retrieve) -> None:  # type: ignore[no-untyped-def]
    framework, scope, version = key
    published = images.PUBLISHED[key]
    sdk = retrieve(
        framework, "eu-west-1", published.mirrors, instance_type="ml.m5.xlarge", image_scope=scope
    )
    python = images.py_versions(framework, version, scope)[-1]

    ours = images.image_uri(framework, scope, version, python, "eu-west-1", "ml.m5.xlarge")
    assert ours == f"{sdk.rpartition(':')[0]}:{PUBLISHED_TAGS[key]}"
    assert version in images.known_versions(framework, scope)
    repository = ours.rsplit("/", 1)[1].split(":")[0]
    assert f"/{repository}/{version}-cpu-sagemaker.yml" in published.source


def test_scikit_learn_1_9_0_has_no_serving_image_as_the_sdk_has_none_for_1_4_2() -> None:
    assert images.known_versions("sklearn", "inference") == []
    with pytest.raises(ValueError, match=re.escape("sklearn inference version '1.9-0' is not")):
        images.image_uri("sklearn", "inference", "1.9-0", "py3", "us-east-1", "ml.m5.xlarge")


def test_unknown_processor_is_refused() -> None:
    with pytest.raises(ValueError, match=re.escape("no gpu image for sklearn 1.9-0 training")):
        images.image_uri("sklearn", "training", "1.9-0", "py3", "us-east-1", "ml.g5.xlarge")


def test_the_committed_table_is_what_refresh_writes(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`python -m kernel.images --refresh` rebuilds images.json from the SDK and PUBLISHED."""
    committed = images.TABLE.read_text()
    monkeypatch.setattr(images, "TABLE", tmp_path / "images.json")
    images._refresh()

    assert (tmp_path / "images.json").read_text() == committed

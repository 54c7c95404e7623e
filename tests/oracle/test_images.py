"""Our offline image table resolves exactly what the SageMaker SDK 2.x resolves.

A version the SDK's table lacks (kernel.images.PUBLISHED: XGBoost 3.2-0, scikit-learn 1.9-0,
from AWS's published image list) is compared with the SDK's image of the version it mirrors, the
tag substituted (tests/oracle/sdk_twin.retrieve): the repository, registries and processor rules
are the SDK's, the tag is AWS's list's.
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
    for framework, versions in images.SUPPORTED.items()
    for version in versions
    for scope in ("training", "inference")
    if version in images.known_versions(framework, scope)  # scikit-learn 1.9-0: training only
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
        py = "py3" if framework == "sklearn" else "py312"
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


@pytest.mark.parametrize(
    ("framework", "version", "repository"),
    [("xgboost", "3.2-0", "sagemaker-xgboost"), ("sklearn", "1.9-0", "sagemaker-scikit-learn")],
)
def test_a_published_only_version_is_the_sdks_image_of_the_one_it_mirrors(  # type: ignore[no-untyped-def]
    retrieve, framework: str, version: str, repository: str
) -> None:
    like, source = images.PUBLISHED[framework, version]
    sdk = retrieve(framework, "eu-west-1", like, instance_type="ml.m5.xlarge")

    assert images.image_uri(framework, "training", version, "py3", "eu-west-1", "ml.m5.xlarge") == (
        sdk.replace(f":{like}", f":{version}")
    )
    assert version in images.known_versions(framework)
    assert source.endswith(f"{repository}/{version}-cpu-sagemaker.yml")


def test_scikit_learn_1_9_0_has_no_serving_image_as_the_sdk_has_none_for_1_4_2() -> None:
    assert images.known_versions("sklearn", "inference") == []
    with pytest.raises(ValueError, match=re.escape("sklearn inference version '1.9-0' is not")):
        images.image_uri("sklearn", "inference", "1.9-0", "py3", "us-east-1", "ml.m5.xlarge")


def test_unknown_processor_is_refused() -> None:
    with pytest.raises(ValueError, match=re.escape("no gpu image for sklearn 1.9-0 training")):
        images.image_uri("sklearn", "training", "1.9-0", "py3", "us-east-1", "ml.g5.xlarge")

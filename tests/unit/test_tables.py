"""The committed tables equal their sources, and every framework fact has one home."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from kernel import images, instances, limits
from kernel.frameworks import FRAMEWORKS

REPO = Path(__file__).resolve().parents[2]


def test_instance_type_table_equals_botocores() -> None:
    assert json.loads(instances.TABLE.read_text()) == instances.botocore_table()


def test_api_limit_table_equals_botocores() -> None:
    assert json.loads(limits.TABLE.read_text()) == limits.botocore_table()


def test_api_limits_catch_an_overlong_argument_and_pass_expressions() -> None:
    arguments = {
        "AppSpecification": {"ContainerArguments": ["--numeric", "x" * 257]},
        "Environment": {"bad key": "v", "ok": {"Get": "Parameters.X"}},
        "ProcessingResources": {"ClusterConfig": {"VolumeSizeInGB": 0}},
    }
    assert limits.limit_problems("Processing", arguments) == [
        "AppSpecification.ContainerArguments[1]: has 257 characters; the API takes at most 256",
        "Environment{bad key}: does not match the API's pattern [a-zA-Z_][a-zA-Z0-9_]*",
        "ProcessingResources.ClusterConfig.VolumeSizeInGB: is 0; the API takes at least 1",
    ]
    assert limits.limit_problems("Lambda", {"anything": "x" * 5000}) == []


def load_script(path: Path) -> object:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", sorted(FRAMEWORKS), ids=str)
def test_framework_table_names_real_scripts_the_training_code_agrees_with(name: str) -> None:
    framework = FRAMEWORKS[name]
    assert (REPO / framework.training_script).is_file()
    assert (REPO / framework.inference_handler).is_file()
    # The training scripts run alone in AWS containers, so they keep their own handler names.
    common = load_script(REPO / "components/train/scripts/common.py")
    assert common.HANDLERS[name] == Path(framework.inference_handler).name  # type: ignore[attr-defined]
    assert images.known_versions(name) == sorted(framework.versions)

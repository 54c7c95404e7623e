"""The committed tables equal their sources, and every framework fact has one home."""

from __future__ import annotations

import ast
import json
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


def script_constant(path: Path, name: str) -> object:
    """A literal a job script assigns at module level, read without running the script."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", "") for t in node.targets] == [name]:
            return ast.literal_eval(node.value)
    raise AssertionError(f"{path} assigns no {name}")


@pytest.mark.parametrize("name", sorted(FRAMEWORKS), ids=str)
def test_framework_table_names_real_scripts_the_training_code_agrees_with(name: str) -> None:
    framework = FRAMEWORKS[name]
    assert (REPO / framework.training_script).is_file()
    assert (REPO / framework.inference_handler).is_file()
    # The training scripts run alone in AWS containers, so they keep their own handler names.
    handlers = script_constant(REPO / "components/train/scripts/common.py", "HANDLERS")
    assert handlers[name] == Path(framework.inference_handler).name  # type: ignore[index]
    assert images.known_versions(name) == sorted(framework.versions)

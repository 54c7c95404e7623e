"""The committed tables equal their sources, and every framework fact has one home."""

from __future__ import annotations

import ast
import importlib.util
import itertools
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from kernel import images, instances, limits
from kernel.frameworks import FRAMEWORKS, PREDICTOR, PROTOCOL_ENV, SCOPES

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


# The functions each serving protocol calls in a handler (engine/serving.py plays them).
PROTOCOL_FUNCTIONS = {
    "pytorch-toolkit": {"model_fn", "input_fn", "predict_fn", "output_fn"},
    "sagemaker-containers": {"model_fn", "input_fn", "predict_fn", "output_fn"},
    "tensorflow-serving": {"input_handler", "output_handler"},
}


def module_functions(path: Path) -> set[str]:
    """The functions a job script defines at module level, read without running it."""
    return {n.name for n in ast.parse(path.read_text()).body if isinstance(n, ast.FunctionDef)}


def load_script(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_table_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", sorted(FRAMEWORKS), ids=str)
def test_framework_row_names_real_files_its_handler_and_script_agree_with(name: str) -> None:
    framework = FRAMEWORKS[name]
    assert all((REPO / path).exists() for path in framework.sources()), framework.sources()
    handler = module_functions(REPO / framework.inference_handler)
    assert PROTOCOL_FUNCTIONS[framework.protocol] | {PREDICTOR} <= handler
    # The script parses exactly the table's hyperparameters, with the table's defaults.
    parsed = vars(load_script(REPO / framework.training_script).parse_args([]))
    own = {k: v for k, v in parsed.items() if k not in ("seed", "inference_handler")}
    assert own == {k: rule.default for k, rule in framework.hyperparameters.items()}
    # oldest first, as the framework table lists them
    assert {s: tuple(images.known_versions(name, s)) for s in SCOPES} == framework.versions
    assert framework.environment()[PROTOCOL_ENV] == framework.protocol


def test_hyperparameters_two_frameworks_share_have_one_rule() -> None:
    for first, second in itertools.combinations(FRAMEWORKS.values(), 2):
        for name in set(first.hyperparameters) & set(second.hyperparameters):
            assert first.hyperparameters[name] == second.hyperparameters[name], name


def test_a_framework_source_dir_holds_only_its_own_files() -> None:
    """Adding a framework leaves every other framework's training source dir unchanged."""
    for name, framework in FRAMEWORKS.items():
        others = [fw for other, fw in FRAMEWORKS.items() if other != name]
        for other in others:
            assert other.training_script not in framework.sources()
            assert other.inference_handler not in framework.sources()


def test_what_the_jobs_ship_parses_as_python_3_9() -> None:
    """Training, evaluate and serving code runs in the containers' Pythons (3.9 and later)."""
    folders = [
        "components/train/scripts",
        "components/evaluate/scripts",
        "components/model/scripts",
    ]
    scripts = [p for folder in folders for p in sorted((REPO / folder).rglob("*.py"))]
    assert len(scripts) >= 10
    for path in scripts:
        ast.parse(path.read_text(), filename=str(path), feature_version=(3, 9))

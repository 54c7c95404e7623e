"""The code's shape: every component has the same four parts; parameters have one home."""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

from compiler.monitoring import BACKENDS
from compiler.parameters import PARAMETERS
from compiler.schema import Monitoring
from components.quality_check import step as quality_check

REPO = Path(__file__).resolve().parents[2]
COMPONENTS = sorted(p for p in (REPO / "components").iterdir() if (p / "step.py").exists())


def test_every_component_folder_is_a_component() -> None:
    folders = [p for p in (REPO / "components").iterdir() if p.is_dir() and p.name != "__pycache__"]
    assert sorted(folders) == COMPONENTS


@pytest.mark.parametrize("folder", COMPONENTS, ids=[p.name for p in COMPONENTS])
def test_component_has_config_step_scripts_and_readme(folder: Path) -> None:
    assert (folder / "config.py").is_file()
    assert (folder / "README.md").is_file()
    scripts = folder / "scripts"
    assert scripts.is_dir() and any(p.suffix in (".py", ".md") for p in scripts.iterdir())
    step = importlib.import_module(f"components.{folder.name}.step")
    parameters = list(inspect.signature(step.build).parameters)
    assert parameters[:2] == ["settings", "ctx"], parameters


def test_parameters_are_declared_in_the_table_only() -> None:
    """Steps reference parameters by name (ctx.parameter); only the table declares them."""
    names = {p.name for p in PARAMETERS}
    used = set()
    for path in [*(REPO / "components").rglob("*.py"), *(REPO / "kernel").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Parameter":
                pytest.fail(f"{path} declares a Parameter")
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "parameter":
                (arg,) = node.args
                if isinstance(arg, ast.Constant):
                    used.add(arg.value)
    by_check = {name for pair in quality_check.PARAMETERS.values() for name in pair}
    assert used | by_check == names


def test_engine_expressions_load_no_aws_client_or_terminal_library() -> None:
    """The engine's expression code is pure: it must not pull botocore or rich in (it did, through
    a helper of bundle.watch), which cost half its import time."""
    code = (
        "import sys, engine.expressions; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'botocore', 'boto3', 'rich'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.stdout.strip() == "[]"


def test_the_monitoring_backend_is_chosen_in_one_place() -> None:
    """One object per backend answers the topology and the rules; nothing else branches on it."""
    backends = get_args(Monitoring.model_fields["backend"].annotation)
    assert sorted(BACKENDS) == sorted(backends)
    branching = [
        str(path.relative_to(REPO))
        for folder in ("compiler", "components", "kernel")
        for path in (REPO / folder).rglob("*.py")
        if re.search(r"backend\s*[!=]=|[!=]=\s*['\"](builtin|model_monitor)['\"]", path.read_text())
    ]
    assert branching == []

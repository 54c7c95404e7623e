"""The framework job code compiles, warnings as errors, on every Python its images run.

The training images (which Evaluate runs too) and the serving images have their own Pythons
(kernel/image_environments.json): PyTorch training 2.10 runs 3.13, the other defaults 3.12
(and XGBoost 1.7-1, still selectable, 3.9). A module
removed from the standard library (3.13 dropped `imghdr`, `cgi`, `pipes`...) or an escape
sequence 3.12 turned into a SyntaxWarning fails here on the real interpreter, from pyenv.
tests/unit/test_tables.py parses the same files as Python 3.9 (users may pin older images); the
scripts run end to end on their stacks in bench/pairs.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from engine.environments import find_interpreter
from kernel.frameworks import FRAMEWORKS, SCOPES
from kernel.image_environments import environment_for
from kernel.images import image_uri, known_versions, py_versions, version_order
from tests.components.runner import REPO

FOLDERS = ("components/train/scripts", "components/evaluate/scripts", "components/model/scripts")
# Compiles each file as the interpreter would import it (warnings are errors: -W error).
_COMPILE = """
import sys
for path in sys.argv[1:]:
    compile(open(path).read(), path, "exec")
"""
# Imports each job module's standard-library imports (argv[1]: this machine's standard library;
# third-party ones are the image's), so a module the interpreter lacks fails; prints how many.
_IMPORTS = """
import ast, importlib, sys
stdlib = set(sys.argv[1].split(","))
seen = set()
for path in sys.argv[2:]:
    for node in ast.walk(ast.parse(open(path).read())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
            [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level
            else [])
        for name in names:
            if name.split(".")[0] in stdlib:
                importlib.import_module(name)
                seen.add(name)
print(len(seen))
"""


def job_pythons() -> list[str]:
    """The Pythons of every framework image the table holds ("3.12", "3.13")."""
    found = set()
    for name in FRAMEWORKS:
        for scope in SCOPES:
            for version in known_versions(name, scope):
                python = py_versions(name, version, scope)[-1]
                uri = image_uri(name, scope, version, python, "us-east-1", "ml.m5.xlarge")
                env = environment_for(uri)
                if env is not None and env.python is not None:
                    found.add(env.python)
    return sorted(found, key=version_order)


PYTHONS = job_pythons()
STDLIB = sorted(sys.stdlib_module_names)


def test_the_images_run_3_12_and_3_13() -> None:
    assert {"3.12", "3.13"} <= set(PYTHONS), PYTHONS


@pytest.mark.parametrize("version", PYTHONS, ids=str)
def test_job_code_compiles_and_its_stdlib_imports_exist_there(version: str) -> None:
    python = find_interpreter(version)
    assert python is not None, f"no Python {version}: `pyenv install {version}`"
    scripts = [str(p) for folder in FOLDERS for p in sorted((REPO / folder).rglob("*.py"))]
    assert len(scripts) >= 10
    compiled = subprocess.run(
        [str(python), "-I", "-W", "error", "-c", _COMPILE, *scripts],
        capture_output=True,
        text=True,
    )
    assert compiled.returncode == 0, compiled.stderr
    imported = subprocess.run(
        [str(python), "-I", "-W", "error", "-c", _IMPORTS, ",".join(STDLIB), *scripts],
        capture_output=True,
        text=True,
    )
    assert imported.returncode == 0, imported.stderr
    assert int(imported.stdout) >= 10  # json, argparse, pathlib, tarfile...

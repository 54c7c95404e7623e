"""No project's names leak into another's bundle: nothing falls back to the penguins columns.

Every bundle of every other project (each framework, training mode and monitoring backend) is
compiled, and its files (pipeline.json, assets.json, and those of its monitoring pipelines) and
the code of every asset it ships (string literals, docstrings aside) must not name a penguins
column or class that the project does not have itself: a name both configs hold (a target
called `species`, a class `benign`) is the project's own, not a leak. The names are read from
conf/project/<name>.yaml, not listed here.
"""

from __future__ import annotations

import ast
import itertools
import re
from pathlib import Path
from typing import Any

import pytest

from compiler.compile import Bundle, compile_overrides
from compiler.load import group_options, load_config
from kernel.context import REPO
from kernel.frameworks import FRAMEWORKS


def config_names(project: dict[str, Any]) -> set[str]:
    """The columns and classes a project's config names (whatever its data kind)."""
    data = project["data"]
    columns = {
        data.get("target"),
        data.get("label"),
        *data.get("numeric", ()),
        *data.get("categorical", ()),
    }
    return {str(name) for name in columns | set(project["classes"]) if name is not None}


def project_config(name: str) -> dict[str, Any]:
    config: dict[str, Any] = load_config([f"project={name}"]).data["project"]
    return config


def leak_pattern(own: set[str]) -> re.Pattern[str]:
    """The penguins names a project does not have itself, as whole words."""
    names = sorted(NAMES - own)
    return re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")


NAMES = config_names(project_config("penguins"))
OTHERS = [p for p in group_options("project") if p != "penguins"]
PATTERNS = {project: leak_pattern(config_names(project_config(project))) for project in OTHERS}
COMBINATIONS = [
    (project, framework, training, backend)
    for project, framework, training, backend in itertools.product(
        OTHERS, group_options("framework"), group_options("training"), ("model_monitor", "builtin")
    )
    # only the frameworks the table says learn the project's data kind compile
    if load_config([f"project={project}"]).data["project"]["data"]["kind"]
    in FRAMEWORKS[framework].kinds
]


def bundle_texts(bundle: Bundle, folder: str = "") -> dict[str, str]:
    texts = {
        f"{folder}pipeline.json": bundle.pipeline_json,
        f"{folder}assets.json": bundle.assets_json,
    }
    for subfolder, monitor in bundle.monitors.items():
        texts |= bundle_texts(monitor, f"{folder}{subfolder}/")
    return texts


def code_literals(path: Path) -> list[str]:
    """The string literals of a Python file that are not docstrings (what code can act on)."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_the_names_are_the_penguins_ones() -> None:
    """The check is only as good as its list: it holds the columns and classes, and matches."""
    assert {"species", "island", "culmen_length_mm", "Adelie"} <= NAMES
    assert OTHERS, "no other project to check"
    pattern = leak_pattern(set())
    assert pattern.search('{"island": 1}') and not pattern.search('{"islands": 1}')


def test_a_name_the_project_shares_is_not_a_leak() -> None:
    """A project whose target is also called `species` may say so; the other names still count."""
    pattern = leak_pattern({"species", "petal_length"})
    assert not pattern.search('"--target", "species"')
    assert pattern.search('"--numeric", "culmen_length_mm"')


@pytest.mark.parametrize(
    ("project", "framework", "training", "backend"),
    COMBINATIONS,
    ids=["-".join(c) for c in COMBINATIONS],
)
def test_bundle_names_no_penguins_column_or_class(
    project: str, framework: str, training: str, backend: str, tmp_path: Path
) -> None:
    bundle = compile_overrides(
        [
            f"project={project}",
            f"framework={framework}",
            f"training={training}",
            f"monitoring.backend={backend}",
            f"output_dir={tmp_path}",
        ]
    )
    pattern = PATTERNS[project]
    leaks = [
        f"{name}: {match.group(0)!r}"
        for name, text in bundle_texts(bundle).items()
        for match in pattern.finditer(text)
    ]
    assert leaks == []


def test_shipped_code_names_no_penguins_column_or_class(tmp_path: Path) -> None:
    """The scripts every project's bundles ship hold no penguins name a fallback could use."""
    shipped: dict[str, set[str]] = {}  # path -> the projects whose bundles ship it
    for project, backend in itertools.product(OTHERS, ("model_monitor", "builtin")):
        bundle = compile_overrides(
            [f"project={project}", f"monitoring.backend={backend}", f"output_dir={tmp_path}"]
        )
        for text in bundle_texts(bundle).values():
            for path in re.findall(r'"path": "([^"]+\.py)"', text):
                shipped.setdefault(path, set()).add(project)
    assert len(shipped) > 10, sorted(shipped)
    leaks = [
        f"{path} (shipped to {project}): {literal!r}"
        for path, projects in sorted(shipped.items())
        for literal in code_literals(REPO / path)
        for project in sorted(projects)
        if PATTERNS[project].search(literal)
    ]
    assert leaks == []

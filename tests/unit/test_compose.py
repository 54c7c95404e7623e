"""Every combination of config group options composes, validates and compiles.

Nothing here names a project or an option: the groups and options are read from conf/, so a new
conf/<group>/<option>.yaml is tested as soon as it exists (tests/configs/test_new_project.py adds
one to a copy of conf/ to show it).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from pathlib import Path

import hydra
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from compiler import hydra_cache
from compiler.compile import compile_loaded
from compiler.load import CONF_DIR, config_groups, group_options, load_config
from kernel.errors import CompileError
from kernel.frameworks import FRAMEWORKS


def options(group: str, conf_dir: Path) -> list[str | None]:
    """A group's options, and None where the root config leaves the group off by default."""
    defaults = OmegaConf.to_container(OmegaConf.load(conf_dir / "config.yaml"))["defaults"]  # type: ignore[index]
    optional = any(isinstance(d, dict) and d.get(group, "") is None for d in defaults)
    return [*group_options(group, conf_dir), *([None] if optional else [])]


def combinations(conf_dir: Path) -> list[list[str]]:
    """One override list per combination of every group's options."""
    groups = [g for g in config_groups(conf_dir) if group_options(g, conf_dir)]
    return [
        [f"{group}={option}" for group, option in zip(groups, choice, strict=True) if option]
        for choice in itertools.product(*(options(g, conf_dir) for g in groups))
    ]


COMBINATIONS = combinations(CONF_DIR)


def test_every_group_folder_is_a_group_with_options() -> None:
    folders = sorted(p.name for p in CONF_DIR.iterdir() if p.is_dir() and p.name != "hydra")
    assert config_groups() == folders
    assert all(group_options(g) for g in folders)
    assert not any(o.startswith("_") for g in folders for o in group_options(g))


@pytest.mark.parametrize("overrides", COMBINATIONS, ids=[" ".join(c) for c in COMBINATIONS])
def test_combination_compiles(overrides: list[str]) -> None:
    """...or, where the framework table says the framework cannot learn the project's data,
    fails with that one problem at framework.name."""
    loaded = load_config(overrides)
    kind = loaded.data["project"]["data"]["kind"]
    if kind not in FRAMEWORKS[loaded.choices["framework"]].kinds:
        with pytest.raises(CompileError) as raised:
            compile_loaded(loaded)
        (problem,) = raised.value.problems
        assert problem.what.startswith("framework = ")
        assert f"learns only {' and '.join(FRAMEWORKS[loaded.choices['framework']].kinds)}" in (
            problem.why
        )
        return
    bundle = compile_loaded(loaded)
    assert bundle.config.project.name == loaded.data["project"]["name"]
    assert bundle.config.framework.name == loaded.choices["framework"]
    assert bundle.pipeline.name == bundle.config.project.pipeline_name


def test_shared_file_cache_composes_exactly_what_hydra_composes() -> None:
    """load_config shares Hydra's file cache between composes; it must change nothing."""
    ours = [load_config(c).data for c in COMBINATIONS]
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        fresh = []
        for overrides in COMBINATIONS:
            cfg = compose("config", overrides=overrides)
            fresh.append(OmegaConf.to_container(cfg, resolve=True))
    assert ours == fresh


def test_hydra_is_the_exact_version_whose_internals_the_cache_replaces() -> None:
    """compiler/hydra_cache.py swaps a class inside hydra._internal: it holds only for the pinned
    hydra-core, and only while that class and its one caller read as they did when it was made."""
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    pins = re.findall(r'"hydra-core==([^"]+)"', pyproject)
    assert pins == [hydra.__version__]
    source = hydra_cache.patched_source().encode()
    assert hashlib.sha256(source).hexdigest() == hydra_cache.PATCHED_SOURCE_SHA256


def test_one_composes_overrides_never_reach_the_next() -> None:
    """The shared file cache once carried `output_dir=/x` into every later compose."""
    before = load_config([]).data
    changed = load_config(["output_dir=/tmp/elsewhere", "gate.approve=0.9"]).data
    assert (changed["output_dir"], changed["gate"]["approve"]) == ("/tmp/elsewhere", 0.9)
    assert load_config([]).data == before


@pytest.mark.parametrize("experiment", group_options("experiment"))
def test_each_experiment_writes_its_own_bundle_folder(experiment: str) -> None:
    """An experiment never writes over the bundle the same project's default compile writes."""
    plain = load_config(["project=penguins"]).data["output_dir"]
    varied = load_config(["project=penguins", f"experiment={experiment}"]).data["output_dir"]
    assert varied != plain and experiment in varied

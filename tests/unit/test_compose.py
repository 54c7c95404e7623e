"""Every combination of config groups composes, validates and compiles."""

from __future__ import annotations

import itertools

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from compiler.compile import compile_loaded
from compiler.load import CONF_DIR, config_groups, group_options, load_config

GROUPS = [g for g in config_groups() if group_options(g)]
COMBINATIONS = [
    [f"{group}={option}" for group, option in zip(GROUPS, choice, strict=True)]
    for choice in itertools.product(*(group_options(g) for g in GROUPS))
]


def test_groups_are_the_documented_ones() -> None:
    assert GROUPS == ["aws", "deployment", "framework", "gate", "monitoring", "project", "training"]
    assert group_options("training") == ["train", "train_and_tune", "tune", "tune_top2"]


@pytest.mark.parametrize("overrides", COMBINATIONS, ids=[" ".join(c) for c in COMBINATIONS])
def test_combination_compiles(overrides: list[str]) -> None:
    loaded = load_config(overrides)
    bundle = compile_loaded(loaded)
    assert bundle.config.project.name == loaded.choices["project"]
    assert bundle.config.framework.name == loaded.choices["framework"]
    assert bundle.pipeline.name.startswith(f"{bundle.config.project.name}-")


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

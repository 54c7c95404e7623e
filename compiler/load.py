"""Stage 1, load: compose the Hydra config into plain data, remembering where parts came from."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from compiler.hydra_cache import shared_file_cache
from kernel.errors import CompileError, Problem, did_you_mean, one_of

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
CONFIG_NAME = "config"


@dataclass(frozen=True)
class LoadedConfig:
    """The composed configuration as plain data, plus its provenance for error messages.

    Attributes:
        data: the resolved config, without the `hydra` node.
        choices: config group -> selected option (e.g. "project" -> "penguins").
        overrides: the command-line overrides that produced it.
        raw: the same tree with interpolations unresolved, to tell derived values apart.
    """

    data: dict[str, Any]
    choices: dict[str, str]
    overrides: tuple[str, ...] = field(default=())
    raw: dict[str, Any] = field(default_factory=dict)  # before interpolation: `${aws.bucket}`
    experiment_keys: frozenset[str] = frozenset()  # the dotted keys the experiment file sets

    def source_of(self, path: tuple[str | int, ...]) -> str:
        """Where the value at a key path was set: an override, else the group's file."""
        dotted = ".".join(str(p) for p in path)
        for override in reversed(self.overrides):
            key = override.split("=", 1)[0].lstrip("+~")
            if key.split("@")[0] in self.choices:
                continue  # a group choice selects a file; the file is the source
            if dotted == key or dotted.startswith(key + ".") or key.startswith(dotted + "."):
                return f"command line override {override}"
        experiment = self.choices.get("experiment")
        if experiment and any(
            dotted == key or dotted.startswith(key + ".") for key in self.experiment_keys
        ):
            return f"conf/experiment/{experiment}.yaml (selected by experiment={experiment})"
        group = str(path[0]) if path else ""
        choice = self.choices.get(group)
        if choice is None:
            return f"conf/{CONFIG_NAME}.yaml"
        if group == "training" and len(path) > 1 and path[1] == "tuning":
            tuning = self.choices.get("training/tuning")
            if tuning:
                return f"conf/training/tuning/{tuning}.yaml (selected by training={choice})"
        return f"conf/{group}/{choice}.yaml (selected by {group}={choice})"

    def derived_from(self, path: tuple[str | int, ...]) -> list[str]:
        """The keys a value is interpolated from, followed to the ones set plainly:
        `${project.pipeline_name}-x` -> ['project.name', 'framework.name', 'training.name']."""
        roots: list[str] = []
        pending = self._references(path)
        seen: set[str] = set()
        while pending:
            key = pending.pop(0)
            if key in seen:
                continue
            seen.add(key)
            deeper = self._references(tuple(key.split(".")))
            if deeper:
                pending = deeper + pending
            else:
                roots.append(key)
        return roots

    def _references(self, path: tuple[str | int, ...]) -> list[str]:
        node: Any = self.raw
        for part in path:
            in_dict = isinstance(node, dict) and part in node
            in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
            if in_dict or in_list:
                node = node[part]
            else:
                return []
        return INTERPOLATION.findall(node) if isinstance(node, str) else []


INTERPOLATION = re.compile(r"\$\{([A-Za-z_][\w.]*)\}")


def group_options(group: str, conf_dir: Path = CONF_DIR) -> list[str]:
    """The options of a config group: its YAML files, but for `_`-prefixed shared bases."""
    folder = conf_dir / group
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.yaml") if not p.stem.startswith("_"))


def config_groups(conf_dir: Path = CONF_DIR) -> list[str]:
    """Top-level config groups (folders of conf/), but for Hydra's own."""
    return sorted(p.name for p in conf_dir.iterdir() if p.is_dir() and p.name != "hydra")


def from_hydra(
    cfg: DictConfig,
    choices: dict[str, Any],
    overrides: list[str],
    experiment_keys: frozenset[str] = frozenset(),
) -> LoadedConfig:
    """Turn a composed DictConfig into plain data (resolving interpolations).

    Raises:
        CompileError: an interpolation names a key that does not exist, or loops.
    """
    plain_choices = {
        str(k): str(v) for k, v in choices.items() if v is not None and not k.startswith("hydra")
    }
    keys = [key for key in cfg if key != "hydra"]  # hydra's node has ??? values
    unresolved = OmegaConf.to_container(cfg, resolve=False)
    assert isinstance(unresolved, dict)
    raw = {str(k): v for k, v in unresolved.items() if k != "hydra"}
    try:
        for override in overrides:  # resolve what the user set first, so errors name it
            key = override.split("=", 1)[0].lstrip("+~")
            if "=" in override and key.split("@")[0] not in plain_choices:
                OmegaConf.select(cfg, key, throw_on_resolution_failure=True)
        data = {str(k): _plain(cfg[k]) for k in keys}
    except OmegaConfBaseException as exc:
        loaded = LoadedConfig({}, plain_choices, tuple(overrides), raw, experiment_keys)
        raise CompileError([_interpolation_problem(loaded, exc)]) from None
    return LoadedConfig(data, plain_choices, tuple(overrides), raw, experiment_keys)


def _leaf_keys(node: Any, prefix: str = "") -> frozenset[str]:
    if not isinstance(node, dict):
        return frozenset({prefix}) if prefix else frozenset()
    keys: set[str] = set()
    for key, value in node.items():
        if key != "defaults":
            keys |= _leaf_keys(value, f"{prefix}.{key}" if prefix else str(key))
    return frozenset(keys)


def _plain(value: Any) -> Any:
    if OmegaConf.is_config(value):
        return OmegaConf.to_container(value, resolve=True, throw_on_missing=True)
    return value


def _interpolation_problem(loaded: LoadedConfig, exc: OmegaConfBaseException) -> Problem:
    key = str(getattr(exc, "full_key", "") or "")
    path = tuple(key.split(".")) if key else ()
    node: Any = loaded.raw
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    message = str(getattr(exc, "msg", exc)).splitlines()[0]
    if "Recursive" in message:
        why = "its interpolation refers back to itself, through the keys it names"
        fix = "give one of the keys in the loop a plain value"
    else:
        missing = re.search(r"'([^']+)' not found", message)
        name = missing.group(1) if missing else "a key"
        why = f"it refers to {name}, which is not set"
        fix = f"set {name} (see README's config reference), or give {key} a plain value"
    return Problem(loaded.source_of(path), f"{key} = {node!r}", why, fix)


_INITIALIZED: list[Path] = []  # the conf dir GlobalHydra was initialized with


def load_config(overrides: list[str], conf_dir: Path = CONF_DIR) -> LoadedConfig:
    """Compose `<conf_dir>/config.yaml` with command-line style overrides.

    Overrides are checked first, so an unknown group option or key reads as a
    where/what/why/fix problem with a suggestion instead of a Hydra stack trace.

    Raises:
        CompileError: an override names an unknown group, option or key, or does not parse.
    """
    parsed = _parse_overrides(overrides)
    hydra = GlobalHydra.instance()
    if hydra.is_initialized() and [conf_dir] != _INITIALIZED:
        hydra.clear()
    if not hydra.is_initialized():
        # Kept initialized, so later composes reuse its config repository (and file cache).
        initialize_config_dir(str(conf_dir), version_base="1.3")
        _INITIALIZED[:] = [conf_dir]
    return _compose_checked(overrides, parsed, conf_dir)


def _compose_checked(
    overrides: list[str], parsed: list[tuple[str, str]], conf_dir: Path
) -> LoadedConfig:
    _check_group_choices(overrides, parsed, conf_dir)
    try:
        with shared_file_cache(CONFIG_NAME):
            cfg = compose(CONFIG_NAME, overrides=overrides, return_hydra_config=True)
            choices = OmegaConf.to_container(cfg.hydra.runtime.choices)
    except (HydraException, OmegaConfBaseException) as exc:
        _diagnose(overrides, parsed, conf_dir)  # raises a precise problem when it can
        raise CompileError([_hydra_problem(" ".join(overrides), exc)]) from exc
    assert isinstance(choices, dict)
    experiment = choices.get("experiment")
    keys = frozenset[str]()
    if experiment:
        path = conf_dir / "experiment" / f"{experiment}.yaml"
        keys = _leaf_keys(OmegaConf.to_container(OmegaConf.load(path), resolve=False))
    return from_hydra(cfg, {str(k): v for k, v in choices.items()}, overrides, keys)


def _diagnose(overrides: list[str], parsed: list[tuple[str, str]], conf_dir: Path) -> None:
    """Find which key override Hydra refused, by composing the group choices alone."""
    group_overrides = [
        o for o, (key, _) in zip(overrides, parsed, strict=True) if _is_group(key, conf_dir)
    ]
    try:
        base = compose(CONFIG_NAME, overrides=group_overrides, return_hydra_config=True)
    except (HydraException, OmegaConfBaseException):
        return
    _check_keys(base, overrides, parsed, conf_dir)


def _parse_overrides(overrides: list[str]) -> list[tuple[str, str]]:
    """(key, kind) of each override, where kind is '', '+', '++' or '~'."""
    parser = OverridesParser.create()
    result = []
    problems = []
    for text in overrides:
        try:
            (override,) = parser.parse_overrides([text])
        except HydraException as exc:
            problems.append(
                Problem(
                    where=f"command line override {text}",
                    what="cannot parse this override",
                    why=str(exc).splitlines()[0],
                    fix="write overrides as key=value (e.g. gate.approve=0.8) or group=option "
                    "(e.g. project=digits); quote values with spaces",
                )
            )
            continue
        prefix = "~" if override.is_delete() else "++" if override.is_force_add() else ""
        prefix = "+" if override.is_add() else prefix
        result.append((override.get_key_element().lstrip("+~"), prefix))
    if problems:
        raise CompileError(problems)
    return result


def _is_group(key: str, conf_dir: Path) -> bool:
    return (conf_dir / key.split("@")[0]).is_dir()


def _check_group_choices(
    overrides: list[str], parsed: list[tuple[str, str]], conf_dir: Path
) -> None:
    problems = []
    for text, (key, _) in zip(overrides, parsed, strict=True):
        if not _is_group(key, conf_dir):
            continue
        group = key.split("@")[0]
        options = group_options(group, conf_dir)
        value = text.split("=", 1)[1] if "=" in text else ""
        for choice in (v.strip() for v in value.split(",")):
            if choice and choice not in options:
                problems.append(
                    Problem(
                        where=f"command line override {text}",
                        what=f"{group}={choice}",
                        why=f"there is no conf/{group}/{choice}.yaml; "
                        f"'{group}' has the options {one_of(options)}",
                        fix=f"use one of {one_of(options)}{did_you_mean(choice, options)}, "
                        f"or add conf/{group}/{choice}.yaml",
                    )
                )
    if problems:
        raise CompileError(problems)


def _check_keys(
    base: DictConfig, overrides: list[str], parsed: list[tuple[str, str]], conf_dir: Path
) -> None:
    """Every key override must name a key that the composed config has (unless it adds one)."""
    problems = []
    for text, (key, kind) in zip(overrides, parsed, strict=True):
        if _is_group(key, conf_dir) or kind in ("+", "++") or key.startswith("hydra"):
            continue
        node: Any = base
        walked: list[str] = []
        for part in key.split("."):
            if not isinstance(node, DictConfig) or part not in node:
                siblings = (
                    [str(k) for k in node if k != "hydra"] if isinstance(node, DictConfig) else []
                )
                parent = ".".join(walked) or "the root"
                problems.append(
                    Problem(
                        where=f"command line override {text}",
                        what=f"unknown key '{key}'",
                        why=f"{parent} has no key '{part}'"
                        + (f"; its keys are {one_of(siblings)}" if siblings else ""),
                        fix=f"use an existing key{did_you_mean(part, siblings)}; "
                        "see `python -m compiler --cfg job` for every key",
                    )
                )
                break
            node = node[part]
            walked.append(part)
    if problems:
        raise CompileError(problems)


def _hydra_problem(where: str, exc: Exception) -> Problem:
    message = str(exc).strip().splitlines()
    return Problem(
        where=f"command line overrides: {where}" if where else f"conf/{CONFIG_NAME}.yaml",
        what=message[0] if message else type(exc).__name__,
        why="Hydra could not compose the configuration",
        fix="check the override and the YAML it names; "
        "`python -m compiler --cfg job` prints the composed config",
    )

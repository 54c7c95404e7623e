"""`python -m compiler [overrides]`: Hydra's command line in front of the compile stages.

Every job (each combination of a `-m` sweep, expanded with Hydra's own sweeper grammar) is
compiled in memory first; only when all of them are valid are the bundles written. So a bad
override or config exits with status 2 and a where/what/why/fix message, and nothing is written.
Flags that inspect the config (`--help`, `--cfg job`, `--info`...) go to Hydra itself.
Set HYDRA_FULL_ERROR=1 to see tracebacks.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import date
from multiprocessing import get_context
from pathlib import Path

import hydra
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from compiler.compile import Bundle, compile_loaded, compile_overrides, write_bundle
from compiler.load import CONF_DIR, from_hydra
from compiler.support import image_warnings
from kernel.errors import CompileError, ProblemError

MULTIRUN_FLAGS = {"-m", "--multirun"}
PARALLEL_FROM = 4  # sweeps of at least this many jobs compile in two processes
WRITERS = 4


def main() -> None:
    args = sys.argv[1:]
    flags = [a for a in args if a.startswith("-")]
    if any(flag not in MULTIRUN_FLAGS for flag in flags):
        GlobalHydra.instance().clear()
        _hydra_main()  # --help, --cfg, --info, --config-dir...: Hydra's own behaviour
        return
    overrides = [a for a in args if not a.startswith("-")]
    jobs = _jobs(overrides, multirun=bool(flags))
    try:
        bundles = _compile_all(jobs)
    except CompileError as exc:
        _fail(exc)
    targets: dict[Path, Bundle] = {}
    for bundle in bundles:
        if bundle.output_dir in targets:
            _fail_duplicate(bundle)
        targets[bundle.output_dir] = bundle
    _warn(bundles)
    # Each bundle is written whole or not at all; writing (and drawing the SVG with Graphviz,
    # a process of its own) goes on in parallel.
    with ThreadPoolExecutor(WRITERS) as pool:
        written = list(pool.map(write_bundle, bundles))
    try:
        for bundle, target in zip(bundles, written, strict=True):
            _print_summary(bundle, str(target))
    except BrokenPipeError:  # the summary went to a pipe that closed (`| head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _jobs(overrides: list[str], multirun: bool) -> list[list[str]]:
    """The override list of every job Hydra's basic sweeper would launch (one unless -m)."""
    if not multirun:
        return [overrides]
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except Exception:
        return [overrides]
    (batch,) = BasicSweeper.split_arguments(parsed, None)
    return [list(job) for job in batch]


def _compile_all(jobs: list[list[str]]) -> list[Bundle]:
    if len(jobs) < PARALLEL_FROM:
        return [compile_overrides(job) for job in jobs]
    compile_overrides(jobs[0])  # warm the shared caches before forking
    with ProcessPoolExecutor(2, mp_context=get_context("fork")) as pool:
        return list(pool.map(compile_overrides, jobs))


def _fail(exc: ProblemError) -> None:
    if os.environ.get("HYDRA_FULL_ERROR") == "1":
        traceback.print_exception(exc)
    print(exc.render(), file=sys.stderr)
    raise SystemExit(2)


def _fail_duplicate(bundle: Bundle) -> None:
    _fail(
        ProblemError(
            str(bundle.output_dir),
            "two jobs of this sweep write this folder",
            f"they give the same pipeline name '{bundle.pipeline.name}'",
            "keep ${training.name} and ${framework.name} in project.pipeline_name, "
            "or set output_dir per job",
        )
    )


@hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
def _hydra_main(cfg: DictConfig) -> None:
    """Reached only with Hydra flags that still run the job (e.g. --config-dir)."""
    hydra_cfg = HydraConfig.get()
    choices = OmegaConf.to_container(hydra_cfg.runtime.choices)
    assert isinstance(choices, dict)
    overrides = list(hydra_cfg.overrides.task)
    try:
        bundle = compile_loaded(from_hydra(cfg, {str(k): v for k, v in choices.items()}, overrides))
    except CompileError as exc:
        _fail(exc)
    _warn([bundle])
    _print_summary(bundle, str(write_bundle(bundle)))


def _warn(bundles: Iterable[Bundle]) -> None:
    """Each distinct warning of the jobs once, on stderr; the compile goes on."""
    today = date.today()
    seen = dict.fromkeys(w for bundle in bundles for w in image_warnings(bundle.config, today))
    for warning in seen:
        print(warning, file=sys.stderr)


def _print_summary(bundle: Bundle, target: str) -> None:
    types = {s.name: s.type for s in bundle.pipeline.all_steps()}
    width = max(len(n) for n in bundle.order)
    lines = [f"{bundle.pipeline.name}: {len(bundle.order)} steps"]
    lines += [f"  {name:<{width}}  {types[name]}" for name in bundle.order]
    lines.append(f"  -> {target}/pipeline.json, assets.json")
    print("\n".join(lines))

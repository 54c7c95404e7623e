"""The front function: overrides -> load -> validate -> graph -> emit -> bundle on disk."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compiler.load import LoadedConfig, load_config
from compiler.schema import PipelineConfig, validate_config
from compiler.topology import build_monitors, build_pipeline
from kernel.check import all_steps, check_definition
from kernel.context import BuildContext
from kernel.emit import MAX_DEFINITION_CHARS, canonical_json, pipeline_definition
from kernel.errors import CompileError, Problem
from kernel.graph import check_pipeline
from kernel.ir import Pipeline
from kernel.limits import OPERATIONS, limit_problems
from kernel.manifest import Manifest, Monitor, Project, Publish, Schedule
from kernel.picture import picture_files

MONITORS = "monitors"  # the folder of a bundle's monitoring-pipeline bundles


@dataclass(frozen=True)
class Bundle:
    """What one compile produces, before anything touches the disk.

    `monitors` are the builtin backend's monitoring pipelines, each a whole bundle of its own,
    by their folder inside this one (monitors/data-quality, ...).
    """

    config: PipelineConfig
    pipeline: Pipeline
    order: tuple[str, ...]
    pipeline_json: str
    manifest: Manifest
    pictures: dict[str, str]  # file name -> text: the pipeline as Mermaid and DOT
    monitors: dict[str, Bundle] = field(default_factory=dict)

    @property
    def output_dir(self) -> Path:
        return Path(self.config.output_dir)

    @property
    def assets_json(self) -> str:
        return self.manifest.to_json()


def compile_loaded(loaded: LoadedConfig) -> Bundle:
    """Validate, build, check and emit one composed configuration (pure but for reading assets).

    Raises:
        CompileError: every problem found, with where/what/why/fix.
    """
    config = validate_config(loaded)
    pipeline, ctx = build_pipeline(config)
    monitors = {
        f"{MONITORS}/{m.kind.replace('_', '-')}": (
            m.kind,
            _bundle(config, m.pipeline, m.ctx, monitor_publish_settings(config, m.kind)),
        )
        for m in build_monitors(config)
    }
    listed = tuple(
        Monitor(folder, kind, monitor.pipeline.name, _sha256(monitor.pipeline_json))
        for folder, (kind, monitor) in monitors.items()
    )
    bundle = _bundle(
        config,
        pipeline,
        ctx,
        publish_settings(config),
        listed,
        {folder: monitor for folder, (_, monitor) in monitors.items()},
    )
    schedule_problems = _schedule_problems(loaded, config, json.loads(bundle.pipeline_json))
    if schedule_problems:
        raise CompileError(schedule_problems)
    return bundle


def _bundle(
    config: PipelineConfig,
    pipeline: Pipeline,
    ctx: BuildContext,
    publish: Publish,
    listed: tuple[Monitor, ...] = (),
    monitors: dict[str, Bundle] | None = None,
) -> Bundle:
    """One pipeline's bundle: its checked definition, assets.json (listing `listed`), pictures."""
    order, text, definition = _emit(pipeline, list(ctx.functions))
    manifest = Manifest(
        pipeline=pipeline.name,
        definition_sha256=_sha256(text),
        assets=tuple(a for _, a in sorted(ctx.assets.items())),
        functions=tuple(ctx.functions[arn] for arn in sorted(ctx.functions)),
        project=project_facts(config),
        publish=publish,
        monitors=listed,
    )
    pictures = picture_files(definition)
    return Bundle(config, pipeline, order, text, manifest, pictures, monitors or {})


def _emit(pipeline: Pipeline, functions: list[str]) -> tuple[tuple[str, ...], str, dict[str, Any]]:
    """Check the graph, emit the definition and check it: (step order, text, definition).

    Raises:
        CompileError: the definition is too large, or a literal exceeds an API limit.
    """
    order = tuple(check_pipeline(pipeline))
    text = canonical_json(pipeline_definition(pipeline))
    if len(text) > MAX_DEFINITION_CHARS:
        raise CompileError(
            [
                Problem(
                    f"pipeline graph of {pipeline.name} (built from the selected configs)",
                    f"the definition has {len(text)} characters",
                    f"CreatePipeline accepts at most {MAX_DEFINITION_CHARS}",
                    "use fewer steps or candidates",
                )
            ]
        )
    definition = json.loads(text)
    refused = [
        Problem(
            f"compiled definition of {pipeline.name}, step {step['Name']} ({step['Type']})",
            f"Arguments.{problem}",
            f"SageMaker's {OPERATIONS[step['Type']]} refuses it, so the step would fail when "
            "it starts",
            "shorten the config values this argument is made from (the README's config "
            "reference says which keys feed each step)",
        )
        for step in all_steps(definition["Steps"])
        for problem in limit_problems(step["Type"], step["Arguments"])
    ]
    if refused:
        raise CompileError(refused)
    definition_problems = check_definition(definition, pipeline.name, text, functions)
    if definition_problems:  # a compiler bug, not a user error: never ship such a definition
        raise RuntimeError("emitted definition is unsound:\n" + "\n".join(definition_problems))
    return order, text, definition


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def monitor_publish_settings(config: PipelineConfig, kind: str) -> Publish:
    """A monitoring pipeline is published like the main one, but has no schedule of its own:
    the main pipeline's schedule step makes the one that starts it."""
    endpoint = config.deployment.endpoint_name
    return dataclasses.replace(
        publish_settings(config),
        description=f"{kind.replace('_', '-')} monitoring of endpoint {endpoint} (builtin "
        f"backend) for {config.project.pipeline_name}, compiled from conf/",
        parallelism=None,
        schedule=None,
    )


def publish_settings(config: PipelineConfig) -> Publish:
    """What publishing applies besides the definition (assets.json `publish`)."""
    production, aws = config.pipeline, config.aws
    schedule = production.schedule
    return Publish(
        region=aws.region,
        account=aws.role_arn.split(":")[4],
        role_arn=aws.role_arn,
        description=production.description,
        tags=dict(sorted(production.tags.items())),
        parallelism=(
            {"MaxParallelExecutionSteps": production.max_parallel_steps}
            if production.max_parallel_steps
            else None
        ),
        schedule=(
            Schedule(
                name=schedule.name,
                cron=schedule.cron,
                timezone=schedule.timezone,
                role_arn=schedule.role_arn,
                parameters=dict(sorted(schedule.parameters.items())),
                enabled=True,
            )
            if schedule.enabled
            else None
        ),
    )


PARAMETER_TYPES = {"String": (str,), "Integer": (int,), "Float": (int, float), "Boolean": (bool,)}


def _schedule_problems(
    loaded: LoadedConfig, config: PipelineConfig, definition: dict[str, Any]
) -> list[Problem]:
    """Each scheduled parameter value must name a parameter of this pipeline and fit its type."""
    if not config.pipeline.schedule.enabled:
        return []
    declared = {p["Name"]: p["Type"] for p in definition["Parameters"]}
    problems = []
    for name, value in config.pipeline.schedule.parameters.items():
        loc = ("pipeline", "schedule", "parameters", name)
        kind = declared.get(name)
        if kind is None:
            why = f"the pipeline has no parameter {name}; it has {', '.join(sorted(declared))}"
        elif isinstance(value, bool) != (kind == "Boolean") or not isinstance(
            value, PARAMETER_TYPES[kind]
        ):
            why = f"{name} is a {kind} parameter, and {value!r} is not a {kind.lower()}"
        else:
            continue
        problems.append(
            Problem(
                loaded.source_of(loc),
                f"pipeline.schedule.parameters.{name} = {value!r}",
                why,
                "name a parameter of the pipeline (see its definition's Parameters) with a "
                "value of its type",
            )
        )
    return problems


def project_facts(config: PipelineConfig) -> Project:
    """What runtime tools need to know of the project beyond the definition (assets.json)."""
    project, deployment = config.project, config.deployment
    data = project.data
    return Project(
        name=project.name,
        classes=tuple(project.classes),
        kind=data.kind,
        numeric=tuple(getattr(data, "numeric", ())),
        categorical=tuple(getattr(data, "categorical", ())),
        model_package_group=project.model_package_group,
        endpoint_name=deployment.endpoint_name if deployment.enabled else None,
        data_capture_uri=deployment.data_capture_uri if deployment.enabled else None,
        ground_truth_uri=config.monitoring.model_quality.schedule.ground_truth_uri,
    )


def _write_svg(dot_file: Path, svg: Path) -> None:
    """pipeline.svg from pipeline.dot when Graphviz is installed; the SVG is a convenience."""
    dot = shutil.which("dot")
    if dot is not None:
        subprocess.run([dot, "-Tsvg", str(dot_file), "-o", str(svg)], check=True, timeout=60)


def _write_files(bundle: Bundle, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pipeline.json").write_text(bundle.pipeline_json, encoding="utf-8")
    (folder / "assets.json").write_text(bundle.manifest.to_json(), encoding="utf-8")
    for name, text in bundle.pictures.items():
        (folder / name).write_text(text, encoding="utf-8")
    _write_svg(folder / "pipeline.dot", folder / "pipeline.svg")
    for subfolder, monitor in bundle.monitors.items():
        _write_files(monitor, folder / subfolder)


def compile_overrides(overrides: list[str]) -> Bundle:
    return compile_loaded(load_config(overrides))


def write_bundle(bundle: Bundle) -> Path:
    """Write pipeline.json, assets.json and the pictures (pipeline.svg too where Graphviz's
    `dot` is installed); the folder is replaced whole or left untouched."""
    target = bundle.output_dir
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        _write_files(bundle, staging)
        if target.exists():
            old = staging.with_name(staging.name + ".old")
            os.replace(target, old)
            os.replace(staging, target)
            shutil.rmtree(old)
        else:
            os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return target

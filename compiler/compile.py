"""The front function: overrides -> load -> validate -> graph -> emit -> bundle on disk."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compiler.load import LoadedConfig, load_config
from compiler.schema import PipelineConfig, validate_config
from compiler.topology import build_pipeline
from kernel.check import all_steps, check_definition
from kernel.emit import MAX_DEFINITION_CHARS, canonical_json, pipeline_definition
from kernel.errors import CompileError, Problem
from kernel.graph import check_pipeline
from kernel.ir import Pipeline
from kernel.limits import OPERATIONS, limit_problems


@dataclass(frozen=True)
class Bundle:
    """What one compile produces, before anything touches the disk."""

    config: PipelineConfig
    pipeline: Pipeline
    order: tuple[str, ...]
    pipeline_json: str
    assets_json: str

    @property
    def output_dir(self) -> Path:
        return Path(self.config.output_dir)


def compile_loaded(loaded: LoadedConfig) -> Bundle:
    """Validate, build, check and emit one composed configuration (pure but for reading assets).

    Raises:
        CompileError: every problem found, with where/what/why/fix.
    """
    config = validate_config(loaded)
    pipeline, ctx = build_pipeline(config)
    order = check_pipeline(pipeline)
    text = canonical_json(pipeline_definition(pipeline))
    if len(text) > MAX_DEFINITION_CHARS:
        raise CompileError(
            [
                Problem(
                    "pipeline graph (built from the selected configs)",
                    f"the definition has {len(text)} characters",
                    f"CreatePipeline accepts at most {MAX_DEFINITION_CHARS}",
                    "use fewer steps or candidates",
                )
            ]
        )
    definition = json.loads(text)
    refused = [
        Problem(
            f"compiled definition, step {step['Name']} ({step['Type']})",
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
    definition_problems = check_definition(definition, pipeline.name, text)
    if definition_problems:  # a compiler bug, not a user error: never ship such a definition
        raise RuntimeError("emitted definition is unsound:\n" + "\n".join(definition_problems))
    manifest = {
        "pipeline": pipeline.name,
        "assets": [a.to_json() for _, a in sorted(ctx.assets.items())],
        "project": project_facts(config),
    }
    assets = canonical_json(manifest)
    return Bundle(config, pipeline, tuple(order), text, assets)


def project_facts(config: PipelineConfig) -> dict[str, Any]:
    """What runtime tools need to know of the project beyond the definition (assets.json)."""
    project, deployment = config.project, config.deployment
    data = project.data
    return {
        "name": project.name,
        "classes": list(project.classes),
        "kind": data.kind,
        "numeric": list(getattr(data, "numeric", ())),
        "categorical": list(getattr(data, "categorical", ())),
        "region": config.aws.region,
        "model_package_group": project.model_package_group,
        "endpoint_name": deployment.endpoint_name if deployment.enabled else None,
        "data_capture_uri": deployment.data_capture_uri if deployment.enabled else None,
        "ground_truth_uri": config.monitoring.model_quality.schedule.ground_truth_uri,
    }


def compile_overrides(overrides: list[str]) -> Bundle:
    return compile_loaded(load_config(overrides))


def write_bundle(bundle: Bundle) -> Path:
    """Write pipeline.json and assets.json; the folder is replaced whole or left untouched."""
    target = bundle.output_dir
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        (staging / "pipeline.json").write_text(bundle.pipeline_json, encoding="utf-8")
        (staging / "assets.json").write_text(bundle.assets_json, encoding="utf-8")
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

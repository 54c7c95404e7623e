"""What the compiled pipeline hands the job scripts, so a test runs them exactly as it would."""

from __future__ import annotations

import functools
import json
from typing import Any

from compiler.compile import compile_overrides


@functools.cache
def compiled_steps(project: str, framework: str) -> dict[str, dict[str, Any]]:
    """The top-level steps' arguments of the project's default pipeline, by step name."""
    bundle = compile_overrides([f"project={project}", f"framework={framework}"])
    return {step["Name"]: step["Arguments"] for step in json.loads(bundle.pipeline_json)["Steps"]}


def preprocess_arguments(project: str) -> list[str]:
    """The Preprocess job's command line (the same for every framework)."""
    arguments = compiled_steps(project, "pytorch")["Preprocess"]["AppSpecification"]
    return list(arguments["ContainerArguments"])


def training_hyperparameters(project: str, framework: str) -> dict[str, Any]:
    """The Train job's hyperparameters the script reads (not the container's `sagemaker_*`)."""
    encoded = compiled_steps(project, framework)["Train"]["HyperParameters"]
    return {k: json.loads(v) for k, v in encoded.items() if not k.startswith("sagemaker_")}

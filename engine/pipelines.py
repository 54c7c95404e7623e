"""The engine's published pipelines: the builtin backend's monitoring pipelines.

Publishing creates a bundle's monitoring pipelines on SageMaker beside the main one, and the
schedules the main pipeline makes start them by ARN. Here running a bundle "publishes" them:
each is copied whole to `<root>/pipelines/<name>/`, where `engine.schedule run` finds the one a
recorded schedule targets.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from bundle.read import Bundle

FOLDER = "pipelines"


def publish(root: Path, monitor: Bundle) -> Path:
    """Put a monitoring pipeline's bundle where schedules find it; its folder."""
    target = root / FOLDER / monitor.name
    staging = target.with_name(f".{target.name}.new")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(monitor.root, staging)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def find(root: Path, pipeline_arn: str) -> Path | None:
    """The published bundle of the pipeline an ARN names (ARNs carry the name in lower case)."""
    name = pipeline_arn.rsplit("/", 1)[-1]
    folder = root / FOLDER
    if not folder.is_dir():
        return None
    return next((p for p in sorted(folder.iterdir()) if p.name.lower() == name.lower()), None)

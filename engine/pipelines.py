"""The engine's published pipelines: the builtin backend's monitoring pipelines.

Publishing creates a bundle's monitoring pipelines on SageMaker beside the main one, and the
schedules the main pipeline makes start them by ARN. Here running a bundle "publishes" them:
each is copied whole to `<root>/pipelines/<name>/`, where `engine.schedule run` finds the one a
recorded schedule targets.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from bundle.read import Bundle
from engine.records import locked

FOLDER = "pipelines"


def publish(root: Path, monitor: Bundle) -> Path:
    """Put a monitoring pipeline's bundle where schedules find it; its folder."""
    target = root / FOLDER / monitor.name
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    shutil.copytree(monitor.root, staging, dirs_exist_ok=True)
    with locked(root, "pipelines"):  # engines on one root take turns
        if target.exists():
            shutil.rmtree(target.rename(staging.with_name(staging.name + ".old")))
        staging.rename(target)
    return target


def find(root: Path, pipeline_arn: str) -> Path | None:
    """The published bundle of the pipeline an ARN names (ARNs carry the name in lower case)."""
    name = pipeline_arn.rsplit("/", 1)[-1]
    folder = root / FOLDER
    if not folder.is_dir():
        return None
    return next((p for p in sorted(folder.iterdir()) if p.name.lower() == name.lower()), None)

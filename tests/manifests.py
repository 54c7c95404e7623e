"""Manifests (assets.json) for bundles a test writes by hand, made by the kernel's one writer."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from kernel.manifest import Manifest, Project, Publish

REGION, ACCOUNT = "us-east-1", "111122223333"


def hand_manifest(
    pipeline: str, definition_text: str, project: str = "penguins", region: str = REGION
) -> Manifest:
    """A manifest with no assets, functions or monitors, for the given pipeline.json text."""
    return Manifest(
        pipeline=pipeline,
        definition_sha256=hashlib.sha256(definition_text.encode()).hexdigest(),
        assets=(),
        functions=(),
        project=Project(
            name=project,
            classes=("a", "b"),
            kind="tabular",
            numeric=("x",),
            categorical=(),
            model_package_group=project,
            endpoint_name=None,
            data_capture_uri=None,
            ground_truth_uri=f"s3://bucket/{project}/ground-truth",
        ),
        publish=Publish(
            region=region,
            account=ACCOUNT,
            role_arn=f"arn:aws:iam::{ACCOUNT}:role/R",
            description=f"{pipeline}, written by a test",
            tags={},
            parallelism=None,
            schedule=None,
        ),
    )


def write_test_bundle(
    folder: Path, pipeline: str, definition: dict[str, Any], **facts: str
) -> Path:
    """pipeline.json and assets.json in `folder` (made); `facts` as hand_manifest takes them."""
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(definition)
    (folder / "pipeline.json").write_text(text)
    (folder / "assets.json").write_text(hand_manifest(pipeline, text, **facts).to_json())
    return folder

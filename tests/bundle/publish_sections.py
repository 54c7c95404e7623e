"""Add the `functions` and `publish` sections to a compiled bundle's assets.json.

A stand-in for the compiler until it emits these sections itself; then this file goes, with its
one call in tests/bundle/conftest.py (`compile_bundle`). The values are those the compiler will
write for the default aws/deployment configs, so publish's tests code against exactly the
contract. Also adds `definition_sha256`: the sha256 (hex) of pipeline.json's bytes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

ACCOUNT = "111122223333"
REGION = "us-east-1"
LAMBDA_ROLE = f"arn:aws:iam::{ACCOUNT}:role/LambdaExecutionRole"
PIPELINE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMakerExecutionRole"
SCHEDULER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/SchedulerRole"


def add_publish_sections(bundle_dir: Path, **overrides: Any) -> dict[str, Any]:
    """Rewrite bundle_dir/assets.json with the two sections; return the manifest written.

    `overrides`: `functions=[...]` replaces the functions list; any other key replaces that key
    of the publish section (e.g. `account="999999999999"`, `schedule=None`).
    """
    path = bundle_dir / "assets.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    definition_text = (bundle_dir / "pipeline.json").read_bytes()
    arns = sorted(_function_arns(json.loads(definition_text)["Steps"]))
    functions = []
    for asset in manifest["assets"]:
        if asset["kind"] != "lambda":
            continue
        stem = asset["s3_uri"].rsplit("/", 1)[-1].removesuffix(".zip")  # deploy, schedule
        (arn,) = [a for a in arns if stem in a.rsplit(":", 1)[-1]]
        functions.append(
            {
                "asset": asset["name"],
                "function_name": arn.rsplit(":", 1)[-1],
                "function_arn": arn,
                "handler": f"{stem}.lambda_handler",
                "runtime": "python3.12",
                "role_arn": LAMBDA_ROLE,
                "timeout_seconds": 300,
                "memory_mb": 256,
                "environment": {},
            }
        )
    name = manifest["pipeline"]
    publish: dict[str, Any] = {
        "region": REGION,
        "account": ACCOUNT,
        "pipeline_name": name,
        "role_arn": PIPELINE_ROLE,
        "description": f"{name}, compiled from the Hydra configs",
        "tags": {"project": "penguins", "owner": "ml-team"},
        "parallelism": {"MaxParallelExecutionSteps": 10},
        "schedule": {
            "name": f"{name}-daily",
            "cron": "cron(0 6 * * ? *)",
            "timezone": "UTC",
            "role_arn": SCHEDULER_ROLE,
            "parameters": {"ApproveThreshold": 0.8, "SkipDataQualityCheck": True},
            "enabled": True,
        },
    }
    manifest["functions"] = overrides.pop("functions", functions)
    publish.update(overrides)
    manifest["publish"] = publish
    manifest["definition_sha256"] = hashlib.sha256(definition_text).hexdigest()
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


def _function_arns(steps: list[dict[str, Any]]) -> set[str]:
    arns = set()
    for step in steps:
        if step["Type"] == "Lambda":
            arns.add(step["FunctionArn"])
        for branch in ("IfSteps", "ElseSteps"):
            arns |= _function_arns(step.get("Arguments", {}).get(branch, []))
    return arns

"""Bundles compiled for publishing tests, and a moto account that matches them."""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from compiler.compile import compile_overrides, write_bundle
from tests.aws_env import isolate_from_aws

REPO = Path(__file__).resolve().parents[2]
REGION, ACCOUNT = "us-east-1", "111122223333"  # those of the default aws config
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


# Production settings that give publishing something to do beyond the defaults.
PUBLISHED = [
    "+pipeline.tags.owner=ml-team",
    "pipeline.max_parallel_steps=10",
    "pipeline.schedule.enabled=true",
    "pipeline.schedule.name=penguins-pytorch-train-daily",
    "pipeline.schedule.cron='cron(0 6 * * ? *)'",
    "pipeline.schedule.role_arn=arn:aws:iam::111122223333:role/SchedulerRole",
    "+pipeline.schedule.parameters.ApproveThreshold=0.8",
    "+pipeline.schedule.parameters.SkipDataQualityCheck=true",
]


def compile_bundle(*overrides: str) -> Path:
    """penguins x pytorch (it has both Lambda functions), compiled with `overrides` (which set
    output_dir), ready to publish."""
    bundle = compile_overrides(["project=penguins", "framework=pytorch", *PUBLISHED, *overrides])
    return write_bundle(bundle)


@pytest.fixture(scope="session")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle, compiled once per session; tests publish copies of it."""
    out = tmp_path_factory.mktemp("compiled") / "penguins-pytorch-train"
    return compile_bundle(f"output_dir={out}")


@pytest.fixture
def bundle_dir(compiled: Path, tmp_path: Path) -> Path:
    """A fresh copy of the compiled bundle."""
    target = tmp_path / "bundle"
    shutil.copytree(compiled, target)
    return target


def bucket_of(bundle_dir: Path) -> str:
    (bucket,) = {
        a["s3_uri"][5:].split("/", 1)[0]
        for a in json.loads((bundle_dir / "assets.json").read_text())["assets"]
    }
    return bucket


@functools.cache
def _boto3_session() -> boto3.session.Session:
    return boto3.session.Session()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, compiled: Path) -> Iterator[None]:
    """moto as the bundle's account, with its bucket and roles, far from any real account."""
    isolate_from_aws(monkeypatch, tmp_path, REGION)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", ACCOUNT)
    monkeypatch.setenv("COLUMNS", "200")  # the plan table on one line per row
    manifest = json.loads((compiled / "assets.json").read_text())
    roles = {f["role_arn"] for f in manifest["functions"]} | {manifest["publish"]["role_arn"]}
    with mock_aws():
        # one boto3 session for every test (moto resets it to None): API models read once
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", _boto3_session())
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=bucket_of(compiled))
        iam = boto3.client("iam", region_name=REGION)
        for role in sorted(roles):  # moto's CreateFunction checks that the role exists
            iam.create_role(RoleName=role.rsplit("/", 1)[-1], AssumeRolePolicyDocument=TRUST)
        yield


@pytest.fixture
def repo_copy(compiled: Path, tmp_path: Path) -> Path:
    """The source files the bundle's assets name, copied, so a test can change one."""
    root = tmp_path / "repo"
    for asset in json.loads((compiled / "assets.json").read_text())["assets"]:
        for entry in asset["files"]:
            (root / entry["path"]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / entry["path"], root / entry["path"])
    return root


def change_asset(bundle_dir: Path, repo: Path, name: str) -> str:
    """Edit the entry script of asset `name` in `repo`; rewrite the bundle as a recompile would.

    Returns:
        the asset's new s3_uri.
    """
    assets_path, pipeline_path = bundle_dir / "assets.json", bundle_dir / "pipeline.json"
    manifest = json.loads(assets_path.read_text())
    (asset,) = [a for a in manifest["assets"] if a["name"] == name]
    (entry,) = [f for f in asset["files"] if "/" not in f["arcname"]]  # the entry script
    source = repo / entry["path"]
    source.write_bytes(source.read_bytes() + b"\n# changed by a test\n")
    entry["sha256"] = hashlib.sha256(source.read_bytes()).hexdigest()
    lines = "".join(f"{f['arcname']}\0{f['sha256']}\n" for f in asset["files"])  # sorted
    digest = (
        entry["sha256"] if asset["kind"] == "file" else hashlib.sha256(lines.encode()).hexdigest()
    )
    old_uri = asset["s3_uri"]
    asset["s3_uri"] = old_uri.replace(asset["sha256"], digest)
    asset["sha256"] = digest
    pipeline_path.write_text(pipeline_path.read_text().replace(old_uri, asset["s3_uri"]))
    manifest["definition_sha256"] = hashlib.sha256(pipeline_path.read_bytes()).hexdigest()
    assets_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return str(asset["s3_uri"])


def edit_manifest(bundle_dir: Path, edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Apply `edit` to assets.json in place (as a recompile with other settings would)."""
    path = bundle_dir / "assets.json"
    manifest: dict[str, Any] = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest

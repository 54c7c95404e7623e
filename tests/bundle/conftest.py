"""Bundles compiled for publishing tests, and a moto account that matches them."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from compiler.compile import compile_overrides, write_bundle
from tests.aws_env import isolate_from_aws
from tests.bundle.publish_sections import (
    ACCOUNT,
    LAMBDA_ROLE,
    PIPELINE_ROLE,
    REGION,
    SCHEDULER_ROLE,
    add_publish_sections,
)

REPO = Path(__file__).resolve().parents[2]
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


@pytest.fixture(scope="session")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """penguins x pytorch (it has both Lambda functions), compiled once per session."""
    out = tmp_path_factory.mktemp("compiled") / "penguins-pytorch-train"
    bundle = compile_overrides(["project=penguins", "framework=pytorch", f"output_dir={out}"])
    return write_bundle(bundle)


@pytest.fixture
def bundle_dir(compiled: Path, tmp_path: Path) -> Path:
    """A fresh copy of the compiled bundle with the publish sections added."""
    target = tmp_path / "bundle"
    shutil.copytree(compiled, target)
    add_publish_sections(target)
    return target


def bucket_of(bundle_dir: Path) -> str:
    (bucket,) = {
        a["s3_uri"][5:].split("/", 1)[0]
        for a in json.loads((bundle_dir / "assets.json").read_text())["assets"]
    }
    return bucket


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, compiled: Path) -> Iterator[None]:
    """moto as the bundle's account (bucket and roles created), far from any real account."""
    isolate_from_aws(monkeypatch, tmp_path, REGION)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", ACCOUNT)
    monkeypatch.setenv("COLUMNS", "200")  # the plan table on one line per row
    with mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=bucket_of(compiled))
        iam = boto3.client("iam", region_name=REGION)
        for role in (LAMBDA_ROLE, PIPELINE_ROLE, SCHEDULER_ROLE):
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
    """Edit the one file of asset `name` in `repo` and rewrite the bundle as a recompile would.

    Returns:
        the asset's new s3_uri.
    """
    assets_path, pipeline_path = bundle_dir / "assets.json", bundle_dir / "pipeline.json"
    manifest = json.loads(assets_path.read_text())
    (asset,) = [a for a in manifest["assets"] if a["name"] == name]
    (entry,) = asset["files"]
    source = repo / entry["path"]
    source.write_bytes(source.read_bytes() + b"\n# changed by a test\n")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    old_uri = asset["s3_uri"]
    asset["s3_uri"] = old_uri.replace(asset["sha256"], digest)
    asset["sha256"] = entry["sha256"] = digest
    assets_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    pipeline_path.write_text(pipeline_path.read_text().replace(old_uri, asset["s3_uri"]))
    publish = manifest["publish"]
    add_publish_sections(bundle_dir, functions=manifest["functions"], **publish)
    return str(asset["s3_uri"])

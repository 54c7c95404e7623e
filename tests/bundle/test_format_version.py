"""Every runtime tool reads a bundle through the one reader, so each refuses a bundle of a format
version it does not know, with exit 2 and the same where/what/why/fix, before doing anything."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from bundle import diff, graph, publish
from endpoint import accuracy, ground_truth, traffic
from engine import cli
from kernel.manifest import FORMAT_VERSION
from tests.aws_env import isolate_from_aws
from tests.manifests import write_test_bundle

NEWER = FORMAT_VERSION + 1
DEFINITION = {"Version": "2020-12-01", "Parameters": [], "Steps": []}

TOOLS: dict[str, Callable[[Path, Path], int]] = {
    "engine": lambda b, tmp: cli.main(["run", str(b), "--root", str(tmp / "root")]),
    "publish": lambda b, tmp: publish.main([str(b), "--yes"]),
    "diff": lambda b, tmp: diff.main([str(b), str(b)]),
    "graph": lambda b, tmp: graph.main([str(b)]),
    "accuracy": lambda b, tmp: accuracy.main(["--bundle", str(b), "--test-set", "t.jsonl"]),
    "traffic": lambda b, tmp: traffic.main(["--bundle", str(b), "--test-set", "t.jsonl"]),
    "ground_truth": lambda b, tmp: ground_truth.main(
        ["--bundle", str(b), "--ids", "i.jsonl", "--ground-truth-uri", "s3://b/gt"]
    ),
}
AFTER = {"publish": "\nnothing was applied\n"}  # what a tool prints after the problem


def newer_bundle(folder: Path) -> Path:
    bundle = write_test_bundle(folder, "p", DEFINITION)
    manifest = json.loads((bundle / "assets.json").read_text())
    (bundle / "assets.json").write_text(json.dumps(manifest | {"format_version": NEWER}))
    return bundle


@pytest.mark.parametrize("tool", sorted(TOOLS), ids=str)
def test_each_tool_refuses_a_bundle_of_a_newer_format(
    tool: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    isolate_from_aws(monkeypatch, tmp_path, "us-east-1")  # nothing may reach AWS, nor need to
    bundle = newer_bundle(tmp_path / "bundle")
    assert TOOLS[tool](bundle, tmp_path) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"error: {bundle / 'assets.json'}\n  format_version = {NEWER}\n"
        f"  why: it was compiled by a newer version of the compiler (bundle format {NEWER}); "
        f"this version reads bundle format {FORMAT_VERSION}\n"
        "  fix: recompile the bundle with this version's compiler (`python -m compiler ...`)\n"
        + AFTER.get(tool, "")
    )
    assert not (tmp_path / "root").exists()  # the engine made no execution, nor its root

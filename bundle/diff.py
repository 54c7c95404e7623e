"""`python -m bundle.diff A B` or `python -m bundle.diff A --deployed`: what a change does.

Compares two bundle folders (old A -> new B; either may be a bare definition file: a pipeline.json
our compiler did not write, or DescribePipeline's answer, so a notebook's pipeline can be set
beside ours; a bare side has no assets or publish settings to compare), or the pipeline SageMaker
holds (old) with bundle A (new): steps added, removed and changed with the fields that changed and
whether SageMaker re-runs each changed step, assets whose content changed, parameters added,
removed or with new defaults, and what publishing applies besides the definition (schedule, tags,
description, parallelism, role, each Lambda function's configuration). Two bundles of the builtin
monitoring backend also get a section per monitoring pipeline (`monitors/<kind>/`; one that only
one side has shows as added or removed); as JSON the document is then `{"pipeline": ...,
"monitors": {folder: ...}}`. `--deployed` compares the main pipeline only. `--exit-code` exits 1
when anything changed (as `git diff --exit-code`); bad bundles and AWS errors exit 2 with
where/what/why/fix.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bundle.aws import AwsError, deployed_definition
from bundle.compare import Diff, diff_definitions
from bundle.read import Bundle, BundleError, monitor_bundles, read_definition
from bundle.report import RENDERERS


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bundle.diff",
        description="Compare two compiled bundles, or a bundle with the pipeline deployed on AWS.",
    )
    parser.add_argument(
        "old", type=Path, metavar="A", help="bundle folder or definition file (the old side)"
    )
    parser.add_argument(
        "new", type=Path, metavar="B", nargs="?", help="bundle folder or definition (new side)"
    )
    parser.add_argument("--format", choices=sorted(RENDERERS), default="text", help="default: text")
    parser.add_argument("--exit-code", action="store_true", help="exit 1 when anything changed")
    parser.add_argument(
        "--deployed",
        action="store_true",
        help="compare the pipeline on AWS (old) with bundle A (new) instead of with B",
    )
    parser.add_argument("--region", help="with --deployed: AWS region (default: the environment's)")
    parser.add_argument(
        "--pipeline-name", help="with --deployed: pipeline name (default: the bundle's)"
    )
    args = parser.parse_args(argv)
    if args.deployed and args.new is not None:
        parser.error("give either a second bundle B or --deployed, not both")
    if not args.deployed and args.new is None:
        parser.error("give a second bundle B to compare with, or --deployed")
    if not args.deployed and (args.region or args.pipeline_name):
        parser.error("--region and --pipeline-name go with --deployed")
    return args


def compare(args: argparse.Namespace) -> tuple[Diff, dict[str, Diff]]:
    """Read both sides once and compare them (old -> new): the pipelines, then (two bundles)
    their monitoring pipelines."""
    first = read_definition(args.old)
    if not args.deployed:
        second = read_definition(args.new)
        both = not (first.bare or second.bare)  # a bare side has no assets or publish settings
        diff = diff_definitions(
            first.definition,
            second.definition,
            old_name=str(args.old),
            new_name=str(args.new),
            old_assets=first.assets if both else None,
            new_assets=second.assets if both else None,
            old_manifest=first.manifest if both else None,
            new_manifest=second.manifest if both else None,
        )
        return diff, compare_monitors(first, second)
    name = args.pipeline_name or first.name
    deployed = deployed_definition(name, args.region)
    diff = diff_definitions(
        deployed,
        first.definition,
        old_name=f"deployed pipeline {name}",
        new_name=str(args.old),
        new_assets=first.assets,
    )
    return diff, {}


def compare_monitors(first: Bundle, second: Bundle) -> dict[str, Diff]:
    """One diff per monitoring pipeline either bundle holds, by its folder."""

    def by_folder(bundle: Bundle) -> dict[str, Bundle]:
        return {m.root.relative_to(bundle.root).as_posix(): m for m in monitor_bundles(bundle)}

    def definition(side: Bundle | None, other: Bundle) -> dict[str, Any]:
        """A side's definition; where it has none, the other's without steps or parameters."""
        return side.definition if side else {**other.definition, "Parameters": [], "Steps": []}

    old, new = by_folder(first), by_folder(second)
    diffs = {}
    for folder in sorted(old.keys() | new.keys()):
        before, after = old.get(folder), new.get(folder)
        present = before or after
        assert present is not None  # the folder comes from one side or the other
        diffs[folder] = diff_definitions(
            definition(before, present),
            definition(after, present),
            old_name=f"{first.root / folder}" if before else "(no such monitoring pipeline)",
            new_name=f"{second.root / folder}" if after else "(no such monitoring pipeline)",
            old_assets=before.assets if before else (),
            new_assets=after.assets if after else (),
            old_manifest=(before or present).manifest,
            new_manifest=(after or present).manifest,
        )
    return diffs


def render(fmt: str, diff: Diff, monitors: dict[str, Diff]) -> str:
    """The main diff, then each monitoring pipeline's (one JSON document holding all)."""
    if not monitors:
        return RENDERERS[fmt](diff)
    if fmt == "json":
        document = {
            "pipeline": json.loads(RENDERERS[fmt](diff)),
            "monitors": {folder: json.loads(RENDERERS[fmt](d)) for folder, d in monitors.items()},
        }
        return json.dumps(document, indent=2, sort_keys=True) + "\n"
    return "\n".join(RENDERERS[fmt](d) for d in (diff, *monitors.values()))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        diff, monitors = compare(args)
    except (BundleError, AwsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(render(args.format, diff, monitors))
    changed = diff.changed or any(d.changed for d in monitors.values())
    return 1 if args.exit_code and changed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Publish a bundle to AWS: a plan first, applied only with --yes; then start and watch.

`python -m bundle.publish BUNDLE_DIR` prints what publishing would do and changes nothing;
`--yes` applies it: content-addressed assets uploaded when absent, the pipeline's Lambda
functions created or updated from the bundle's zips, the pipeline created or updated when its
definition (compared parsed, not as text) or settings changed, and its schedule. Every step
skips what AWS already has, so a publish that stopped half-way is finished by running it again.
Exit status: 0 done (or plan shown), 1 AWS refused something half-way or the execution did not
succeed, 2 bad input or a failed preflight (nothing applied).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from bundle.apply import ApplyError, apply_plan
from bundle.assets import REPO
from bundle.aws import Aws, AwsError, connect
from bundle.plan import Plan, make_plan, plan_table
from bundle.preflight import check_bundle, check_target
from bundle.read import monitor_bundles, read_bundle
from bundle.watch import (
    Outcome,
    check_parameters,
    parse_assignments,
    report_outcome,
    watch_execution,
)
from kernel.console import output_console
from kernel.errors import ProblemError

DEFAULT_POLL = 10.0  # seconds between --watch polls


@dataclass
class Receipt:
    """What a publish did, written as JSON for CI."""

    bundle: str
    pipeline: str
    region: str
    account: str
    status: str = "published"  # or "failed"
    actions: list[dict[str, str]] = field(default_factory=list)
    pipeline_arn: str | None = None
    execution: dict[str, Any] | None = None
    error: str | None = None

    def record(self, plan: Plan, results: Mapping[str, str]) -> None:
        self.actions = [
            {
                "kind": a.kind,
                "name": a.name,
                "action": a.verb,
                "detail": a.detail,
                "resource": a.resource,
                "result": results.get(a.key, "not attempted"),
            }
            for a in plan.actions
        ]

    def write(self, path: Path) -> None:
        """Write atomically: CI never reads half a receipt."""
        payload = {
            "bundle": self.bundle,
            "pipeline": self.pipeline,
            "region": self.region,
            "account": self.account,
            "status": self.status,
            "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "actions": self.actions,
            "pipeline_arn": self.pipeline_arn,
            "execution": self.execution,
            "error": self.error,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, staging = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(payload, out, indent=2, sort_keys=True)
            out.write("\n")
        os.replace(staging, path)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bundle.publish",
        description="Publish a compiled bundle to AWS (plan first; --yes applies).",
    )
    parser.add_argument("bundle_dir", type=Path)
    parser.add_argument("--yes", action="store_true", help="apply the plan")
    parser.add_argument("--start", action="store_true", help="start an execution afterwards")
    parser.add_argument(
        "-p",
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a parameter value for --start (repeatable)",
    )
    parser.add_argument("--watch", action="store_true", help="follow the execution to its end")
    parser.add_argument("--timeout", type=float, default=None, help="seconds --watch waits")
    parser.add_argument(
        "--poll", type=float, default=DEFAULT_POLL, help="seconds between --watch polls"
    )
    parser.add_argument("--receipt", type=Path, default=None, help="default BUNDLE/receipt.json")
    parser.add_argument(
        "--region", default=None, help="default: the AWS config's region, else the bundle's"
    )
    args = parser.parse_args(argv)
    if (args.watch or args.parameter) and not args.start:
        parser.error("--watch and -p go with --start")
    return args


def main(
    argv: list[str] | None = None,
    connect_aws: Callable[[str | None, str], Aws] = connect,
    repo: Path = REPO,
) -> int:
    """The command line; `connect_aws` and `repo` let tests use moto, a Stubber and a copy."""
    args = parse_args(argv)
    console = output_console()
    try:
        bundle = read_bundle(args.bundle_dir)
        target = bundle.manifest.publish
        objects = check_bundle(bundle, repo)
        monitors = monitor_bundles(bundle)
        for monitor in monitors:  # their assets are uploaded with the main ones
            objects = {**check_bundle(monitor, repo), **objects}
        values = check_parameters(bundle.definition, parse_assignments(args.parameter, "-p"), "-p")
        aws = connect_aws(args.region, target.region)
        check_target(aws, target, objects.values())
        plan = make_plan(bundle, objects, aws, monitors)
    except ProblemError as exc:  # the bundle, the preflight, -p values, or an AWS call
        print(f"{exc.render()}\n\nnothing was applied", file=sys.stderr)
        return 2
    console.print(plan_table(plan))
    pending = [a for a in plan.actions if a.pending]
    if not args.yes:
        what = f"{len(pending)} change(s)" if pending else "nothing to change"
        extra = " and start an execution" if args.start else ""
        console.print(
            f"plan only ({what}); nothing applied. To apply{extra}, run:\n  {_apply_command(args)}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return 0
    receipt = Receipt(str(bundle.root), bundle.name, target.region, target.account)
    receipt_path = args.receipt or bundle.root / "receipt.json"
    if not pending:
        console.print("nothing to change: AWS already matches the bundle", markup=False)
    try:
        results, receipt.pipeline_arn = apply_plan(plan, aws, console)
    except ApplyError as exc:
        receipt.record(plan, exc.results)
        receipt.status, receipt.error = "failed", str(exc)
        receipt.write(receipt_path)
        print(exc.render(), file=sys.stderr)
        return exc.status
    receipt.record(plan, results)
    code = 0
    if args.start:
        code = _start(aws, bundle.name, values, args, console, receipt)
    receipt.write(receipt_path)
    console.print(f"receipt: {receipt_path}", markup=False, highlight=False)
    return code


def _apply_command(args: argparse.Namespace) -> str:
    """The command line that applies what this one planned."""
    words = ["python", "-m", "bundle.publish", str(args.bundle_dir), "--yes"]
    if args.start:
        words.append("--start")
        for assignment in args.parameter:
            words += ["-p", assignment]
    words += ["--watch"] if args.watch else []
    for flag in ("timeout", "poll", "receipt", "region"):
        value = getattr(args, flag)
        if value is not None and not (flag == "poll" and value == DEFAULT_POLL):
            words += [f"--{flag}", str(value)]
    return shlex.join(words)


def _start(
    aws: Aws,
    pipeline: str,
    values: dict[str, str],
    args: argparse.Namespace,
    console: Console,
    receipt: Receipt,
) -> int:
    try:
        arn = aws.start_execution(pipeline, values)
        receipt.execution = {"arn": arn, "status": "Executing", "parameters": values}
        console.print(f"started {arn}", markup=False, highlight=False)
        if not args.watch:
            return 0
        outcome: Outcome = watch_execution(
            aws, arn, timeout=args.timeout, poll_seconds=args.poll, console=console
        )
    except AwsError as exc:
        receipt.error = str(exc)
        print(exc.render(), file=sys.stderr)
        return 1
    receipt.execution = {**outcome.to_json(), "parameters": values}
    return report_outcome(outcome, console, args.timeout)


if __name__ == "__main__":
    sys.exit(main())

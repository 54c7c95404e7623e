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
import hashlib
import json
import os
import shlex
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn
from rich.table import Table

from bundle.assets import REPO, AssetObject, StaleBundleError, asset_objects
from bundle.aws import Aws, AwsError, connect, sha256_b64
from bundle.read import Bundle, BundleError, monitor_bundles, read_bundle
from bundle.watch import (
    Outcome,
    ParameterError,
    as_parameter_value,
    check_parameters,
    parse_assignments,
    report_outcome,
    watch_execution,
)
from kernel.check import all_steps, definition_problems, rendered_at
from kernel.console import output_console
from kernel.manifest import Function, Manifest, Publish, Schedule

NO_OP = ("present", "unchanged", "none")  # verbs of actions that change nothing
UPLOAD_THREADS = 8
DEFAULT_POLL = 10.0  # seconds between --watch polls
T = TypeVar("T")
FUNCTION_FIELDS = ("Role", "Handler", "Runtime", "Timeout", "MemorySize", "Environment")


class PublishError(Exception):
    """Bad input or a failed preflight: nothing was applied. Reads where/what/why/fix."""


class ApplyError(Exception):
    """AWS refused an action half-way; the message says what had been applied before."""

    def __init__(self, message: str, results: dict[str, str]) -> None:
        super().__init__(message)
        self.results = results


@dataclass(frozen=True)
class Action:
    """One row of the plan."""

    kind: str  # asset | function | pipeline | schedule
    name: str
    verb: str  # upload, present, create, update ..., unchanged, none
    detail: str = ""
    resource: str = ""  # the S3 URI or ARN acted on, for the receipt

    @property
    def key(self) -> str:
        return f"{self.kind} {self.name}"

    @property
    def pending(self) -> bool:
        return self.verb not in NO_OP


@dataclass(frozen=True)
class PipelinePlan:
    """Create or update one pipeline: the action, its request, and the tags it needs."""

    action: Action
    request: dict[str, Any]
    tags_to_add: dict[str, str]
    arn: str | None
    manifest: Manifest


@dataclass(frozen=True)
class Plan:
    """What publishing would do, with everything needed to do it.

    `monitors` are the bundle's monitoring pipelines (builtin monitoring backend), published
    before the main pipeline, whose schedule steps start them.
    """

    manifest: Manifest
    uploads: tuple[tuple[Action, AssetObject], ...]
    functions: tuple[tuple[Action, dict[str, Any], bytes], ...]
    monitors: tuple[PipelinePlan, ...]
    pipeline: Action
    pipeline_request: dict[str, Any]
    tags_to_add: dict[str, str]
    pipeline_arn: str | None
    schedule: Action
    schedule_request: dict[str, Any] | None
    schedule_exists: bool

    @property
    def actions(self) -> list[Action]:
        return [
            *(a for a, _ in self.uploads),
            *(a for a, _, _ in self.functions),
            *(m.action for m in self.monitors),
            self.pipeline,
            self.schedule,
        ]


# ---------------------------------------------------------------- reading the bundle


def check_bundle(bundle: Bundle, repo: Path = REPO) -> dict[str, AssetObject]:
    """Re-check the bundle against the files on disk and against itself; its objects by name.

    Raises:
        PublishError: pipeline.json edited since the compile, a source file changed, an asset
            key that is not its content address, a Lambda function that does not match the
            assets and the definition, or schedule parameter values the definition refuses.
    """
    problems = []
    text = (bundle.root / "pipeline.json").read_bytes()
    if hashlib.sha256(text).hexdigest() != bundle.manifest.definition_sha256:
        problems.append(
            f"{bundle.root / 'pipeline.json'}\n  its sha256 is not assets.json's "
            "definition_sha256\n  why: the definition was edited after the compile, so it may "
            "not be what the config describes\n  fix: recompile the bundle with "
            "`python -m compiler ...` (change the config, not the JSON)"
        )
    try:
        objects = {obj.name: obj for obj in asset_objects(bundle.assets, repo)}
    except StaleBundleError as exc:
        problems.append(
            f"{bundle.root / 'assets.json'}\n  {exc}\n  why: publishing would upload code the "
            "bundle does not describe\n  fix: recompile the bundle with `python -m compiler ...`"
        )
        objects = {}
    for i, asset in enumerate(bundle.assets):
        if asset.sha256 not in asset.s3_uri.split("/"):
            problems.append(
                f"{bundle.root / 'assets.json'} assets[{i}].s3_uri\n  {asset.s3_uri} does "
                f"not name the asset's sha256 {asset.sha256}\n  why: publishing skips an "
                "object already at its key, which is safe only for content-addressed keys\n"
                "  fix: recompile the bundle with `python -m compiler ...`"
            )
    problems += _function_problems(bundle)
    functions = [f.function_arn for f in bundle.manifest.functions]
    problems += rendered_at(  # the definition check the compiler and the engine run
        bundle.root / "pipeline.json", definition_problems(bundle.definition, functions)
    )
    schedule = bundle.manifest.publish.schedule
    if schedule is not None:
        values = {k: as_parameter_value(v) for k, v in schedule.parameters.items()}
        where = f"{bundle.root / 'assets.json'} publish.schedule.parameters"
        try:
            check_parameters(bundle.definition, values, where)
        except ParameterError as exc:
            problems.append(str(exc).split("\n\n", 1)[1])  # its problems, without the count
    if problems:
        noun = "problem" if len(problems) == 1 else "problems"
        raise PublishError(f"{len(problems)} {noun} in the bundle\n\n" + "\n\n".join(problems))
    return objects


def _function_problems(bundle: Bundle) -> list[str]:
    where = bundle.root / "assets.json"
    problems = []
    lambda_assets = {a.name for a in bundle.assets if a.kind == "lambda"}
    functions, publish = bundle.manifest.functions, bundle.manifest.publish
    for i, function in enumerate(functions):
        arn = function.function_arn
        wanted = f"arn:aws:lambda:{publish.region}:{publish.account}:function:"
        wanted += function.function_name
        if function.asset not in lambda_assets:
            problems.append(
                f"{where} functions[{i}].asset\n  {function.asset!r} is not a Lambda asset\n"
                f"  why: the bundle's Lambda assets are {', '.join(sorted(lambda_assets))}\n"
                "  fix: recompile the bundle with `python -m compiler ...`"
            )
        if arn != wanted:
            problems.append(
                f"{where} functions[{i}].function_arn\n  {arn}\n  why: publishing creates "
                f"{wanted} (the function name in publish's region and account)\n"
                "  fix: set deployment's function ARNs to the configured aws account and region, "
                "then recompile"
            )
    return problems


def check_target(aws: Aws, target: Publish, objects: Iterable[AssetObject]) -> None:
    """The caller's account and region, and every asset bucket's region, against the bundle.

    Raises:
        PublishError: a mismatch (nothing is applied).
        AwsError: a call failed (e.g. no credentials).
    """
    problems = []
    if aws.region != target.region:
        problems.append(
            f"AWS region {aws.region}\n  the bundle is for {target.region}\n"
            "  why: the pipeline, its functions and its assets must be in the configured region\n"
            f"  fix: pass --region {target.region} (or set AWS_DEFAULT_REGION), or recompile with "
            f"aws.region={aws.region}"
        )
    account = aws.account()
    if account != target.account:
        problems.append(
            f"AWS account {account} (the caller's credentials)\n"
            f"  the bundle is for account {target.account}\n"
            "  why: the bundle's role and function ARNs name that account\n"
            f"  fix: use credentials of account {target.account}, or recompile with the "
            f"roles and function ARNs of account {account}"
        )
    for bucket in sorted({obj.bucket for obj in objects}):
        region = aws.bucket_region(bucket)
        if region != target.region:
            problems.append(
                f"s3://{bucket} (the bundle's asset bucket)\n  is in {region}\n"
                f"  why: SageMaker jobs in {target.region} read their code from it; the bundle "
                f"is for {target.region}\n  fix: use a bucket in {target.region} "
                "(aws.bucket=...) and recompile"
            )
    if problems:
        noun = "problem" if len(problems) == 1 else "problems"
        raise PublishError(f"preflight: {len(problems)} {noun}\n\n" + "\n\n".join(problems))


# ---------------------------------------------------------------- the plan


def make_plan(
    bundle: Bundle,
    objects: Mapping[str, AssetObject],
    aws: Aws,
    monitors: Iterable[Bundle] = (),
) -> Plan:
    """Compare the bundle (and its monitoring pipelines) with what AWS has; read-only calls."""
    manifest = bundle.manifest
    uploads = tuple(_plan_asset(aws, obj) for obj in objects.values())
    functions = tuple(_plan_function(aws, f, objects[f.asset].body) for f in manifest.functions)
    monitor_plans = tuple(
        PipelinePlan(*_plan_pipeline(aws, monitor), monitor.manifest) for monitor in monitors
    )
    pipeline, request, tags, arn = _plan_pipeline(aws, bundle)
    schedule, schedule_request, exists = _plan_schedule(aws, manifest.publish.schedule, arn)
    return Plan(
        manifest,
        uploads,
        functions,
        monitor_plans,
        pipeline,
        request,
        tags,
        arn,
        schedule,
        schedule_request,
        exists,
    )


def _plan_asset(aws: Aws, obj: AssetObject) -> tuple[Action, AssetObject]:
    stored = aws.object_checksum(obj.bucket, obj.key)
    size = f"{len(obj.body):,} bytes"
    if stored is None:
        return Action("asset", obj.name, "upload", size, obj.uri), obj
    if stored and stored != sha256_b64(obj.body):  # only a corrupted upload leaves this
        detail = f"{size}; the object there has other bytes (checksum {stored})"
        return Action("asset", obj.name, "replace", detail, obj.uri), obj
    return Action("asset", obj.name, "present", "", obj.uri), obj


def function_config(function: Function) -> dict[str, Any]:
    """The CreateFunction/UpdateFunctionConfiguration settings of a functions entry."""
    return {
        "FunctionName": function.function_name,
        "Role": function.role_arn,
        "Handler": function.handler,
        "Runtime": function.runtime,
        "Timeout": function.timeout_seconds,
        "MemorySize": function.memory_mb,
        "Environment": {"Variables": dict(function.environment)},
    }


def _plan_function(
    aws: Aws, function: Function, zip_bytes: bytes
) -> tuple[Action, dict[str, Any], bytes]:
    config = function_config(function)
    name, arn = config["FunctionName"], function.function_arn
    current = aws.function(name)
    if current is None:
        action = Action("function", name, "create", f"from {function.asset}", arn)
        return action, config, zip_bytes
    current = {**current, "Environment": {"Variables": _variables(current)}}
    fields = [k for k in FUNCTION_FIELDS if current.get(k) != config[k]]
    code = current.get("CodeSha256") != sha256_b64(zip_bytes)
    verb = {
        (True, True): "update code and config",
        (True, False): "update code",
        (False, True): "update config",
        (False, False): "unchanged",
    }[(code, bool(fields))]
    detail = ", ".join(([f"code of {function.asset}"] if code else []) + fields)
    return Action("function", name, verb, detail, arn), config, zip_bytes


def _variables(configuration: Mapping[str, Any]) -> dict[str, str]:
    return dict(configuration.get("Environment", {}).get("Variables", {}))


def _plan_pipeline(
    aws: Aws, bundle: Bundle
) -> tuple[Action, dict[str, Any], dict[str, str], str | None]:
    name, target = bundle.name, bundle.manifest.publish
    request: dict[str, Any] = {
        "PipelineName": name,
        "PipelineDefinition": (bundle.root / "pipeline.json").read_text(encoding="utf-8"),
        "RoleArn": target.role_arn,
        "PipelineDescription": target.description,
    }
    if target.parallelism is not None:
        request["ParallelismConfiguration"] = target.parallelism
    current = aws.pipeline(name)
    if current is None:
        steps = sum(1 for _ in all_steps(bundle.definition["Steps"]))  # as the compiler counts
        return Action("pipeline", name, "create", f"{steps} steps"), request, target.tags, None
    arn = str(current["PipelineArn"])
    changed = []
    if current["Definition"] != bundle.definition:
        changed.append(_definition_change(current["Definition"], bundle.definition))
    if current.get("RoleArn") != target.role_arn:
        changed.append("role")
    if current.get("PipelineDescription", "") != target.description:
        changed.append("description")
    # UpdatePipeline without ParallelismConfiguration keeps the stored one: compare only if set
    parallelism = target.parallelism
    if parallelism is not None and current.get("ParallelismConfiguration") != parallelism:
        changed.append("parallelism")
    stored_tags = aws.tags(arn)
    tags = {k: v for k, v in target.tags.items() if stored_tags.get(k) != v}
    if changed:
        verb = "update"
    elif tags:
        verb = "update tags"
    else:
        verb = "unchanged"
    detail = "; ".join(changed + ([f"tags {', '.join(sorted(tags))}"] if tags else []))
    return Action("pipeline", name, verb, detail, arn), request, tags, arn


def _definition_change(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """Which top-level steps and parameters differ, for the plan table (the diff tool says more)."""

    def by_name(items: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
        return {str(item.get("Name")): item for item in items}

    parts = []
    for section in ("Steps", "Parameters"):
        before, after = by_name(old.get(section, [])), by_name(new.get(section, []))
        names = sorted(n for n in before.keys() | after.keys() if before.get(n) != after.get(n))
        if names:
            parts.append(f"{section.lower()} {', '.join(names)}")
    return "definition: " + ("; ".join(parts) or "other fields")


def _plan_schedule(
    aws: Aws, schedule: Schedule | None, pipeline_arn: str | None
) -> tuple[Action, dict[str, Any] | None, bool]:
    if schedule is None:
        return Action("schedule", "-", "none", "the config sets no schedule"), None, False
    parameters = [
        {"Name": k, "Value": as_parameter_value(v)} for k, v in sorted(schedule.parameters.items())
    ]
    request: dict[str, Any] = {
        "Name": schedule.name,
        "ScheduleExpression": schedule.cron,
        "ScheduleExpressionTimezone": schedule.timezone,
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": "ENABLED" if schedule.enabled else "DISABLED",
        "Target": {
            "Arn": pipeline_arn or "",  # filled in once the pipeline exists
            "RoleArn": schedule.role_arn,
            "SageMakerPipelineParameters": {"PipelineParameterList": parameters},
        },
    }
    current = aws.schedule(schedule.name)
    if current is None:
        action = Action("schedule", schedule.name, "create", schedule.cron)
        return action, request, False
    planned = {**request, "Target": {**request["Target"], "Arn": pipeline_arn}}
    stored, wanted = _schedule_fields(current), _schedule_fields(planned)
    changed = [k for k in wanted if stored[k] != wanted[k]]
    verb = "update" if changed else "unchanged"
    return Action("schedule", schedule.name, verb, ", ".join(changed)), request, True


def _schedule_fields(schedule: Mapping[str, Any]) -> dict[str, Any]:
    """What publishing sets of a schedule, from a CreateSchedule request or a GetSchedule answer."""
    target = schedule.get("Target", {})
    parameters = target.get("SageMakerPipelineParameters", {}).get("PipelineParameterList", [])
    return {
        "cron": schedule.get("ScheduleExpression"),
        "timezone": schedule.get("ScheduleExpressionTimezone", "UTC"),
        "state": schedule.get("State"),
        "window": schedule.get("FlexibleTimeWindow"),
        "target": target.get("Arn"),
        "role": target.get("RoleArn"),
        "parameters": sorted(parameters, key=lambda p: str(p["Name"])),
    }


def plan_table(plan: Plan) -> Table:
    manifest = plan.manifest
    table = Table(title=f"publish plan: {manifest.pipeline} in {manifest.publish.region}")
    for column in ("kind", "name", "action", "detail"):
        table.add_column(column, overflow="fold")
    for action in plan.actions:
        style = "bold" if action.pending else "dim"
        table.add_row(action.kind, action.name, action.verb, action.detail, style=style)
    return table


# ---------------------------------------------------------------- applying it


def apply_plan(plan: Plan, aws: Aws, console: Console) -> tuple[dict[str, str], str]:
    """Do what the plan says, in order: assets, functions, pipeline, schedule.

    Returns:
        the result of every action by its key, and the pipeline's ARN.

    Raises:
        ApplyError: AWS refused an action; its message lists what had been applied.
    """
    results = {a.key: ("skipped" if not a.pending else "not attempted") for a in plan.actions}
    try:
        _upload(aws, [(a, o) for a, o in plan.uploads if a.pending], results, console)
        for action, config, zip_bytes in plan.functions:
            if action.pending:
                _attempt(action, results, console, _apply_function, aws, action, config, zip_bytes)
        for monitor in plan.monitors:
            _attempt(monitor.action, results, console, _apply_pipeline, aws, monitor)
        main = PipelinePlan(
            plan.pipeline, plan.pipeline_request, plan.tags_to_add, plan.pipeline_arn, plan.manifest
        )
        arn = _attempt(plan.pipeline, results, console, _apply_pipeline, aws, main)
        if plan.schedule.pending and plan.schedule_request is not None:
            request = plan.schedule_request
            request = {**request, "Target": {**request["Target"], "Arn": arn}}
            _attempt(
                plan.schedule, results, console, aws.put_schedule, request, plan.schedule_exists
            )
    except _Refused as refused:
        message = _stopped_message(plan, refused.action, refused.error, results)
        raise ApplyError(message, results) from None
    return results, arn


class _Refused(Exception):
    def __init__(self, action: Action, error: AwsError) -> None:
        super().__init__(str(error))
        self.action, self.error = action, error


def _attempt(
    action: Action, results: dict[str, str], console: Console, fn: Callable[..., T], *args: Any
) -> T:
    """fn(*args), recording the action's result; an AwsError stops the publish at `action`."""
    try:
        value = fn(*args)
    except AwsError as exc:
        results[action.key] = "failed"
        raise _Refused(action, exc) from None
    if action.pending:
        _done(action, results, console)
    return value


def _apply_function(aws: Aws, action: Action, config: dict[str, Any], zip_bytes: bytes) -> None:
    if action.verb == "create":
        aws.create_function(config, zip_bytes)
    if "code" in action.verb:
        aws.update_function_code(config["FunctionName"], zip_bytes)
    if "config" in action.verb:
        aws.update_function_configuration(config)


def _upload(
    aws: Aws, uploads: list[tuple[Action, AssetObject]], results: dict[str, str], console: Console
) -> None:
    """Upload in parallel; a refused upload lets the others finish, then stops the publish."""
    if not uploads:
        return
    columns = (TextColumn("uploading assets"), BarColumn(), DownloadColumn())
    refused: _Refused | None = None
    quiet = not console.is_terminal  # a log gets the one line per upload below instead
    with Progress(*columns, console=console, transient=True, disable=quiet) as progress:
        task = progress.add_task("upload", total=sum(len(o.body) for _, o in uploads))
        with ThreadPoolExecutor(max_workers=UPLOAD_THREADS) as pool:
            futures = {
                pool.submit(aws.put_object, o.bucket, o.key, o.body): (a, o) for a, o in uploads
            }
            for future in as_completed(futures):
                action, obj = futures[future]
                try:
                    _attempt(action, results, console, future.result)
                except _Refused as exc:
                    refused = refused or exc
                    continue
                progress.advance(task, len(obj.body))
    if refused is not None:
        raise refused


def _apply_pipeline(aws: Aws, plan: PipelinePlan) -> str:
    """Create or update the pipeline as planned; its ARN."""
    if plan.action.verb == "create":
        return aws.create_pipeline(plan.request, plan.manifest.publish.tags)
    assert plan.arn is not None  # the pipeline exists unless the verb is create
    if plan.action.verb == "update":
        aws.update_pipeline(plan.request)
    if plan.tags_to_add:
        aws.add_tags(plan.arn, plan.tags_to_add)
    return plan.arn


def _done(action: Action, results: dict[str, str], console: Console) -> None:
    results[action.key] = "done"
    console.print(f"  {action.key}: {action.verb} done", markup=False, highlight=False)


def _stopped_message(plan: Plan, failed: Action, exc: AwsError, results: dict[str, str]) -> str:
    def listed(*states: str) -> list[str]:
        return [
            f"  {a.key}: {a.verb}" + (" (refused too)" if results[a.key] == "failed" else "")
            for a in plan.actions
            if results[a.key] in states and a != failed
        ]

    return "\n".join(
        [
            f"publish stopped at {failed.key} ({failed.verb})",
            str(exc),
            "",
            "already applied (kept; a rerun skips them):",
            *(listed("done") or ["  nothing"]),
            "not applied yet:",
            *(listed("failed", "not attempted") or ["  nothing else"]),
            "",
            "fix the cause above, then run the same command again: it finishes the job",
        ]
    )


# ---------------------------------------------------------------- receipt and command line


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
    except (BundleError, PublishError, ParameterError, AwsError) as exc:
        print(f"error: {exc}\n\nnothing was applied", file=sys.stderr)
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
        print(f"error: {exc}", file=sys.stderr)
        return 1
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
        print(f"error: {exc}", file=sys.stderr)
        return 1
    receipt.execution = {**outcome.to_json(), "parameters": values}
    return report_outcome(outcome, console, args.timeout)


if __name__ == "__main__":
    sys.exit(main())

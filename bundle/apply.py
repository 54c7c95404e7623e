"""Publishing's apply: do what the plan says, in order (assets, functions, pipelines, the
schedule); on a refusal stop, and say what was applied and what was not, so a rerun finishes."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

from bundle.assets import AssetObject
from bundle.aws import Aws, AwsError
from bundle.plan import Action, PipelinePlan, Plan
from kernel.errors import ProblemError

UPLOAD_THREADS = 8
T = TypeVar("T")


class ApplyError(ProblemError):
    """AWS refused an action half-way: the refusal's problem, inside a report of what had been
    applied before (kept: a rerun skips it) and what had not. Exit 1: the input was sound."""

    status = 1

    def __init__(self, refusal: AwsError, report: str, results: dict[str, str]) -> None:
        self._hold(refusal.problems, None, listed=False)
        Exception.__init__(self, report)
        self.results = results


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
        raise ApplyError(refused.error, message, results) from None
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

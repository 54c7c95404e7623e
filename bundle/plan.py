"""Publishing's plan: what publishing would change on AWS, compared with what AWS holds.

Read-only: it asks AWS what exists (assets, functions, pipelines, the schedule) and says per
resource what applying would do (bundle/apply.py does it). A definition is compared parsed, not
as text, and a pipeline's settings and tags field by field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rich.table import Table

from bundle.assets import AssetObject
from bundle.aws import Aws, sha256_b64
from bundle.read import Bundle
from bundle.watch import as_parameter_value
from kernel.check import all_steps
from kernel.manifest import Function, Manifest, Schedule

NO_OP = ("present", "unchanged", "none")  # verbs of actions that change nothing
FUNCTION_FIELDS = ("Role", "Handler", "Runtime", "Timeout", "MemorySize", "Environment")


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

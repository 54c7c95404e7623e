"""Lambda steps, played locally: the function is the bundle's, found by the step's FunctionArn.

The step's FunctionArn must be one of the bundle's functions (assets.json `functions`, which
publishing creates from their assets); its handler (e.g. `deploy.lambda_handler`) says which
function it is, and the engine plays that function against its local AWS:
- `deploy` (components' deploy handler): the Approved package, resolved in the local registry,
  is served on a loopback endpoint (engine/endpoint.py) with the event's data capture;
- `schedule`: the monitoring schedule is recorded in `<root>/schedules/<name>.json`
  (`python -m engine.schedule run` runs it);
- `pipeline_schedule` (the builtin backend's) runs as the bundle ships it, from its Lambda zip,
  with the engine's EventBridge Scheduler (engine/scheduler.py) as its AWS client: the schedule
  that would start that pipeline is recorded the same way, and `engine.schedule run` runs the
  published pipeline (engine/pipelines.py) with its parameters.

As the real handlers do, with their envelope (jobkit/envelope.py), failures are results, not
exceptions: `{"statusCode": 4xx|5xx, "error": "<what, why, fix>"}`, so the pipeline's condition
on statusCode decides. The step's OutputParameters are then taken from the result, typed as
declared; a declared output the result lacks fails the step, as on SageMaker. Endpoints bind a
free port unless ENGINE_ENDPOINT_PORT is set; a redeployed endpoint keeps its port.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
import zipfile
from typing import Any

from engine import endpoint
from engine.executors.base import StepContext, StepFailed
from engine.executors.quality_check import ANALYZER_ASSET
from engine.records import now, write_json
from engine.registry import ARN_RE, Package, Registry
from engine.scheduler import LocalScheduler
from jobkit import envelope
from jobkit.envelope import Failure
from kernel.errors import ProblemError
from kernel.manifest import Function

PORT_ENV = "ENGINE_ENDPOINT_PORT"
MONITOR_TYPES = {"data_quality": "DataQuality", "model_quality": "ModelQuality"}
CAPTURE_TYPES = ["application/json", "application/jsonlines"]


def _require(event: dict[str, Any], key: str, pattern: re.Pattern[str], fix: str) -> str:
    problems: list[str] = []
    value = envelope.text(event, key, pattern, "not a valid value", fix, problems)
    if value is None:
        raise Failure(400, "invalid event:\n" + "\n".join(problems))
    return value


def _percentage(event: dict[str, Any]) -> int:
    problems: list[str] = []
    value = envelope.integer(
        event, "data_capture_percentage", 0, 100, None, "pass e.g. 100", problems
    )
    if problems:
        raise Failure(400, "invalid event:\n" + "\n".join(problems))
    return value


# --------------------------------------------------------------------------- deploy


def _port(value: str) -> int:
    """The port ENGINE_ENDPOINT_PORT asks for (0: any free one)."""
    if not value.isdigit() or int(value) > 65535:
        raise Failure(
            500,
            f"{PORT_ENV}={value!r} is not a port number\n"
            "  why: the local endpoint binds 127.0.0.1 on this port\n"
            f"  fix: set {PORT_ENV} to a free port (0 or unset: any free one)",
        )
    return int(value)


def resolve_package(registry: Registry, event: dict[str, Any]) -> Package:
    """The package to serve: the given ARN (it must be Approved) or the group's latest Approved."""
    arn = event.get("model_package_arn")
    if arn:
        if not isinstance(arn, str) or not ARN_RE.match(arn):
            raise Failure(
                400,
                f"invalid event:\nevent.model_package_arn = {arn!r}\n  why: not a model package "
                "ARN\n  fix: pass arn:aws:sagemaker:<region>:<account>:model-package/<group>/<n>",
            )
        package = registry.package(arn)
        if package is None:
            raise Failure(
                404,
                f"model package {arn} not found\n"
                f"  why: the local registry ({registry.path}) has no model package with this ARN\n"
                "  fix: check the ARN (the register step's ModelPackageArn); "
                "`python -m engine.registry list` shows the packages",
            )
        if package.status != "Approved":
            raise Failure(
                400,
                f"model package {arn} is {package.status}, not Approved\n"
                "  why: only Approved model packages are deployed\n"
                f"  fix: approve it (python -m engine.registry approve {arn}) and re-run",
            )
        return package
    group = event.get("model_package_group")
    package = registry.latest_approved(str(group)) if group else None
    if package is None:
        raise Failure(
            404,
            f"model package group {group!r} has no Approved model package\n"
            "  why: the handler deploys only Approved versions\n"
            "  fix: approve a version (python -m engine.registry approve <arn>) or pass "
            "model_package_arn",
        )
    return package


def deploy(ctx: StepContext, event: dict[str, Any]) -> dict[str, Any]:
    name = _require(
        event, "endpoint_name", envelope.SAGEMAKER_NAME_RE, "pass e.g. 'penguins-endpoint'"
    )
    percentage = _percentage(event)
    destination = _require(
        event,
        "data_capture_destination",
        envelope.S3_RE,
        "pass e.g. 's3://my-bucket/penguins/datacapture'",
    )
    package = resolve_package(Registry(ctx.root / "registry.sqlite"), event)
    container = package.inference_specification.get("Containers", [{}])[0]
    path = endpoint.record_path(ctx.root, name)
    previous = json.loads(path.read_text()) if path.is_file() else {}
    wanted = os.environ.get(PORT_ENV)
    port = _port(wanted) if wanted else int(previous.get("Port") or 0)
    match = ARN_RE.match(package.arn)
    assert match is not None
    record = {
        **previous,
        "EndpointName": name,
        "EndpointArn": f"arn:aws:sagemaker:{match['region']}:{match['account']}:endpoint/{name}",
        "Account": match["account"],
        "EndpointStatus": "Creating" if not previous else "Updating",
        "ModelPackageArn": package.arn,
        "PrimaryContainer": {
            "Image": package.image,
            "ModelDataUrl": package.model_data_url,
            "Environment": dict(container.get("Environment") or {}),
        },
        "ProductionVariants": [
            {
                "VariantName": endpoint.VARIANT,
                "InstanceType": event.get("instance_type", ""),
                "InitialInstanceCount": event.get("instance_count", 1),
            }
        ],
        "DataCaptureConfig": {
            "EnableCapture": True,
            "InitialSamplingPercentage": percentage,
            "DestinationS3Uri": destination,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            "CaptureContentTypeHeader": {"JsonContentTypes": list(CAPTURE_TYPES)},
        },
        "PipelineExecutionId": ctx.execution_id,
        "CreationTime": previous.get("CreationTime", now()),
        "LastModifiedTime": now(),
        "Port": port,
    }
    endpoint.stop(ctx.root, name)
    origin = f"{PORT_ENV} asks for it" if wanted else "a redeployed endpoint keeps its port"
    if port and not endpoint.port_is_free(port):
        raise Failure(
            500,
            f"endpoint {name} cannot listen on 127.0.0.1:{port}: the port is in use\n"
            f"  why: another program listens on it ({origin})\n"
            f"  fix: stop that program, or set {PORT_ENV} to another port (0: any free one)",
        )
    write_json(path, record)
    try:
        url = endpoint.launch(ctx.root, name, port)
    except ProblemError as problem:
        endpoint.update_record(ctx.root, name, EndpointStatus="Failed", Pid=None)
        said = problem.problem
        raise Failure(500, f"{said.what}\n  why: {said.why}\n  fix: {said.fix}") from None
    ctx.log(f"endpoint {name} serves {package.arn} on {url}")
    return {
        "statusCode": 200,
        "endpoint_name": name,
        "action": "updated" if previous else "created",
        "model_package_arn": package.arn,
        "url": url,
    }


# --------------------------------------------------------------------------- schedule


def schedule(ctx: StepContext, event: dict[str, Any]) -> dict[str, Any]:
    kind = event.get("monitor_type")
    if kind not in MONITOR_TYPES:
        raise Failure(
            400,
            f"invalid event:\nevent.monitor_type = {kind!r}\n  why: required, one of: "
            "data_quality, model_quality\n  fix: pass 'data_quality' or 'model_quality'",
        )
    name = _require(
        event, "schedule_name", envelope.SAGEMAKER_NAME_RE, "pass e.g. 'penguins-data-quality'"
    )
    endpoint_name = _require(
        event, "endpoint_name", envelope.SAGEMAKER_NAME_RE, "pass e.g. 'penguins-endpoint'"
    )
    if not endpoint.record_path(ctx.root, endpoint_name).is_file():
        raise Failure(
            500,
            f"CreateMonitoringSchedule failed: ValidationException: Could not find endpoint "
            f"{endpoint_name!r}\n  why: SageMaker refused the request\n"
            "  fix: deploy the endpoint first (the Deploy step) and re-run",
        )
    path = ctx.root / "schedules" / f"{name}.json"
    previous = json.loads(path.read_text()) if path.is_file() else {}
    if previous and previous.get("MonitoringType") != MONITOR_TYPES[kind]:
        raise Failure(
            409,
            f"monitoring schedule {name!r} exists and monitors {previous.get('MonitoringType')}, "
            f"not {MONITOR_TYPES[kind]}\n"
            "  why: a schedule keeps its monitoring type; it cannot be updated to another\n"
            f"  fix: give this step another schedule_name, or delete {path}",
        )
    record = {
        "MonitoringScheduleName": name,
        "MonitoringType": MONITOR_TYPES[kind],
        "MonitoringScheduleStatus": "Scheduled",
        "ScheduleExpression": event.get("cron", ""),
        "EndpointName": endpoint_name,
        "Settings": event,
        "AnalyzerUri": ctx.assets.get(ANALYZER_ASSET),  # the job `engine.schedule run` runs
        "PipelineExecutionId": ctx.execution_id,
        "CreationTime": previous.get("CreationTime", now()),
        "LastModifiedTime": now(),
    }
    action = (
        "unchanged" if previous.get("Settings") == event else ("updated" if previous else "created")
    )
    write_json(path, record)
    ctx.log(f"monitoring schedule {name} {action} ({path})")
    return {"statusCode": 200, "schedule_name": name, "action": action}


def run_shipped(ctx: StepContext, function: Function, event: dict[str, Any]) -> Any:
    """The bundle's own handler, run from its Lambda zip (in local S3) with the engine's AWS.

    The handler's `_client` (its one way to AWS) is given the engine's local implementation.
    """
    folder = ctx.work / "function"
    with zipfile.ZipFile(ctx.s3.path(ctx.assets[function.asset])) as archive:
        archive.extractall(folder)
    module_name, entry = function.handler.split(".")
    spec = importlib.util.spec_from_file_location(
        f"bundle_function_{module_name}", folder / f"{module_name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(folder))  # its modules beside it, as in the Lambda runtime
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(folder))
    setattr(module, "_client", lambda name, region: LocalScheduler(ctx.root, region))  # noqa: B010
    result = getattr(module, entry)(event, None)
    if result.get("statusCode") == 200:
        path = ctx.root / "schedules" / f"{result['schedule_name']}.json"
        ctx.log(f"schedule {result['schedule_name']} {result['action']} ({path})")
    else:
        ctx.log(f"{ctx.step_name} failed ({result.get('statusCode')}): {result.get('error')}")
    return result


# --------------------------------------------------------------------------- the step

_TYPES = {"String": str, "Integer": int, "Float": float, "Boolean": bool}


PLAYED = {  # the handler module of a bundle function: how it is played, its declared outputs
    "deploy": (deploy, {"endpoint_name": "", "error": ""}),
    "schedule": (schedule, {"schedule_name": "", "error": ""}),
}
SHIPPED = ("pipeline_schedule",)  # run as the bundle ships them, on the engine's local AWS


def bundle_function(ctx: StepContext) -> Function:
    """The bundle function (assets.json `functions` entry) the step calls.

    Raises:
        StepFailed: the FunctionArn is not among the bundle's functions, or the engine does not
            play its handler.
    """
    arn = ctx.definition.get("FunctionArn", "(no FunctionArn)")
    function = ctx.functions.get(str(arn))
    if function is None:
        known = ", ".join(sorted(ctx.functions)) or "none"
        raise StepFailed(
            f"step {ctx.step_name}: FunctionArn {arn}\n"
            "  what: not one of the bundle's Lambda functions\n"
            f"  why: the engine runs the function the bundle ships (assets.json functions: "
            f"{known}), found by its ARN\n"
            "  fix: recompile the bundle, or run a pipeline whose Lambda steps call the bundle's "
            "own functions"
        )
    module = function.handler.split(".")[0]
    if module not in (*PLAYED, *SHIPPED):
        raise StepFailed(
            f"step {ctx.step_name}: the local engine cannot play Lambda function {arn} "
            f"(handler {function.handler})\n"
            f"  why: it plays the {', '.join((*PLAYED, *SHIPPED))} handlers only\n"
            "  fix: run this pipeline on AWS, or switch the step off in the config"
        )
    return function


def handle(ctx: StepContext, event: dict[str, Any]) -> dict[str, Any]:
    """The function's result, every output the real handler declares present ("" if unused)."""
    shipped = bundle_function(ctx)
    module = shipped.handler.split(".")[0]
    if module in SHIPPED:
        return dict(run_shipped(ctx, shipped, event))
    function, defaults = PLAYED[module]
    try:
        return {**defaults, **function(ctx, event)}
    except Failure as failure:
        ctx.log(f"{ctx.step_name} failed ({failure.status}): {failure.message}")
        return {**defaults, "statusCode": failure.status, "error": failure.message}
    except (OSError, ValueError, KeyError) as error:  # never a traceback, as the handlers
        ctx.log(f"{ctx.step_name} failed unexpectedly: {type(error).__name__}: {error}")
        message = (
            f"unexpected error: {type(error).__name__}: {error}\n"
            f"  why: a bug or a local state the function does not expect\n  fix: see {ctx.log_path}"
        )
        return {**defaults, "statusCode": 500, "error": message}


def run(ctx: StepContext) -> dict[str, Any]:
    result = handle(ctx, ctx.arguments)
    outputs: dict[str, Any] = {}
    for declared in ctx.definition.get("OutputParameters", []):
        key, kind = declared["OutputName"], declared.get("OutputType", "String")
        if key not in result:
            raise StepFailed(
                f"step {ctx.step_name}: the Lambda function's result has no output {key!r}\n"
                f"  why: the step declares it in OutputParameters; the result has "
                f"{', '.join(sorted(result))}\n"
                "  fix: declare only outputs the function returns"
            )
        outputs[key] = _TYPES.get(kind, str)(result[key])
    return {"OutputParameters": outputs}

"""The schedule events the compiler emits reach the real AWS APIs, on both monitoring backends.

Each project's bundle is compiled; its Schedule*Monitor step's event, with the run-time values a
pipeline execution would put in (the deployed endpoint, the baseline's S3 URIs), goes to the
handler that serves it: Model Monitor's schedule handler (SageMaker) or the builtin backend's
EventBridge Scheduler handler. Each AWS client sits under botocore's Stubber, which checks every
request against the service's real API model, on the create path and on the update path.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from compiler.compile import compile_overrides
from kernel.check import all_steps
from tests.aws_env import isolate_from_aws
from tests.engine.serve_fixtures import resolve

SCRIPTS = Path(__file__).resolve().parents[2] / "components" / "schedule" / "scripts"
REGION = "us-east-1"
PROJECTS = ("penguins", "digits", "cancer")
KINDS = ("data_quality", "model_quality")
CASES = [(p, k) for p in PROJECTS for k in KINDS]
IDS = [f"{p}-{k}" for p, k in CASES]
NOW = "2026-12-01T00:00:00Z"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"{name}_under_test", SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


model_monitor = load("schedule")
builtin = load("pipeline_schedule")


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_from_aws(monkeypatch, tmp_path, REGION)


def gets(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if set(value) == {"Get"}:
            yield value["Get"]
        for item in value.values():
            yield from gets(item)
    elif isinstance(value, list):
        for item in value:
            yield from gets(item)


def compiled_event(project: str, kind: str, backend: str, tmp_path: Path) -> dict[str, Any]:
    """The schedule step's Arguments with what an execution resolves them to."""
    bundle = compile_overrides(
        [f"project={project}", f"monitoring.backend={backend}", f"output_dir={tmp_path}"]
    )
    definition = json.loads(bundle.pipeline_json)
    name = f"Schedule{''.join(w.title() for w in kind.split('_'))}Monitor"
    (step,) = [s for s in all_steps(definition["Steps"]) if s["Name"] == name]
    arguments = step["Arguments"]
    defaults = {f"Parameters.{p['Name']}": p["DefaultValue"] for p in definition["Parameters"]}
    known: dict[str, Any] = {}
    for path in gets(arguments):
        if path in defaults:
            known[path] = defaults[path]
        elif path.endswith("['endpoint_name']"):
            known[path] = f"{project}-endpoint"
        else:  # a baseline step's output folder or file
            known[path] = (
                f"s3://example-sagemaker-bucket/run-1/{path.split('.')[1]}/constraints.json"
            )
    assert step["Type"] == "Lambda"
    return dict(resolve(arguments, known))


def sagemaker_stub(monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Stubber]:
    client = boto3.client("sagemaker", region_name=REGION)
    monkeypatch.setattr(model_monitor, "_client", lambda name: client)
    return client, Stubber(client)


def not_found(stub: Stubber, operation: str, code: str = "ResourceNotFound") -> None:
    stub.add_client_error(operation, service_error_code=code, service_message="not found")


@pytest.mark.parametrize(("project", "kind"), CASES, ids=IDS)
@pytest.mark.parametrize("path", ["create", "update"])
def test_model_monitor_events_reach_sagemaker(
    project: str, kind: str, path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = compiled_event(project, kind, "model_monitor", tmp_path)
    _, stub = sagemaker_stub(monkeypatch)
    short = "data_quality" if kind == "data_quality" else "model_quality"
    monitoring_type = "DataQuality" if kind == "data_quality" else "ModelQuality"
    not_found(stub, f"describe_{short}_job_definition")
    stub.add_response(
        f"create_{short}_job_definition", {"JobDefinitionArn": f"arn:aws:sagemaker:{REGION}:1:x/y"}
    )
    if path == "create":
        not_found(stub, "describe_monitoring_schedule")
        stub.add_response("create_monitoring_schedule", {"MonitoringScheduleArn": "arn:s"})
    else:
        stub.add_response(
            "describe_monitoring_schedule",
            {
                "MonitoringScheduleArn": "arn:s",
                "MonitoringScheduleName": event["schedule_name"],
                "MonitoringScheduleStatus": "Scheduled",
                "MonitoringType": monitoring_type,
                "CreationTime": NOW,
                "LastModifiedTime": NOW,
                "MonitoringScheduleConfig": {
                    "ScheduleConfig": {"ScheduleExpression": "cron(0 */6 ? * * *)"},
                    "MonitoringJobDefinitionName": "an-older-definition",
                    "MonitoringType": monitoring_type,
                },
            },
        )
        stub.add_response("update_monitoring_schedule", {"MonitoringScheduleArn": "arn:s"})
    with stub:
        result = model_monitor._handle(event, None)
        stub.assert_no_pending_responses()
    assert result["statusCode"] == 200, result
    assert result["action"] == ("created" if path == "create" else "updated")
    assert result["schedule_name"] == f"{project}-endpoint-{kind.replace('_', '-')}"


@pytest.mark.parametrize(("project", "kind"), CASES, ids=IDS)
@pytest.mark.parametrize("path", ["create", "update"])
def test_builtin_events_reach_eventbridge_scheduler(
    project: str, kind: str, path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = compiled_event(project, kind, "builtin", tmp_path)
    client = boto3.client("scheduler", region_name=REGION)
    monkeypatch.setattr(builtin, "_client", lambda name, region: client)
    stub = Stubber(client)
    name = event["schedule_name"]
    if path == "create":
        not_found(stub, "get_schedule", "ResourceNotFoundException")
        stub.add_response(
            "create_schedule", {"ScheduleArn": f"arn:aws:scheduler:::schedule/{name}"}
        )
    else:
        parameters = [{"Name": k, "Value": str(v)} for k, v in sorted(event["parameters"].items())]
        stub.add_response(
            "get_schedule",
            {
                "Arn": f"arn:aws:scheduler:{REGION}:1:schedule/default/{name}",
                "Name": name,
                "GroupName": "default",
                "ScheduleExpression": "rate(12 hours)",  # changed since: the update path
                "ScheduleExpressionTimezone": "UTC",
                "State": "ENABLED",
                "FlexibleTimeWindow": {"Mode": "OFF"},
                "Target": {
                    "Arn": event["pipeline_arn"],
                    "RoleArn": event["scheduler_role_arn"],
                    "SageMakerPipelineParameters": {"PipelineParameterList": parameters},
                },
                "CreationDate": NOW,
                "LastModificationDate": NOW,
            },
        )
        stub.add_response(
            "update_schedule", {"ScheduleArn": f"arn:aws:scheduler:::schedule/{name}"}
        )
    with stub:
        result = builtin._handle(event, None)
        stub.assert_no_pending_responses()
    assert result["statusCode"] == 200, result
    assert result["action"] == ("created" if path == "create" else "updated")
    assert result["schedule_name"] == f"{project}-endpoint-{kind.replace('_', '-')}"
    assert event["pipeline_arn"].endswith(
        f":pipeline/{project}-tensorflow-train-{kind.replace('_', '-')}-monitor"
    )

"""The pipeline-schedule Lambda handler (`components/schedule/scripts/pipeline_schedule.py`).

The handler runs against botocore's Stubber on a real EventBridge Scheduler client: every request
is checked against the Scheduler API model and the expected parameters are asserted exactly, in
the shape bundle/publish.py sends for the main pipeline's schedule.
"""

from __future__ import annotations

import datetime
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from bundle.watch import as_parameter_value
from tests.aws_env import isolate_from_aws
from tests.components.runner import REPO

SCRIPT = REPO / "components/schedule/scripts/pipeline_schedule.py"
REGION = "eu-west-1"
ACCOUNT = "123456789012"
PIPELINE = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/penguins-monitoring"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/scheduler-starts-pipelines"
NAME = "penguins-data-quality"
SCHEDULE_ARN = f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/{NAME}"
NOW = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)
HOURLY = "cron(0 * * * ? *)"


def load_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pipeline_schedule_under_test", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


handler = load_module()


def event(**changes: Any) -> dict[str, Any]:
    """A valid event; `changes` overrides keys, a value of None removes the key."""
    base: dict[str, Any] = {
        "schedule_name": NAME,
        "schedule_expression": HOURLY,
        "pipeline_arn": PIPELINE,
        "scheduler_role_arn": ROLE,
        "parameters": {
            "EndpointName": "penguins-endpoint",
            "BaselineStatisticsUri": "s3://bucket/baselines/statistics.json",
            "BaselineConstraintsUri": "s3://bucket/baselines/constraints.json",
            "WindowHours": 1,
            "PublishMetrics": True,
        },
    }
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


def request(**changes: Any) -> dict[str, Any]:
    """The CreateSchedule / UpdateSchedule request for `event()` (as publish.py shapes it)."""
    parameters = [
        {"Name": "BaselineConstraintsUri", "Value": "s3://bucket/baselines/constraints.json"},
        {"Name": "BaselineStatisticsUri", "Value": "s3://bucket/baselines/statistics.json"},
        {"Name": "EndpointName", "Value": "penguins-endpoint"},
        {"Name": "PublishMetrics", "Value": "true"},
        {"Name": "WindowHours", "Value": "1"},
    ]
    base: dict[str, Any] = {
        "Name": NAME,
        "ScheduleExpression": HOURLY,
        "ScheduleExpressionTimezone": "UTC",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": "ENABLED",
        "Target": {
            "Arn": PIPELINE,
            "RoleArn": ROLE,
            "SageMakerPipelineParameters": {"PipelineParameterList": parameters},
        },
    }
    base.update(changes)
    return base


def existing(**changes: Any) -> dict[str, Any]:
    """GetSchedule's answer for a schedule made from `request(**changes)`, with AWS's extras."""
    made = request(**changes)
    made["Target"] = {
        **made["Target"],
        "RetryPolicy": {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185},
    }
    return {
        **made,
        "Arn": SCHEDULE_ARN,
        "GroupName": "default",
        "CreationDate": NOW,
        "LastModificationDate": NOW,
        "ActionAfterCompletion": "NONE",
    }


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_from_aws(monkeypatch, tmp_path, "us-east-1")


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    """A real Scheduler client under a Stubber, injected into the handler; the regions asked."""
    client = boto3.client("scheduler", region_name=REGION)
    regions: list[str] = []

    def client_for(name: str, region: str) -> Any:
        assert name == "scheduler"
        regions.append(region)
        return client

    monkeypatch.setattr(handler, "_client", client_for)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()
    assert set(regions) <= {REGION}


def not_found(stubber: Stubber, name: str = NAME, **extra: str) -> None:
    stubber.add_client_error(
        "get_schedule",
        service_error_code="ResourceNotFoundException",
        service_message=f"Schedule {name} does not exist.",
        http_status_code=404,
        expected_params={"Name": name, **extra},
    )


def ok(result: dict[str, Any], action: str) -> None:
    assert result == {
        "statusCode": 200,
        "schedule_name": NAME,
        "schedule_arn": SCHEDULE_ARN,
        "action": action,
        "error": "",
    }


# --------------------------------------------------------------------------- paths


def test_absent_schedule_is_created(stub: Stubber) -> None:
    not_found(stub)
    stub.add_response("create_schedule", {"ScheduleArn": SCHEDULE_ARN}, request())

    ok(handler.lambda_handler(event(), None), "created")


def test_request_has_the_shape_publish_sends() -> None:
    """Same fields and parameter order as bundle/publish.py's schedule request."""
    made = handler.parse_event(event())
    parameters = [
        {"Name": k, "Value": as_parameter_value(v)}
        for k, v in sorted(event()["parameters"].items())
    ]
    assert made == request()
    assert made["Target"]["SageMakerPipelineParameters"]["PipelineParameterList"] == parameters


def test_group_timezone_and_description_are_sent(stub: Stubber) -> None:
    not_found(stub, GroupName="monitoring")
    expected = request(
        GroupName="monitoring",
        ScheduleExpressionTimezone="Europe/Paris",
        Description="Data-quality monitoring of penguins-endpoint",
        ScheduleExpression="rate(6 hours)",
    )
    stub.add_response("create_schedule", {"ScheduleArn": SCHEDULE_ARN}, expected)

    result = handler.lambda_handler(
        event(
            group_name="monitoring",
            timezone="Europe/Paris",
            description="Data-quality monitoring of penguins-endpoint",
            schedule_expression="rate(6 hours)",
        ),
        None,
    )

    assert (result["statusCode"], result["action"]) == (200, "created")


@pytest.mark.parametrize(
    ("current", "changes"),
    [
        pytest.param({"ScheduleExpression": "rate(1 hour)"}, {}, id="expression"),
        pytest.param(
            {},
            {"parameters": {**event()["parameters"], "EndpointName": "penguins-endpoint-2"}},
            id="parameter-value",
        ),
        pytest.param(
            {},
            {"parameters": {**event()["parameters"], "Extra": "x"}},
            id="parameter-added",
        ),
        pytest.param({"State": "DISABLED"}, {}, id="disabled-by-hand"),
        pytest.param({"ScheduleExpressionTimezone": "Europe/Paris"}, {}, id="timezone"),
        pytest.param({"Description": "old"}, {}, id="description-dropped"),
    ],
)
def test_different_schedule_is_updated_whole(
    stub: Stubber, current: dict[str, Any], changes: dict[str, Any]
) -> None:
    wanted = handler.parse_event(event(**changes))
    stub.add_response("get_schedule", existing(**current), {"Name": NAME})
    stub.add_response("update_schedule", {"ScheduleArn": SCHEDULE_ARN}, wanted)

    ok(handler.lambda_handler(event(**changes), None), "updated")


def test_same_schedule_is_left_unchanged(stub: Stubber) -> None:
    current = existing()
    params = current["Target"]["SageMakerPipelineParameters"]["PipelineParameterList"]
    params.reverse()  # AWS's order does not matter
    stub.add_response("get_schedule", current, {"Name": NAME})

    ok(handler.lambda_handler(event(), None), "unchanged")


@pytest.mark.parametrize(
    ("current", "action"),
    [
        pytest.param({"ScheduleExpression": "rate(2 hours)"}, "updated", id="different"),
        pytest.param({}, "unchanged", id="the-same"),
    ],
)
def test_schedule_created_meanwhile_is_compared_as_found(
    stub: Stubber, current: dict[str, Any], action: str
) -> None:
    """Another run created it between GetSchedule and CreateSchedule (ConflictException)."""
    not_found(stub)
    stub.add_client_error(
        "create_schedule",
        service_error_code="ConflictException",
        service_message=f"Schedule {NAME} already exists.",
        http_status_code=409,
        expected_params=request(),
    )
    stub.add_response("get_schedule", existing(**current), {"Name": NAME})
    if action == "updated":
        stub.add_response("update_schedule", {"ScheduleArn": SCHEDULE_ARN}, request())

    ok(handler.lambda_handler(event(), None), action)


# --------------------------------------------------------------------------- AWS errors


def failure(status: int, error: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "schedule_name": NAME,
        "schedule_arn": "",
        "action": "",
        "error": error,
    }


def test_access_denied_names_the_missing_permission(stub: Stubber) -> None:
    not_found(stub)
    stub.add_client_error(
        "create_schedule",
        service_error_code="AccessDeniedException",
        service_message="User is not authorized to perform: scheduler:CreateSchedule",
        http_status_code=403,
        expected_params=request(),
    )

    assert handler.lambda_handler(event(), None) == failure(
        403,
        "CreateSchedule failed: AccessDeniedException: User is not authorized to perform: "
        "scheduler:CreateSchedule\n"
        f"  why: EventBridge Scheduler refused the request for schedule '{NAME}'\n"
        f"  fix: allow scheduler:CreateSchedule on arn:aws:scheduler:{REGION}:{ACCOUNT}:"
        f"schedule/default/{NAME} in the Lambda function's execution role, and iam:PassRole on "
        f"{ROLE}",
    )


def test_access_denied_on_get_needs_no_pass_role(stub: Stubber) -> None:
    stub.add_client_error(
        "get_schedule",
        service_error_code="AccessDeniedException",
        service_message="denied",
        http_status_code=403,
        expected_params={"Name": NAME},
    )

    result = handler.lambda_handler(event(), None)

    assert result["statusCode"] == 403
    assert result["error"].endswith(
        f"fix: allow scheduler:GetSchedule on arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/"
        f"default/{NAME} in the Lambda function's execution role"
    )


def test_throttling_asks_for_a_rerun(stub: Stubber) -> None:
    stub.add_response("get_schedule", existing(ScheduleExpression="rate(1 hour)"), {"Name": NAME})
    stub.add_client_error(
        "update_schedule",
        service_error_code="ThrottlingException",
        service_message="Rate exceeded",
        http_status_code=429,
        expected_params=request(),
    )

    assert handler.lambda_handler(event(), None) == failure(
        429,
        "UpdateSchedule failed: ThrottlingException: Rate exceeded\n"
        f"  why: EventBridge Scheduler refused the request for schedule '{NAME}'\n"
        "  fix: re-run the step; EventBridge Scheduler throttled the request",
    )


def test_missing_group_is_named(stub: Stubber) -> None:
    not_found(stub, GroupName="monitoring")
    stub.add_client_error(
        "create_schedule",
        service_error_code="ResourceNotFoundException",
        service_message="Schedule group monitoring does not exist.",
        http_status_code=404,
        expected_params=request(GroupName="monitoring"),
    )

    result = handler.lambda_handler(event(group_name="monitoring"), None)

    assert result["statusCode"] == 404
    assert result["error"].endswith(
        "fix: create the schedule group 'monitoring' (aws scheduler create-schedule-group "
        "--name monitoring), or leave group_name out"
    )


def test_no_credentials_is_a_500(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh session with no credentials anywhere fails when signing, before any network."""
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(variable)
    monkeypatch.setattr(
        handler, "_client", lambda name, region: boto3.session.Session().client(name, region)
    )

    result = handler.lambda_handler(event(), None)

    assert result["statusCode"] == 500
    assert result["error"].startswith("AWS call failed: NoCredentialsError")
    assert result["schedule_name"] == NAME


# --------------------------------------------------------------------------- bad events


def problem(key: str, value: str, why: str, fix: str) -> str:
    return f"event.{key} = {value}\n  why: {why}\n  fix: {fix}"


FORMS = (
    "use cron(minutes hours day-of-month month day-of-week year) with '?' in day-of-month or "
    "day-of-week, e.g. cron(0 * * * ? *) every hour; rate(N minutes|hours|days), e.g. "
    "rate(1 hour) or rate(6 hours); at(yyyy-mm-ddThh:mm:ss) once"
)


def expression_error(value: str, why: str) -> str:
    return "invalid event:\n" + problem("schedule_expression", repr(value), why, FORMS)


@pytest.mark.parametrize(
    ("expression", "why"),
    [
        pytest.param(
            "cron(0 * * * *)", "a cron expression has 6 fields, this one 5", id="five-fields"
        ),
        pytest.param(
            "cron(0 * * * * *)",
            "exactly one of day-of-month and day-of-week must be '?'",
            id="no-question-mark",
        ),
        pytest.param(
            "cron(0 * ? * ? *)",
            "exactly one of day-of-month and day-of-week must be '?'",
            id="two-question-marks",
        ),
        pytest.param("cron(60 * * * ? *)", "invalid minutes field", id="minute-60"),
        pytest.param("cron(0 24 * * ? *)", "invalid hours field", id="hour-24"),
        pytest.param("cron(0 0 32 * ? *)", "invalid day-of-month field", id="day-32"),
        pytest.param("cron(0 0 * FOO ? *)", "invalid month field", id="month-name"),
        pytest.param("cron(0 0 ? * 8 *)", "invalid day-of-week field", id="weekday-8"),
        pytest.param("cron(0 0 ? * 2#6 *)", "invalid day-of-week field", id="sixth-monday"),
        pytest.param("cron(? 0 * * ? 1969)", "invalid minutes, year fields", id="two-fields"),
        pytest.param("cron(0/0 * * * ? *)", "invalid minutes field", id="step-0"),
        pytest.param("rate(0 hours)", "a rate is a whole number of 1 or more", id="rate-0"),
        pytest.param(
            "rate(1 hours)",
            "a rate of 1 takes the singular unit (minute, hour, day), above 1 the plural",
            id="rate-plural",
        ),
        pytest.param(
            "rate(5 hour)",
            "a rate of 1 takes the singular unit (minute, hour, day), above 1 the plural",
            id="rate-singular",
        ),
        pytest.param(
            "rate(1 week)", "not a cron(...), rate(...) or at(...) expression", id="rate-week"
        ),
        pytest.param("at(2026-02-30T10:00:00)", "not a real date and time", id="at-feb-30"),
        pytest.param(
            "at(2026-12-01 10:00:00)",
            "not a cron(...), rate(...) or at(...) expression",
            id="at-space",
        ),
        pytest.param("hourly", "not a cron(...), rate(...) or at(...) expression", id="shorthand"),
        pytest.param(f"cron(0 * * * ? {'*' * 260})", "longer than 256 characters", id="too-long"),
    ],
)
def test_expression_eventbridge_refuses_is_400(expression: str, why: str) -> None:
    result = handler.lambda_handler(event(schedule_expression=expression), None)

    assert result == failure(400, expression_error(expression, why))


@pytest.mark.parametrize(
    "expression",
    [
        pytest.param("cron(0 * * * ? *)", id="hourly"),
        pytest.param("cron(0 */6 ? * * *)", id="every-6-hours"),
        pytest.param("cron(15,45 8-17 ? * MON-FRI *)", id="working-hours"),
        pytest.param("cron(0 12 L * ? 2026-2030)", id="last-day-of-month"),
        pytest.param("cron(0 9 15W * ? *)", id="nearest-weekday"),
        pytest.param("cron(0 9 ? JAN,jul 2#1 *)", id="first-monday"),
        pytest.param("cron(0 9 ? * 6L *)", id="last-friday"),
        pytest.param("cron(0/10 * * * ? *)", id="minute-steps"),
        pytest.param("rate(1 minute)", id="rate-minute"),
        pytest.param("rate(12 hours)", id="rate-hours"),
        pytest.param("rate(1 day)", id="rate-day"),
        pytest.param("at(2026-12-24T18:30:00)", id="once"),
    ],
)
def test_expression_eventbridge_accepts_passes(expression: str) -> None:
    assert handler.expression_problem(expression) is None
    assert handler.parse_event(event(schedule_expression=expression))["ScheduleExpression"] == (
        expression
    )


def test_every_bad_key_is_reported_at_once() -> None:
    bad = {
        "schedule_name": "penguins data quality",
        "schedule_expression": None,
        "pipeline_arn": "arn:aws:sagemaker:eu-west-1:123:pipeline/x",
        "scheduler_role_arn": "scheduler-role",
        "timezone": "Mars/Olympus",
        "group_name": "",
        "description": "x" * 513,
        "parameters": {"Endpoint Name": "a", "Empty": "", "Nested": {"a": 1}},
        "shedule_name": "typo",
        "colour": "blue",
    }

    result = handler.lambda_handler(bad, None)

    assert result["statusCode"] == 400
    assert result["schedule_name"] == ""
    assert result["error"] == "invalid event:\n" + "\n".join(
        [
            problem(
                "colour",
                "'blue'",
                "not a key this handler reads",
                "known keys: schedule_name, schedule_expression, pipeline_arn, "
                "scheduler_role_arn, timezone, parameters, group_name, description",
            ),
            problem(
                "shedule_name",
                "'typo'",
                "not a key this handler reads",
                "did you mean 'schedule_name'?",
            ),
            problem(
                "schedule_name",
                "'penguins data quality'",
                "a schedule name is 1-64 letters, digits, '-', '_' and '.'",
                "pass e.g. 'penguins-data-quality'",
            ),
            problem("schedule_expression", "missing", "required", FORMS),
            problem(
                "pipeline_arn",
                "'arn:aws:sagemaker:eu-west-1:123:pipeline/x'",
                "not a SageMaker pipeline ARN",
                "pass arn:aws:sagemaker:<region>:<account>:pipeline/<name>",
            ),
            problem(
                "scheduler_role_arn",
                "'scheduler-role'",
                "not an IAM role ARN",
                "pass the role EventBridge Scheduler assumes to start the pipeline, "
                "arn:aws:iam::<account>:role/<name>",
            ),
            problem(
                "timezone",
                "'Mars/Olympus'",
                "not a time zone EventBridge Scheduler knows (an IANA name)",
                "pass e.g. 'UTC' or 'Europe/Paris', or leave it out for UTC",
            ),
            problem(
                "group_name",
                "''",
                "a schedule group name is 1-64 letters, digits, '-', '_' and '.'",
                "pass an existing schedule group, or leave it out for 'default'",
            ),
            problem(
                "description",
                repr("x" * 513),
                "a description is text of at most 512 characters",
                "shorten it, or leave it out",
            ),
            problem(
                "parameters.Empty",
                "''",
                "a parameter value is text, a number or a boolean of 1-1024 characters "
                "(EventBridge Scheduler refuses an empty one)",
                "pass the value as text, or leave the parameter out for its default",
            ),
            problem(
                "parameters.Endpoint Name",
                "'a'",
                "a pipeline parameter name is 1-256 letters, digits, '-' and '_'",
                "use the parameter's name as the monitoring pipeline declares it",
            ),
            problem(
                "parameters.Nested",
                "{'a': 1}",
                "a parameter value is text, a number or a boolean of 1-1024 characters "
                "(EventBridge Scheduler refuses an empty one)",
                "pass the value as text, or leave the parameter out for its default",
            ),
        ]
    )


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        pytest.param({"schedule_name": None}, "schedule_name", id="no-name"),
        pytest.param({"schedule_name": "x" * 65}, "schedule_name", id="name-65"),
        pytest.param({"pipeline_arn": None}, "pipeline_arn", id="no-pipeline"),
        pytest.param(
            {"pipeline_arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/x"},
            "pipeline_arn",
            id="not-a-pipeline",
        ),
        pytest.param({"scheduler_role_arn": None}, "scheduler_role_arn", id="no-role"),
        pytest.param({"schedule_expression": 3600}, "schedule_expression", id="number"),
        pytest.param({"parameters": ["EndpointName"]}, "parameters", id="parameters-list"),
        pytest.param(
            {"parameters": {f"P{i}": "v" for i in range(201)}}, "parameters", id="201-parameters"
        ),
        pytest.param({"parameters": {"Long": "v" * 1025}}, "parameters.Long", id="value-1025"),
        pytest.param({"parameters": {"N" * 257: "v"}}, f"parameters.{'N' * 257}", id="name-257"),
        pytest.param({"timezone": 5}, "timezone", id="timezone-number"),
    ],
)
def test_each_bad_key_is_named(changes: dict[str, Any], key: str) -> None:
    result = handler.lambda_handler(event(**changes), None)

    assert result["statusCode"] == 400
    named = [
        line.split(" = ")[0].removeprefix("event.")
        for line in result["error"].splitlines()
        if line.startswith("event.")
    ]
    assert named == [key]


def test_at_most_200_parameters_are_taken(stub: Stubber) -> None:
    parameters = {f"P{i:03d}": str(i) for i in range(200)}
    listed = [{"Name": k, "Value": v} for k, v in sorted(parameters.items())]
    not_found(stub)
    expected = request()
    expected["Target"]["SageMakerPipelineParameters"]["PipelineParameterList"] = listed
    stub.add_response("create_schedule", {"ScheduleArn": SCHEDULE_ARN}, expected)

    ok(handler.lambda_handler(event(parameters=parameters), None), "created")


def test_event_that_is_not_an_object_is_400() -> None:
    assert handler.lambda_handler(["schedule_name"], None) == {
        "statusCode": 400,
        "schedule_name": "",
        "schedule_arn": "",
        "action": "",
        "error": "the event must be a JSON object of settings, got list",
    }


def test_handler_imports_only_the_lambda_runtime() -> None:
    import ast
    import sys

    shipped = (SCRIPT, SCRIPT.parents[3] / "jobkit/envelope.py")  # the zip's two modules
    imported = {
        ((node.module or "") if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for path in shipped
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert imported - set(sys.stdlib_module_names) == {"boto3", "botocore", "jobkit"}

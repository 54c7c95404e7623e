"""Lambda handler: create or update the EventBridge Scheduler schedule that starts a pipeline.

With `monitoring.backend: builtin` each monitoring schedule is an EventBridge Scheduler schedule
whose target is StartPipelineExecution of the compiled monitoring pipeline. A Lambda step of the
main pipeline, after the deploy step, calls `lambda_handler` with the schedule it wants:
GetSchedule; absent, CreateSchedule; present with other settings, UpdateSchedule with the whole
definition (UpdateSchedule replaces every field); present and the same, nothing. So re-running
the pipeline is safe, and a schedule created at the same moment by another run (ConflictException
on create) is compared and updated like one found by GetSchedule.

The request has the shape publishing sends for the main pipeline's schedule (bundle/publish.py):
FlexibleTimeWindow OFF, State ENABLED, Target {Arn, RoleArn, SageMakerPipelineParameters:
{PipelineParameterList}} with the parameters sorted by name, and the time zone (default UTC).
The calls go to the pipeline ARN's region.

Failures come back as results (jobkit/envelope.py, in its zip), so the pipeline decides.
"""

from __future__ import annotations

import datetime
import re
import zoneinfo
from typing import Any

from botocore.exceptions import ClientError

from jobkit import envelope

log = envelope.logger(__name__)

# EventBridge Scheduler's and StartPipelineExecution's limits (botocore's service models).
NAME_RE = re.compile(r"^[0-9a-zA-Z\-_.]{1,64}$")
PIPELINE_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"pipeline/[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$"
)
ROLE_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
ROLE_MAX = 1600
TIMEZONE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-/]{0,49}$")
DESCRIPTION_MAX = 512
PARAMETER_NAME_RE = re.compile(r"^[A-Za-z0-9\-_]{1,256}$")
PARAMETER_VALUE_MAX = 1024  # and at least 1 character (Scheduler's SageMakerPipelineParameter)
PARAMETERS_MAX = 200
EXPRESSION_MAX = 256

RATE_RE = re.compile(r"^rate\((?P<value>\d+) (?P<unit>minute|minutes|hour|hours|day|days)\)$")
AT_RE = re.compile(r"^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$")
CRON_RE = re.compile(r"^cron\((?P<fields>[^()]*)\)$")
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# name, lowest, highest, names of the values from lowest on
CRON_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minutes", 0, 59, ()),
    ("hours", 0, 23, ()),
    ("day-of-month", 1, 31, ()),
    ("month", 1, 12, MONTHS),
    ("day-of-week", 1, 7, DAYS),
    ("year", 1970, 2199, ()),
)
EXPRESSION_FORMS = (
    "cron(minutes hours day-of-month month day-of-week year) with '?' in day-of-month or "
    "day-of-week, e.g. cron(0 * * * ? *) every hour; rate(N minutes|hours|days), e.g. "
    "rate(1 hour) or rate(6 hours); at(yyyy-mm-ddThh:mm:ss) once"
)

REQUIRED = ("schedule_name", "schedule_expression", "pipeline_arn", "scheduler_role_arn")
OPTIONAL = ("timezone", "parameters", "group_name", "description")
KEYS = REQUIRED + OPTIONAL


_client = envelope.client  # tests replace it to inject a Stubber


# --------------------------------------------------------------------------- event


def _cron_value(text: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    if text.isdigit():
        return low <= int(text) <= high
    return text.upper() in names


def _cron_field(text: str, index: int) -> bool:
    """Whether one field of a cron expression is valid where it stands (EventBridge's rules)."""
    _, low, high, names = CRON_FIELDS[index]
    if text == "?":
        return index in (2, 4)
    if index == 2 and re.fullmatch(r"L|LW|([1-9]|[12]\d|3[01])W", text):
        return True
    special = re.fullmatch(r"L|(?P<day>[1-7]|[A-Za-z]{3})(L|#[1-5])", text)
    if index == 4 and special:  # L (Saturday), 5L (the last Thursday), 2#1 (the first Monday)
        return special["day"] is None or _cron_value(special["day"], low, high, names)
    for item in text.split(","):
        span, slash, step = item.partition("/")
        if slash and not (step.isdigit() and int(step) >= 1):
            return False
        if span == "*":
            continue
        start, dash, end = span.partition("-")
        if not _cron_value(start, low, high, names) or (
            dash and not _cron_value(end, low, high, names)
        ):
            return False
    return True


def expression_problem(expression: str) -> str | None:
    """Why EventBridge Scheduler would refuse the schedule expression, or None."""
    if len(expression) > EXPRESSION_MAX:
        return f"longer than {EXPRESSION_MAX} characters"
    rate = RATE_RE.match(expression)
    if rate:
        value, unit = int(rate["value"]), rate["unit"]
        if value < 1:
            return "a rate is a whole number of 1 or more"
        if (value == 1) != (not unit.endswith("s")):
            return "a rate of 1 takes the singular unit (minute, hour, day), above 1 the plural"
        return None
    at = AT_RE.match(expression)
    if at:
        year, month, day, hour, minute, second = (int(part) for part in at.groups())
        try:
            datetime.datetime(year, month, day, hour, minute, second)
        except ValueError:
            return "not a real date and time"
        return None
    cron = CRON_RE.match(expression)
    if not cron:
        return "not a cron(...), rate(...) or at(...) expression"
    fields = cron["fields"].split()
    if len(fields) != len(CRON_FIELDS):
        return f"a cron expression has 6 fields, this one {len(fields)}"
    bad = [CRON_FIELDS[i][0] for i, field in enumerate(fields) if not _cron_field(field, i)]
    if bad:
        return "invalid " + ", ".join(bad) + " field" + ("s" if len(bad) > 1 else "")
    if (fields[2] == "?") == (fields[4] == "?"):
        return "exactly one of day-of-month and day-of-week must be '?'"
    return None


def _timezone(name: str) -> bool:
    if not TIMEZONE_RE.match(name):
        return False
    known = zoneinfo.available_timezones()
    return not known or name in known  # without a tz database, the pattern alone


def parameter_value(value: Any) -> str | None:
    """A value as StartPipelineExecution takes it (booleans as true/false), or None."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    return None


def _parameters(event: dict[str, Any], problems: list[str]) -> list[dict[str, str]]:
    """The PipelineParameterList, sorted by name, as publishing sends it."""
    given = event.get("parameters", {})
    if given is None:
        return []
    if not isinstance(given, dict):
        problems.append(
            envelope.problem(
                "parameters",
                given,
                "an object of pipeline parameter names and values",
                "pass e.g. {'EndpointName': 'penguins-endpoint'}",
            )
        )
        return []
    if len(given) > PARAMETERS_MAX:
        problems.append(
            envelope.problem(
                "parameters",
                f"{len(given)} parameters",
                f"StartPipelineExecution takes at most {PARAMETERS_MAX}",
                "pass only the parameters the monitoring pipeline declares",
            )
        )
    listed = []
    for name in sorted(given, key=str):
        text = parameter_value(given[name])
        if not isinstance(name, str) or not PARAMETER_NAME_RE.match(name):
            problems.append(
                envelope.problem(
                    f"parameters.{name}",
                    given[name],
                    "a pipeline parameter name is 1-256 letters, digits, '-' and '_'",
                    "use the parameter's name as the monitoring pipeline declares it",
                )
            )
        elif text is None or not 1 <= len(text) <= PARAMETER_VALUE_MAX:
            problems.append(
                envelope.problem(
                    f"parameters.{name}",
                    given[name],
                    f"a parameter value is text, a number or a boolean of 1-{PARAMETER_VALUE_MAX} "
                    "characters (EventBridge Scheduler refuses an empty one)",
                    "pass the value as text, or leave the parameter out for its default",
                )
            )
        else:
            listed.append({"Name": name, "Value": text})
    return listed


def parse_event(event: Any) -> dict[str, Any]:
    """The CreateSchedule / UpdateSchedule request the event asks for.

    Raises:
        Failure: 400 naming every bad key with why and fix.
    """
    problems = envelope.unknown_keys(envelope.check_object(event), KEYS)
    name = envelope.text(
        event,
        "schedule_name",
        NAME_RE.match,
        "a schedule name is 1-64 letters, digits, '-', '_' and '.'",
        "pass e.g. 'penguins-data-quality'",
        problems,
    )
    expression = event.get("schedule_expression")
    if expression is None:
        why: str | None = "required"
    else:
        why = expression_problem(expression) if isinstance(expression, str) else "not text"
    if why:
        shown = envelope.MISSING if expression is None else expression
        problems.append(
            envelope.problem("schedule_expression", shown, why, f"use {EXPRESSION_FORMS}")
        )
    pipeline_arn = envelope.text(
        event,
        "pipeline_arn",
        PIPELINE_ARN_RE.match,
        "not a SageMaker pipeline ARN",
        "pass arn:aws:sagemaker:<region>:<account>:pipeline/<name>",
        problems,
    )
    role = envelope.text(
        event,
        "scheduler_role_arn",
        lambda v: len(v) <= ROLE_MAX and ROLE_RE.match(v),
        "not an IAM role ARN",
        "pass the role EventBridge Scheduler assumes to start the pipeline, "
        "arn:aws:iam::<account>:role/<name>",
        problems,
    )
    timezone = envelope.text(
        event,
        "timezone",
        _timezone,
        "not a time zone EventBridge Scheduler knows (an IANA name)",
        "pass e.g. 'UTC' or 'Europe/Paris', or leave it out for UTC",
        problems,
        default="UTC",
    )
    group = envelope.text(
        event,
        "group_name",
        NAME_RE.match,
        "a schedule group name is 1-64 letters, digits, '-', '_' and '.'",
        "pass an existing schedule group, or leave it out for 'default'",
        problems,
        default="",
    )
    description = envelope.text(
        event,
        "description",
        lambda v: len(v) <= DESCRIPTION_MAX,
        f"a description is text of at most {DESCRIPTION_MAX} characters",
        "shorten it, or leave it out",
        problems,
        default="",
    )
    parameters = _parameters(event, problems)
    if problems:
        raise envelope.Failure(400, "invalid event:\n" + "\n".join(problems))
    request: dict[str, Any] = {
        "Name": name,
        "ScheduleExpression": expression,
        "ScheduleExpressionTimezone": timezone,
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": "ENABLED",
        "Target": {
            "Arn": pipeline_arn,
            "RoleArn": role,
            "SageMakerPipelineParameters": {"PipelineParameterList": parameters},
        },
    }
    if group:
        request["GroupName"] = group
    if description:
        request["Description"] = description
    return request


# --------------------------------------------------------------------------- AWS


def schedule_fields(schedule: dict[str, Any]) -> dict[str, Any]:
    """What this handler sets of a schedule, from a request or a GetSchedule answer."""
    target = schedule.get("Target", {})
    parameters = target.get("SageMakerPipelineParameters", {}).get("PipelineParameterList", [])
    return {
        "expression": schedule.get("ScheduleExpression"),
        "timezone": schedule.get("ScheduleExpressionTimezone") or "UTC",
        "state": schedule.get("State"),
        "window": schedule.get("FlexibleTimeWindow"),
        "description": schedule.get("Description") or "",
        "target": target.get("Arn"),
        "role": target.get("RoleArn"),
        "parameters": sorted(parameters, key=lambda p: str(p["Name"])),
    }


def _current(scheduler: Any, request: dict[str, Any]) -> dict[str, Any] | None:
    """GetSchedule's answer, or None when there is no such schedule."""
    keys = {key: request[key] for key in ("Name", "GroupName") if key in request}
    try:
        answer: dict[str, Any] = scheduler.get_schedule(**keys)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise
    return answer


def _update_if_changed(
    scheduler: Any, request: dict[str, Any], current: dict[str, Any]
) -> tuple[str, str]:
    """(action, schedule ARN) after updating the schedule when its settings differ."""
    if schedule_fields(current) == schedule_fields(request):
        return "unchanged", str(current.get("Arn", ""))
    answer = scheduler.update_schedule(**request)
    return "updated", str(answer["ScheduleArn"])


def apply_schedule(scheduler: Any, request: dict[str, Any]) -> dict[str, Any]:
    """Create, update or keep the schedule; the handler's result."""
    name = request["Name"]
    current = _current(scheduler, request)
    if current is not None:
        action, arn = _update_if_changed(scheduler, request, current)
    else:
        try:
            arn = str(scheduler.create_schedule(**request)["ScheduleArn"])
            action = "created"
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConflictException":
                raise
            # Created meanwhile (another run of the pipeline): treat it as found.
            current = _current(scheduler, request)
            if current is None:
                raise
            action, arn = _update_if_changed(scheduler, request, current)
    log.info("schedule %s %s (%s)", name, action, request["ScheduleExpression"])
    return {"statusCode": 200, "schedule_name": name, "schedule_arn": arn, "action": action}


def _aws_failure(error: ClientError, request: dict[str, Any]) -> envelope.Failure:
    info = error.response.get("Error", {})
    code = str(info.get("Code", "Unknown"))
    message = info.get("Message", str(error))
    operation = getattr(error, "operation_name", "the AWS call")
    arn = PIPELINE_ARN_RE.match(request["Target"]["Arn"])
    region, account = (arn["region"], arn["account"]) if arn else ("<region>", "<account>")
    group = request.get("GroupName", "default")
    if "AccessDenied" in code or code in ("UnauthorizedOperation", "UnrecognizedClientException"):
        status = 403
        fix = (
            f"allow scheduler:{operation} on arn:aws:scheduler:{region}:{account}:schedule/"
            f"{group}/{request['Name']} in the Lambda function's execution role"
        )
        if operation in ("CreateSchedule", "UpdateSchedule"):
            fix += f", and iam:PassRole on {request['Target']['RoleArn']}"
    else:
        throttled = (429, "re-run the step; EventBridge Scheduler throttled the request")
        status, fix = {
            "ThrottlingException": throttled,
            "Throttling": throttled,
            "TooManyRequestsException": throttled,
            "ConflictException": (
                409,
                "another run is changing the schedule at the same time; re-run the step",
            ),
            "ResourceNotFoundException": (
                404,
                f"create the schedule group {group!r} (aws scheduler create-schedule-group "
                f"--name {group}), or leave group_name out",
            ),
            "ServiceQuotaExceededException": (
                400,
                "delete unused schedules or raise the EventBridge Scheduler quota",
            ),
            "ValidationException": (
                400,
                "correct the value AWS's message names; scheduler_role_arn must be a role "
                "scheduler.amazonaws.com can assume, with sagemaker:StartPipelineExecution on "
                "the pipeline",
            ),
        }.get(code, (500, "re-run the step; if it persists, see the AWS message"))
    return envelope.Failure(
        status,
        f"{operation} failed: {code}: {message}\n"
        f"  why: EventBridge Scheduler refused the request for schedule {request['Name']!r}\n"
        f"  fix: {fix}",
    )


def _handle(event: Any, context: Any) -> dict[str, Any]:
    """Create or update the schedule the event describes; never raises."""
    name = event.get("schedule_name") if isinstance(event, dict) else None
    request: dict[str, Any] = {}

    def apply() -> dict[str, Any]:
        request.update(parse_event(event))
        arn = PIPELINE_ARN_RE.match(request["Target"]["Arn"])
        assert arn is not None  # parse_event checked it
        return apply_schedule(_client("scheduler", arn["region"]), request)

    return envelope.respond(
        apply,
        log=log,
        service="EventBridge Scheduler",
        refused=lambda error: _aws_failure(error, request),
        failed={"schedule_name": name if isinstance(name, str) and NAME_RE.match(name) else ""},
    )


PIPELINE_OUTPUTS = {"schedule_name": "", "schedule_arn": "", "action": "", "error": ""}
lambda_handler = envelope.entry_point(PIPELINE_OUTPUTS, _handle)

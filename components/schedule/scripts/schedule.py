"""Lambda handler: create or update a data-quality or model-quality monitoring schedule.

A pipeline Lambda step calls `lambda_handler` after the deploy step. It creates the monitoring
job definition (CreateDataQualityJobDefinition or CreateModelQualityJobDefinition) and then the
monitoring schedule that runs it, or points the existing schedule at the new definition, so
re-running the pipeline works.

The job definition is named `<schedule>-dq-<hash>` / `<schedule>-mq-<hash>`, the hash taken over
the whole create request: the same settings give the same name (a re-run reuses it), changed
settings a new one. Replaced definitions are kept (SageMaker refuses to delete one while a
schedule uses it); delete old ones by hand if they pile up. No clock, no randomness.

Runs on the AWS Lambda Python 3.12 runtime: standard library and boto3 only. It never raises:
every failure is a result `{"statusCode": 4xx|5xx, "error": "<what, why, fix>"}`.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import re
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

log = logging.getLogger(__name__)
log.setLevel(logging.INFO)

NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
NAME_MAX = 63
HASH_CHARS = 12
ROLE_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
INSTANCE_RE = re.compile(r"^ml\.[a-z0-9-]+\.[a-z0-9]+$")
S3_RE = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/\S*)?$")
# A registry/repository, then an optional tag or digest (none: latest, as the SDK writes it).
IMAGE_RE = re.compile(r"^[\w.-]+(:\d+)?/[\w./-]+(:[\w.-]+|@sha256:[0-9a-f]{64})?$")
ATTRIBUTE_RE = re.compile(r"^\S.{0,255}$")
FEATURE_RE = re.compile(r"^[^,\s]+$")

# The schedule expressions SageMaker Model Monitor accepts (and the SDK's shorthands for them).
SHORTHANDS = {"hourly": "cron(0 * ? * * *)", "daily": "cron(0 0 ? * * *)"}
CRON_RE = re.compile(
    r"^cron\(0 (?:(?P<every>\*)|(?P<hour>\d{1,2})|(?P<start>\*|\d{1,2})/(?P<step>\d{1,2}))"
    r" \? \* \* \*\)$"
)
CRON_FORMS = (
    "'hourly' (= cron(0 * ? * * *)); 'daily' (= cron(0 0 ? * * *)); "
    "cron(0 * ? * * *) every hour; cron(0 H ? * * *) daily at hour H (0-23, UTC); "
    "cron(0 H/N ? * * *) or cron(0 */N ? * * *) every N hours (N 1-24) from hour H"
)

TYPES = {"data_quality": "DataQuality", "model_quality": "ModelQuality"}
PROBLEM_TYPES = ("MulticlassClassification", "BinaryClassification", "Regression")
INPUT_PATH = "/opt/ml/processing/input/endpoint"
OUTPUT_PATH = "/opt/ml/processing/output"
# Read by components/schedule/scripts/record_preprocessor.py inside the analyzer container.
NUMERIC_ENV = "MONITOR_NUMERIC_FEATURES"
CATEGORICAL_ENV = "MONITOR_CATEGORICAL_FEATURES"
PIXELS_ENV = "MONITOR_PIXEL_FEATURES"  # "true": image requests' pixels become p0..pN
ENV_VALUE_MAX = 256  # a monitoring job's environment value; longer lists go in numbered parts

COMMON_REQUIRED = (
    "monitor_type",
    "endpoint_name",
    "schedule_name",
    "role_arn",
    "cron",
    "instance_type",
    "baseline_constraints_uri",
    "output_uri",
    "image_uri",
)
COMMON_OPTIONAL = (
    "instance_count",
    "max_runtime_seconds",
    "volume_size_gb",
    "record_preprocessor_uri",
    "numeric_features",
    "categorical_features",
    "pixel_features",
)
DATA_QUALITY_KEYS = ("baseline_statistics_uri",)
MODEL_QUALITY_KEYS = (
    "ground_truth_uri",
    "problem_type",
    "inference_attribute",
    "probability_attribute",
    "ground_truth_attribute",
    "positive_label",
)
KEYS = COMMON_REQUIRED + COMMON_OPTIONAL + DATA_QUALITY_KEYS + MODEL_QUALITY_KEYS


class Failure(Exception):
    """A failure the handler reports as `{"statusCode": status, "error": message}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _client(name: str) -> Any:
    """The boto3 client for `name`; tests replace this function to inject a Stubber."""
    return boto3.client(name)


# --------------------------------------------------------------------------- event

_MISSING = object()


def _problem(key: str, value: Any, why: str, fix: str) -> str:
    shown = "missing" if value is _MISSING else repr(value)
    return f"event.{key} = {shown}\n  why: {why}\n  fix: {fix}"


def _text(
    event: dict[str, Any],
    key: str,
    pattern: re.Pattern[str],
    why: str,
    fix: str,
    problems: list[str],
    required: bool = True,
) -> str | None:
    value = event.get(key, _MISSING)
    if value is _MISSING or value is None or value == "":
        if required:
            problems.append(_problem(key, _MISSING, "required", fix))
        return None
    if not isinstance(value, str) or not pattern.match(value):
        problems.append(_problem(key, value, why, fix))
        return None
    return value


def _integer(
    event: dict[str, Any], key: str, low: int, high: int, default: int, problems: list[str]
) -> int:
    """An int, or a string of digits (pipeline parameters may arrive as text), within bounds."""
    value = event.get(key, _MISSING)
    if value is _MISSING or value is None:
        return default
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None or not low <= number <= high:
        problems.append(
            _problem(
                key,
                value,
                f"must be a whole number from {low} to {high}",
                f"pass e.g. {default}, or leave it out for {default}",
            )
        )
        return default
    return number


def _names(event: dict[str, Any], key: str, problems: list[str]) -> list[str] | None:
    """A list of feature names, given as a JSON list or a comma-separated string."""
    value = event.get(key)
    if value is None or value == "" or value == []:
        return None
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, list) or not all(
        isinstance(n, str) and FEATURE_RE.match(n.strip()) for n in names
    ):
        problems.append(
            _problem(
                key,
                value,
                "not a list of feature names",
                "pass e.g. ['length_mm', 'mass_g'] or 'length_mm,mass_g'",
            )
        )
        return None
    return [n.strip() for n in names]


def _cron(event: dict[str, Any], problems: list[str]) -> str | None:
    """The schedule expression for `cron`, with the SDK's shorthands expanded."""
    value = event.get("cron", _MISSING)
    fix = f"use one of the accepted forms: {CRON_FORMS}"
    if value is _MISSING or value is None or value == "":
        problems.append(_problem("cron", _MISSING, "required", fix))
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in SHORTHANDS:
            return SHORTHANDS[text.lower()]
        match = CRON_RE.match(text)
        if match:
            hours = [match["hour"], None if match["start"] == "*" else match["start"]]
            step = match["step"]
            if all(h is None or int(h) <= 23 for h in hours) and (
                step is None or 1 <= int(step) <= 24
            ):
                return text
    problems.append(
        _problem("cron", value, "not a schedule expression SageMaker Model Monitor accepts", fix)
    )
    return None


def _unknown_keys(event: dict[str, Any]) -> list[str]:
    problems = []
    for key in sorted(set(event) - set(KEYS), key=str):
        close = difflib.get_close_matches(str(key), KEYS, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(KEYS)}"
        problems.append(_problem(str(key), event[key], "not a key this handler reads", hint))
    return problems


def parse_event(event: Any) -> dict[str, Any]:
    """Check the event and return the settings; every problem is collected into one 400.

    Keys of the other monitor type (e.g. `ground_truth_uri` for data_quality) are ignored, so one
    event shape can serve both steps; unknown keys are refused (a typo would otherwise fall back
    to a default silently).

    Raises:
        Failure: 400 naming each bad key with why and fix.
    """
    if not isinstance(event, dict):
        raise Failure(
            400, f"the event must be a JSON object of settings, got {type(event).__name__}"
        )
    problems = _unknown_keys(event)
    s3_fix = "pass an s3:// URI, e.g. 's3://my-bucket/penguins/monitoring/...'"
    kind = event.get("monitor_type", _MISSING)
    if kind not in TYPES:
        problems.append(
            _problem(
                "monitor_type",
                kind,
                "required, one of: " + ", ".join(TYPES),
                "pass 'data_quality' (feature drift) or 'model_quality' (accuracy against "
                "ground truth)",
            )
        )
    settings: dict[str, Any] = {"monitor_type": kind}
    for key, example in (
        ("endpoint_name", "penguins-endpoint"),
        ("schedule_name", "penguins-data-quality"),
    ):
        settings[key] = _text(
            event,
            key,
            NAME_RE,
            "SageMaker names are 1-63 letters, digits and hyphens, starting and ending with a "
            "letter or digit",
            f"pass e.g. {example!r}",
            problems,
        )
    settings["role_arn"] = _text(
        event,
        "role_arn",
        ROLE_RE,
        "not an IAM role ARN",
        "pass the SageMaker execution role, arn:aws:iam::<account>:role/<name>",
        problems,
    )
    settings["schedule_expression"] = _cron(event, problems)
    settings["instance_type"] = _text(
        event,
        "instance_type",
        INSTANCE_RE,
        "not a SageMaker instance type",
        "pass e.g. 'ml.m5.xlarge'",
        problems,
    )
    settings["instance_count"] = _integer(event, "instance_count", 1, 100, 1, problems)
    settings["max_runtime_seconds"] = _integer(
        event, "max_runtime_seconds", 1, 3600, 3600, problems
    )
    settings["volume_size_gb"] = _integer(event, "volume_size_gb", 1, 16384, 20, problems)
    for key in ("baseline_constraints_uri", "output_uri"):
        settings[key] = _text(event, key, S3_RE, "not an s3:// URI", s3_fix, problems)
    settings["record_preprocessor_uri"] = _text(
        event,
        "record_preprocessor_uri",
        S3_RE,
        "not an s3:// URI",
        "pass the S3 URI of record_preprocessor.py, or leave it out",
        problems,
        required=False,
    )
    settings["image_uri"] = _text(
        event,
        "image_uri",
        IMAGE_RE,
        "not a container image URI",
        "pass the Model Monitor analyzer image of the region, e.g. "
        "'156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer:latest'",
        problems,
    )
    settings["numeric_features"] = _names(event, "numeric_features", problems)
    settings["categorical_features"] = _names(event, "categorical_features", problems)
    pixels = event.get("pixel_features", False)
    if not isinstance(pixels, bool):
        problems.append(
            _problem("pixel_features", pixels, "not true or false", "pass true for images")
        )
    settings["pixel_features"] = pixels is True
    if kind == "data_quality":
        settings["baseline_statistics_uri"] = _text(
            event, "baseline_statistics_uri", S3_RE, "not an s3:// URI", s3_fix, problems
        )
    elif kind == "model_quality":
        settings["ground_truth_uri"] = _text(
            event, "ground_truth_uri", S3_RE, "not an s3:// URI", s3_fix, problems
        )
        problem_type = event.get("problem_type", _MISSING)
        if problem_type not in PROBLEM_TYPES:
            problems.append(
                _problem(
                    "problem_type",
                    problem_type,
                    "required, one of: " + ", ".join(PROBLEM_TYPES),
                    "pass 'MulticlassClassification' for penguins and digits",
                )
            )
        settings["problem_type"] = problem_type
        for key, required in (
            ("inference_attribute", True),
            ("probability_attribute", False),
            ("ground_truth_attribute", False),
        ):
            settings[key] = _text(
                event,
                key,
                ATTRIBUTE_RE,
                "must be a non-empty attribute name or JSONPath (at most 256 characters)",
                "pass the attribute of the endpoint's response (or ground truth) that holds it, "
                "e.g. 'label'",
                problems,
                required=required,
            )
        settings["positive_label"] = _text(
            event,
            "positive_label",
            ATTRIBUTE_RE,
            "must be a non-empty label (at most 256 characters)",
            "pass the positive class's name, e.g. 'malignant', or leave it out",
            problems,
            required=False,
        )
    if problems:
        raise Failure(400, "invalid event:\n" + "\n".join(problems))
    return settings


# --------------------------------------------------------------------------- requests


def derive_name(prefix: str, kind: str, request: dict[str, Any]) -> str:
    """`<prefix>-<kind>-<hash>` within 63 characters; the hash covers the whole request."""
    digest = hashlib.sha256(
        json.dumps(request, sort_keys=True, separators=(",", ":")).encode("utf-8")
    ).hexdigest()[:HASH_CHARS]
    suffix = f"-{kind}-{digest}"
    return prefix[: NAME_MAX - len(suffix)].rstrip("-") + suffix


def feature_environment(variable: str, names: list[str] | None) -> dict[str, str]:
    """{variable: 'a,b'}, or {variable_0: ..., variable_1: ...} for a list too long for one."""
    if not names:
        return {}
    parts, current = [], ""
    for name in names:
        joined = f"{current},{name}" if current else name
        if len(joined) > ENV_VALUE_MAX:
            parts.append(current)
            joined = name
        current = joined
    parts.append(current)
    if len(parts) == 1:
        return {variable: parts[0]}
    return {f"{variable}_{i}": part for i, part in enumerate(parts)}


def build_job_definition(settings: dict[str, Any]) -> dict[str, Any]:
    """The CreateDataQualityJobDefinition / CreateModelQualityJobDefinition request."""
    kind = TYPES[settings["monitor_type"]]
    environment = {"publish_cloudwatch_metrics": "Enabled"}
    environment.update(feature_environment(NUMERIC_ENV, settings["numeric_features"]))
    environment.update(feature_environment(CATEGORICAL_ENV, settings["categorical_features"]))
    if settings["pixel_features"]:
        environment[PIXELS_ENV] = "true"
    app: dict[str, Any] = {"ImageUri": settings["image_uri"]}
    endpoint_input: dict[str, Any] = {
        "EndpointName": settings["endpoint_name"],
        "LocalPath": INPUT_PATH,
        "S3InputMode": "File",
        "S3DataDistributionType": "FullyReplicated",
    }
    job_input: dict[str, Any] = {"EndpointInput": endpoint_input}
    baseline: dict[str, Any] = {
        "ConstraintsResource": {"S3Uri": settings["baseline_constraints_uri"]}
    }
    if kind == "DataQuality":
        baseline["StatisticsResource"] = {"S3Uri": settings["baseline_statistics_uri"]}
    else:
        app["ProblemType"] = settings["problem_type"]
        endpoint_input["InferenceAttribute"] = settings["inference_attribute"]
        if settings["probability_attribute"]:
            endpoint_input["ProbabilityAttribute"] = settings["probability_attribute"]
        if settings["ground_truth_attribute"]:
            # The API has no field for it; the analyzer reads it from its environment, as in
            # the SDK's baselining jobs.
            environment["ground_truth_attribute"] = settings["ground_truth_attribute"]
        if settings["positive_label"]:
            # BinaryClassification over class names: the one that counts as positive (an
            # extension of the project's analyzer, passed the same way)
            environment["positive_label"] = settings["positive_label"]
        job_input["GroundTruthS3Input"] = {"S3Uri": settings["ground_truth_uri"]}
    if settings["record_preprocessor_uri"]:
        app["RecordPreprocessorSourceUri"] = settings["record_preprocessor_uri"]
    app["Environment"] = environment
    request = {
        f"{kind}BaselineConfig": baseline,
        f"{kind}AppSpecification": app,
        f"{kind}JobInput": job_input,
        f"{kind}JobOutputConfig": {
            "MonitoringOutputs": [
                {
                    "S3Output": {
                        "S3Uri": settings["output_uri"],
                        "LocalPath": OUTPUT_PATH,
                        "S3UploadMode": "EndOfJob",
                    }
                }
            ]
        },
        "JobResources": {
            "ClusterConfig": {
                "InstanceCount": settings["instance_count"],
                "InstanceType": settings["instance_type"],
                "VolumeSizeInGB": settings["volume_size_gb"],
            }
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": settings["max_runtime_seconds"]},
        "RoleArn": settings["role_arn"],
    }
    short = "dq" if kind == "DataQuality" else "mq"
    return {"JobDefinitionName": derive_name(settings["schedule_name"], short, request), **request}


def build_schedule_config(settings: dict[str, Any], job_definition_name: str) -> dict[str, Any]:
    """The MonitoringScheduleConfig of CreateMonitoringSchedule / UpdateMonitoringSchedule."""
    return {
        "ScheduleConfig": {"ScheduleExpression": settings["schedule_expression"]},
        "MonitoringJobDefinitionName": job_definition_name,
        "MonitoringType": TYPES[settings["monitor_type"]],
    }


# --------------------------------------------------------------------------- AWS


def _is_missing(error: ClientError) -> bool:
    """SageMaker reports a missing resource as ResourceNotFound or as a ValidationException."""
    info = error.response.get("Error", {})
    code, message = info.get("Code", ""), info.get("Message", "")
    if code in ("ResourceNotFound", "ResourceNotFoundException"):
        return True
    return code == "ValidationException" and bool(
        re.search(r"could not find|does not exist|not found", message, re.IGNORECASE)
    )


def _describe(call: Any, **kwargs: Any) -> dict[str, Any] | None:
    """The describe call's answer, or None when the resource does not exist."""
    try:
        answer: dict[str, Any] = call(**kwargs)
    except ClientError as error:
        if _is_missing(error):
            return None
        raise
    return answer


def schedule(sm: Any, settings: dict[str, Any]) -> dict[str, Any]:
    """Create (or reuse) the job definition, then create or update the schedule."""
    kind = TYPES[settings["monitor_type"]]
    snake = "data_quality" if kind == "DataQuality" else "model_quality"
    definition = build_job_definition(settings)
    definition_name = definition["JobDefinitionName"]
    # Same name = same request (the hash covers it), so an existing one is exactly what we want.
    describe_definition = getattr(sm, f"describe_{snake}_job_definition")
    if _describe(describe_definition, JobDefinitionName=definition_name) is None:
        getattr(sm, f"create_{snake}_job_definition")(**definition)
        log.info("created %s job definition %s", kind, definition_name)

    name = settings["schedule_name"]
    config = build_schedule_config(settings, definition_name)
    current = _describe(sm.describe_monitoring_schedule, MonitoringScheduleName=name)
    if current is None:
        sm.create_monitoring_schedule(MonitoringScheduleName=name, MonitoringScheduleConfig=config)
        action = "created"
    else:
        current_config = current.get("MonitoringScheduleConfig", {})
        current_type = current.get("MonitoringType") or current_config.get("MonitoringType")
        if current_type and current_type != kind:
            raise Failure(
                409,
                f"monitoring schedule {name!r} exists and monitors {current_type}, not {kind}\n"
                "  why: a schedule keeps its monitoring type; it cannot be updated to another\n"
                "  fix: give this step another schedule_name, or delete the old schedule "
                f"(aws sagemaker delete-monitoring-schedule --monitoring-schedule-name {name})",
            )
        status = current.get("MonitoringScheduleStatus", "")
        if status == "Pending":
            raise Failure(
                409,
                f"monitoring schedule {name!r} is Pending\n"
                "  why: SageMaker is still creating or updating it and refuses another update\n"
                "  fix: wait until it is Scheduled (aws sagemaker describe-monitoring-schedule "
                f"--monitoring-schedule-name {name}) and re-run the pipeline",
            )
        same = current_config.get("MonitoringJobDefinitionName") == definition_name and (
            current_config.get("ScheduleConfig", {}).get("ScheduleExpression")
            == settings["schedule_expression"]
        )
        if same:
            action = "unchanged"
        else:
            sm.update_monitoring_schedule(
                MonitoringScheduleName=name, MonitoringScheduleConfig=config
            )
            action = "updated"
    log.info("monitoring schedule %s %s with %s", name, action, definition_name)
    return {
        "statusCode": 200,
        "schedule_name": name,
        "action": action,
        "job_definition_name": definition_name,
        "schedule_expression": settings["schedule_expression"],
    }


def _aws_failure(error: ClientError) -> Failure:
    info = error.response.get("Error", {})
    code = info.get("Code", "Unknown")
    message = info.get("Message", str(error))
    operation = getattr(error, "operation_name", "the AWS call")
    if "AccessDenied" in code or code in ("UnauthorizedOperation", "UnrecognizedClientException"):
        fix = (
            f"allow sagemaker:{operation} (and iam:PassRole on role_arn) in the Lambda "
            "function's execution role; components/schedule/README.md lists every permission"
        )
    elif code in ("ThrottlingException", "Throttling", "TooManyRequestsException"):
        fix = "re-run the step; SageMaker throttled the request"
    elif code == "ResourceLimitExceeded":
        fix = "raise the SageMaker service quota (monitoring schedules, instances) or free one"
    else:
        fix = "correct the setting the AWS message names and re-run"
    return Failure(
        500,
        f"{operation} failed: {code}: {message}\n"
        f"  why: SageMaker refused the request\n  fix: {fix}",
    )


# A pipeline Lambda step fails when an output it declares is missing from the result, so every
# result carries each declared output ("" where it does not apply).
PIPELINE_OUTPUTS = {"schedule_name": "", "error": ""}


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda entry point: the result of _handle with every pipeline output present."""
    return {**PIPELINE_OUTPUTS, **_handle(event, context)}


def _handle(event: Any, context: Any) -> dict[str, Any]:
    """Create or update the monitoring schedule the event describes; never raises."""
    try:
        settings = parse_event(event)
        return schedule(_client("sagemaker"), settings)
    except Failure as failure:
        log.warning("schedule failed (%d): %s", failure.status, failure.message)
        return {"statusCode": failure.status, "error": failure.message}
    except ClientError as error:
        failure = _aws_failure(error)
        log.warning("schedule failed (%d): %s", failure.status, failure.message)
        return {"statusCode": failure.status, "error": failure.message}
    except BotoCoreError as error:
        log.warning("schedule failed: %s", error)
        return {
            "statusCode": 500,
            "error": f"AWS call failed: {type(error).__name__}: {error}\n"
            "  why: boto3 could not reach SageMaker or find credentials\n"
            "  fix: check the Lambda's region, network access and execution role",
        }
    except Exception as error:  # never hand a traceback to the pipeline
        log.exception("schedule failed unexpectedly")
        return {
            "statusCode": 500,
            "error": f"unexpected error: {type(error).__name__}: {error}\n"
            "  why: a bug or an answer the handler does not expect\n"
            "  fix: see the traceback in the function's CloudWatch log",
        }

"""Lambda handler: create or update a data-quality or model-quality monitoring schedule.

A pipeline Lambda step calls `lambda_handler` after the deploy step. It creates the monitoring
job definition (CreateDataQualityJobDefinition or CreateModelQualityJobDefinition) and then the
monitoring schedule that runs it, or points the existing schedule at the new definition, so
re-running the pipeline works.

The job definition is named `<schedule>-dq-<hash>` / `<schedule>-mq-<hash>`, the hash taken over
the whole create request: the same settings give the same name (a re-run reuses it), changed
settings a new one. Replaced definitions are kept (SageMaker refuses to delete one while a
schedule uses it); delete old ones by hand if they pile up. No clock, no randomness.

It reports failures as results (jobkit/envelope.py, beside it in its zip, as jobkit/capture.py).
"""

from __future__ import annotations

import re
from typing import Any

from jobkit import envelope
from jobkit.capture import feature_environment

log = envelope.logger(__name__)

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
    "probability_threshold_attribute",
    "ground_truth_attribute",
    "positive_label",
)
KEYS = COMMON_REQUIRED + COMMON_OPTIONAL + DATA_QUALITY_KEYS + MODEL_QUALITY_KEYS


_client = envelope.client  # tests replace it to inject a Stubber


# --------------------------------------------------------------------------- event


def _count(
    event: dict[str, Any], key: str, low: int, high: int, default: int, problems: list[str]
) -> int:
    """A whole number within bounds, `default` when left out."""
    fix = f"pass e.g. {default}, or leave it out for {default}"
    return envelope.integer(event, key, low, high, default, fix, problems)


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
            envelope.problem(
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
    value = event.get("cron", envelope.MISSING)
    fix = f"use one of the accepted forms: {CRON_FORMS}"
    if value is envelope.MISSING or value is None or value == "":
        problems.append(envelope.problem("cron", envelope.MISSING, "required", fix))
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
        envelope.problem(
            "cron", value, "not a schedule expression SageMaker Model Monitor accepts", fix
        )
    )
    return None


def parse_event(event: Any) -> dict[str, Any]:
    """Check the event and return the settings; every problem is collected into one 400.

    Keys of the other monitor type (e.g. `ground_truth_uri` for data_quality) are ignored, so one
    event shape can serve both steps; unknown keys are refused (a typo would otherwise fall back
    to a default silently).

    Raises:
        Failure: 400 naming each bad key with why and fix.
    """
    problems = envelope.unknown_keys(envelope.check_object(event), KEYS)
    s3_fix = "pass an s3:// URI, e.g. 's3://my-bucket/penguins/monitoring/...'"
    kind = envelope.one_of(
        event,
        "monitor_type",
        TYPES,
        "pass 'data_quality' (feature drift) or 'model_quality' (accuracy against ground truth)",
        problems,
    )
    settings: dict[str, Any] = {"monitor_type": kind}
    for key, example in (
        ("endpoint_name", "penguins-endpoint"),
        ("schedule_name", "penguins-data-quality"),
    ):
        settings[key] = envelope.sagemaker_name(event, key, example, problems)
    settings["role_arn"] = envelope.execution_role(event, problems)
    settings["schedule_expression"] = _cron(event, problems)
    settings["instance_type"] = envelope.instance_type(event, "ml.m5.xlarge", problems)
    settings["instance_count"] = _count(event, "instance_count", 1, 100, 1, problems)
    settings["max_runtime_seconds"] = _count(event, "max_runtime_seconds", 1, 3600, 3600, problems)
    settings["volume_size_gb"] = _count(event, "volume_size_gb", 1, 16384, 20, problems)
    for key in ("baseline_constraints_uri", "output_uri"):
        settings[key] = envelope.s3_uri(event, key, s3_fix, problems)
    settings["record_preprocessor_uri"] = envelope.s3_uri(
        event,
        "record_preprocessor_uri",
        "pass the S3 URI of the record preprocessor, or leave it out",
        problems,
        required=False,
    )
    settings["image_uri"] = envelope.text(
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
            envelope.problem("pixel_features", pixels, "not true or false", "pass true for images")
        )
    settings["pixel_features"] = pixels is True
    if kind == "data_quality":
        settings["baseline_statistics_uri"] = envelope.s3_uri(
            event, "baseline_statistics_uri", s3_fix, problems
        )
    elif kind == "model_quality":
        settings["ground_truth_uri"] = envelope.s3_uri(event, "ground_truth_uri", s3_fix, problems)
        settings["problem_type"] = envelope.one_of(
            event,
            "problem_type",
            PROBLEM_TYPES,
            "pass 'MulticlassClassification' for penguins and digits",
            problems,
        )
        for key, required in (
            ("inference_attribute", True),
            ("probability_attribute", False),
            ("ground_truth_attribute", False),
        ):
            settings[key] = envelope.text(
                event,
                key,
                ATTRIBUTE_RE,
                "must be a non-empty attribute name or JSONPath (at most 256 characters)",
                "pass the attribute of the endpoint's response (or ground truth) that holds it, "
                "e.g. 'label'",
                problems,
                required=required,
            )
        settings["probability_threshold_attribute"] = _threshold(event, problems)
        settings["positive_label"] = envelope.text(
            event,
            "positive_label",
            ATTRIBUTE_RE,
            "must be a non-empty label (at most 256 characters)",
            "pass the positive class's name, e.g. 'malignant', or leave it out",
            problems,
            required=False,
        )
    if problems:
        raise envelope.Failure(400, "invalid event:\n" + "\n".join(problems))
    return settings


def _threshold(event: dict[str, Any], problems: list[str]) -> float | None:
    """BinaryClassification's ProbabilityThresholdAttribute: a number in (0, 1), or absent."""
    value = event.get("probability_threshold_attribute")
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 1:
        return float(value)
    problems.append(
        envelope.problem(
            "probability_threshold_attribute",
            value,
            "must be a number strictly between 0 and 1",
            "pass the probability at or above which the positive class is predicted, e.g. 0.5",
        )
    )
    return None


# --------------------------------------------------------------------------- requests


def build_job_definition(settings: dict[str, Any]) -> dict[str, Any]:
    """The CreateDataQualityJobDefinition / CreateModelQualityJobDefinition request."""
    kind = TYPES[settings["monitor_type"]]
    # Read by the record preprocessor (jobkit/capture.py) inside the analyzer container.
    environment = {
        "publish_cloudwatch_metrics": "Enabled",
        **feature_environment(
            settings["numeric_features"] or (),
            settings["categorical_features"] or (),
            bool(settings["pixel_features"]),
        ),
    }
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
        if settings["probability_threshold_attribute"] is not None:
            # binary probabilities become the class with it; without it, they are read as labels
            endpoint_input["ProbabilityThresholdAttribute"] = settings[
                "probability_threshold_attribute"
            ]
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
    return {
        "JobDefinitionName": envelope.derive_name(settings["schedule_name"], short, request),
        **request,
    }


def build_schedule_config(settings: dict[str, Any], job_definition_name: str) -> dict[str, Any]:
    """The MonitoringScheduleConfig of CreateMonitoringSchedule / UpdateMonitoringSchedule."""
    return {
        "ScheduleConfig": {"ScheduleExpression": settings["schedule_expression"]},
        "MonitoringJobDefinitionName": job_definition_name,
        "MonitoringType": TYPES[settings["monitor_type"]],
    }


# --------------------------------------------------------------------------- AWS


def schedule(sm: Any, settings: dict[str, Any]) -> dict[str, Any]:
    """Create (or reuse) the job definition, then create or update the schedule."""
    kind = TYPES[settings["monitor_type"]]
    snake = "data_quality" if kind == "DataQuality" else "model_quality"
    definition = build_job_definition(settings)
    definition_name = definition["JobDefinitionName"]
    # Same name = same request (the hash covers it), so an existing one is exactly what we want.
    describe_definition = getattr(sm, f"describe_{snake}_job_definition")
    if envelope.describe(describe_definition, JobDefinitionName=definition_name) is None:
        getattr(sm, f"create_{snake}_job_definition")(**definition)
        log.info("created %s job definition %s", kind, definition_name)

    name = settings["schedule_name"]
    config = build_schedule_config(settings, definition_name)
    current = envelope.describe(sm.describe_monitoring_schedule, MonitoringScheduleName=name)
    if current is None:
        sm.create_monitoring_schedule(MonitoringScheduleName=name, MonitoringScheduleConfig=config)
        action = "created"
    else:
        current_config = current.get("MonitoringScheduleConfig", {})
        current_type = current.get("MonitoringType") or current_config.get("MonitoringType")
        if current_type and current_type != kind:
            raise envelope.Failure(
                409,
                f"monitoring schedule {name!r} exists and monitors {current_type}, not {kind}\n"
                "  why: a schedule keeps its monitoring type; it cannot be updated to another\n"
                "  fix: give this step another schedule_name, or delete the old schedule "
                f"(aws sagemaker delete-monitoring-schedule --monitoring-schedule-name {name})",
            )
        status = current.get("MonitoringScheduleStatus", "")
        if status == "Pending":
            raise envelope.Failure(
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


ABOUT = ("components/schedule/README.md", "(monitoring schedules, instances) or free one")
_handle = envelope.sagemaker_handler(parse_event, schedule, lambda name: _client(name), log, ABOUT)
lambda_handler = envelope.entry_point({"schedule_name": "", "error": ""}, _handle)

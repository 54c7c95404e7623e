"""The monitoring Lambda handler and the record preprocessor (`components/schedule/scripts/`).

moto 5.2 implements the job-definition calls but not Create/Describe/UpdateMonitoringSchedule, so
the handler runs against botocore's Stubber on a real client: every request is checked against
the SageMaker API model and the expected parameters are asserted exactly. The record preprocessor
is fed the captured requests Model Monitor would hand it and compared with the real baseline the
preprocess step writes.
"""

from __future__ import annotations

import base64
import datetime
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from jobkit import envelope
from tests.aws_env import isolate_from_aws
from tests.components.runner import REPO, load_module

SCRIPTS = REPO / "components" / "schedule" / "scripts"
REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker-execution"
IMAGE = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer:latest"
BASE = "s3://my-bucket/penguins/monitoring"
NOW = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
HOURLY = "cron(0 * ? * * *)"
ACCEPTED_FORMS = (
    "'hourly' (= cron(0 * ? * * *)); 'daily' (= cron(0 0 ? * * *)); "
    "cron(0 * ? * * *) every hour; cron(0 H ? * * *) daily at hour H (0-23, UTC); "
    "cron(0 H/N ? * * *) or cron(0 */N ? * * *) every N hours (N 1-24) from hour H"
)


schedule = load_module(SCRIPTS / "schedule.py", "schedule_under_test")
# The record preprocessor Model Monitor loads is the capture module, shipped as one file.
preprocessor = load_module(
    SCRIPTS.parents[2] / "jobkit/capture.py", "record_preprocessor_under_test"
)


def data_quality_event(**changes: Any) -> dict[str, Any]:
    """A valid data-quality event; `changes` overrides keys, a value of None removes the key."""
    event: dict[str, Any] = {
        "monitor_type": "data_quality",
        "endpoint_name": "penguins-endpoint",
        "schedule_name": "penguins-data-quality",
        "role_arn": ROLE,
        "cron": "hourly",
        "instance_type": "ml.m5.xlarge",
        "max_runtime_seconds": 1800,
        "baseline_statistics_uri": f"{BASE}/baseline/statistics.json",
        "baseline_constraints_uri": f"{BASE}/baseline/constraints.json",
        "output_uri": f"{BASE}/reports",
        "image_uri": IMAGE,
    }
    event.update(changes)
    return {key: value for key, value in event.items() if value is not None}


def model_quality_event(**changes: Any) -> dict[str, Any]:
    event = data_quality_event(
        monitor_type="model_quality",
        schedule_name="penguins-model-quality",
        baseline_statistics_uri=None,
        ground_truth_uri=f"{BASE}/ground-truth",
        problem_type="MulticlassClassification",
        inference_attribute="label",
    )
    event.update(changes)
    return {key: value for key, value in event.items() if value is not None}


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials and region; no profile or config file of this machine is read."""
    isolate_from_aws(monkeypatch, tmp_path, REGION)


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    """A real SageMaker client under a Stubber, injected into the handler."""
    client = boto3.client("sagemaker", region_name=REGION)
    monkeypatch.setattr(schedule, "_client", lambda name: client)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def arn(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{name}"


def missing(stubber: Stubber, operation: str, params: dict[str, Any]) -> None:
    stubber.add_client_error(
        operation,
        service_error_code="ResourceNotFound",
        service_message="not found",
        http_status_code=400,
        expected_params=params,
    )


def existing_schedule(
    name: str,
    definition: str,
    expression: str,
    kind: str = "DataQuality",
    status: str = "Scheduled",
) -> dict[str, Any]:
    return {
        "MonitoringScheduleArn": arn("monitoring-schedule", name),
        "MonitoringScheduleName": name,
        "MonitoringScheduleStatus": status,
        "MonitoringType": kind,
        "CreationTime": NOW,
        "LastModifiedTime": NOW,
        "MonitoringScheduleConfig": {
            "ScheduleConfig": {"ScheduleExpression": expression},
            "MonitoringJobDefinitionName": definition,
            "MonitoringType": kind,
        },
    }


# --------------------------------------------------------------------------- create


def test_data_quality_schedule_is_created(stub: Stubber) -> None:
    event = data_quality_event()
    request = {
        "DataQualityBaselineConfig": {
            "ConstraintsResource": {"S3Uri": f"{BASE}/baseline/constraints.json"},
            "StatisticsResource": {"S3Uri": f"{BASE}/baseline/statistics.json"},
        },
        "DataQualityAppSpecification": {
            "ImageUri": IMAGE,
            "Environment": {"publish_cloudwatch_metrics": "Enabled"},
        },
        "DataQualityJobInput": {
            "EndpointInput": {
                "EndpointName": "penguins-endpoint",
                "LocalPath": "/opt/ml/processing/input/endpoint",
                "S3InputMode": "File",
                "S3DataDistributionType": "FullyReplicated",
            }
        },
        "DataQualityJobOutputConfig": {
            "MonitoringOutputs": [
                {
                    "S3Output": {
                        "S3Uri": f"{BASE}/reports",
                        "LocalPath": "/opt/ml/processing/output",
                        "S3UploadMode": "EndOfJob",
                    }
                }
            ]
        },
        "JobResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": "ml.m5.xlarge",
                "VolumeSizeInGB": 20,
            }
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 1800},
        "RoleArn": ROLE,
    }
    name = envelope.derive_name("penguins-data-quality", "dq", request)
    missing(stub, "describe_data_quality_job_definition", {"JobDefinitionName": name})
    stub.add_response(
        "create_data_quality_job_definition",
        {"JobDefinitionArn": arn("data-quality-job-definition", name)},
        {"JobDefinitionName": name, **request},
    )
    missing(
        stub, "describe_monitoring_schedule", {"MonitoringScheduleName": "penguins-data-quality"}
    )
    stub.add_response(
        "create_monitoring_schedule",
        {"MonitoringScheduleArn": arn("monitoring-schedule", "penguins-data-quality")},
        {
            "MonitoringScheduleName": "penguins-data-quality",
            "MonitoringScheduleConfig": {
                "ScheduleConfig": {"ScheduleExpression": HOURLY},
                "MonitoringJobDefinitionName": name,
                "MonitoringType": "DataQuality",
            },
        },
    )

    result = schedule._handle(event, None)

    assert result == {
        "statusCode": 200,
        "schedule_name": "penguins-data-quality",
        "action": "created",
        "job_definition_name": name,
        "schedule_expression": HOURLY,
    }
    assert name.startswith("penguins-data-quality-dq-") and len(name) <= 63


def test_model_quality_schedule_is_created_with_preprocessor(stub: Stubber) -> None:
    event = model_quality_event(
        cron="cron(0 */6 ? * * *)",
        instance_count="2",
        probability_attribute="confidence",
        ground_truth_attribute="ground_truth",
        record_preprocessor_uri=f"{BASE}/code/record_preprocessor.py",
        numeric_features="culmen_length_mm,body_mass_g",
        categorical_features=["island"],
        baseline_statistics_uri=f"{BASE}/baseline/statistics.json",  # accepted, not used
    )
    request = {
        "ModelQualityBaselineConfig": {
            "ConstraintsResource": {"S3Uri": f"{BASE}/baseline/constraints.json"}
        },
        "ModelQualityAppSpecification": {
            "ImageUri": IMAGE,
            "ProblemType": "MulticlassClassification",
            "RecordPreprocessorSourceUri": f"{BASE}/code/record_preprocessor.py",
            "Environment": {
                "publish_cloudwatch_metrics": "Enabled",
                "MONITOR_NUMERIC_FEATURES": "culmen_length_mm,body_mass_g",
                "MONITOR_CATEGORICAL_FEATURES": "island",
                "ground_truth_attribute": "ground_truth",
            },
        },
        "ModelQualityJobInput": {
            "EndpointInput": {
                "EndpointName": "penguins-endpoint",
                "LocalPath": "/opt/ml/processing/input/endpoint",
                "S3InputMode": "File",
                "S3DataDistributionType": "FullyReplicated",
                "InferenceAttribute": "label",
                "ProbabilityAttribute": "confidence",
            },
            "GroundTruthS3Input": {"S3Uri": f"{BASE}/ground-truth"},
        },
        "ModelQualityJobOutputConfig": {
            "MonitoringOutputs": [
                {
                    "S3Output": {
                        "S3Uri": f"{BASE}/reports",
                        "LocalPath": "/opt/ml/processing/output",
                        "S3UploadMode": "EndOfJob",
                    }
                }
            ]
        },
        "JobResources": {
            "ClusterConfig": {
                "InstanceCount": 2,
                "InstanceType": "ml.m5.xlarge",
                "VolumeSizeInGB": 20,
            }
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 1800},
        "RoleArn": ROLE,
    }
    name = envelope.derive_name("penguins-model-quality", "mq", request)
    missing(stub, "describe_model_quality_job_definition", {"JobDefinitionName": name})
    stub.add_response(
        "create_model_quality_job_definition",
        {"JobDefinitionArn": arn("model-quality-job-definition", name)},
        {"JobDefinitionName": name, **request},
    )
    missing(
        stub, "describe_monitoring_schedule", {"MonitoringScheduleName": "penguins-model-quality"}
    )
    stub.add_response(
        "create_monitoring_schedule",
        {"MonitoringScheduleArn": arn("monitoring-schedule", "penguins-model-quality")},
        {
            "MonitoringScheduleName": "penguins-model-quality",
            "MonitoringScheduleConfig": {
                "ScheduleConfig": {"ScheduleExpression": "cron(0 */6 ? * * *)"},
                "MonitoringJobDefinitionName": name,
                "MonitoringType": "ModelQuality",
            },
        },
    )

    result = schedule._handle(event, None)

    assert result["statusCode"] == 200 and result["action"] == "created"
    assert result["job_definition_name"] == name


def test_binary_model_quality_schedule_passes_the_positive_label(stub: Stubber) -> None:
    event = model_quality_event(
        schedule_name="cancer-model-quality",
        problem_type="BinaryClassification",
        inference_attribute="0.label",
        probability_attribute="0.probability",
        probability_threshold_attribute=0.7,
        positive_label="malignant",
    )
    request = schedule.build_job_definition(schedule.parse_event(event))
    app, job_input = request["ModelQualityAppSpecification"], request["ModelQualityJobInput"]
    assert app["ProblemType"] == "BinaryClassification"
    assert app["Environment"]["positive_label"] == "malignant"
    # the threshold sits beside the probability, as the API pairs them (a Double)
    assert job_input["EndpointInput"]["ProbabilityAttribute"] == "0.probability"
    assert job_input["EndpointInput"]["ProbabilityThresholdAttribute"] == 0.7
    name = request["JobDefinitionName"]
    missing(stub, "describe_model_quality_job_definition", {"JobDefinitionName": name})
    stub.add_response(  # the Stubber validates the request against the API's model
        "create_model_quality_job_definition",
        {"JobDefinitionArn": arn("model-quality-job-definition", name)},
        request,
    )
    missing(
        stub, "describe_monitoring_schedule", {"MonitoringScheduleName": "cancer-model-quality"}
    )
    stub.add_response(
        "create_monitoring_schedule",
        {"MonitoringScheduleArn": arn("monitoring-schedule", "cancer-model-quality")},
        {
            "MonitoringScheduleName": "cancer-model-quality",
            "MonitoringScheduleConfig": {
                "ScheduleConfig": {"ScheduleExpression": HOURLY},
                "MonitoringJobDefinitionName": name,
                "MonitoringType": "ModelQuality",
            },
        },
    )

    assert schedule._handle(event, None)["statusCode"] == 200


# --------------------------------------------------------------------------- update


def definition_name(event: dict[str, Any]) -> str:
    return str(schedule.build_job_definition(schedule.parse_event(event))["JobDefinitionName"])


def existing_definition(name: str) -> dict[str, Any]:
    """DescribeDataQualityJobDefinition's answer (only the required members matter here)."""
    request = schedule.build_job_definition(schedule.parse_event(data_quality_event()))
    return {
        "JobDefinitionArn": arn("data-quality-job-definition", name),
        "JobDefinitionName": name,
        "CreationTime": NOW,
        **{key: value for key, value in request.items() if key != "JobDefinitionName"},
    }


def test_existing_schedule_is_updated_to_the_new_definition(stub: Stubber) -> None:
    event = data_quality_event(cron="daily")
    name = definition_name(event)
    missing(stub, "describe_data_quality_job_definition", {"JobDefinitionName": name})
    stub.add_response(
        "create_data_quality_job_definition",
        {"JobDefinitionArn": arn("data-quality-job-definition", name)},
        schedule.build_job_definition(schedule.parse_event(event)),
    )
    stub.add_response(
        "describe_monitoring_schedule",
        existing_schedule("penguins-data-quality", "penguins-data-quality-dq-old", HOURLY),
        {"MonitoringScheduleName": "penguins-data-quality"},
    )
    stub.add_response(
        "update_monitoring_schedule",
        {"MonitoringScheduleArn": arn("monitoring-schedule", "penguins-data-quality")},
        {
            "MonitoringScheduleName": "penguins-data-quality",
            "MonitoringScheduleConfig": {
                "ScheduleConfig": {"ScheduleExpression": "cron(0 0 ? * * *)"},
                "MonitoringJobDefinitionName": name,
                "MonitoringType": "DataQuality",
            },
        },
    )

    result = schedule._handle(event, None)

    assert result == {
        "statusCode": 200,
        "schedule_name": "penguins-data-quality",
        "action": "updated",
        "job_definition_name": name,
        "schedule_expression": "cron(0 0 ? * * *)",
    }


def test_rerun_with_the_same_settings_changes_nothing(stub: Stubber) -> None:
    event = data_quality_event()
    name = definition_name(event)
    stub.add_response(
        "describe_data_quality_job_definition",
        existing_definition(name),
        {"JobDefinitionName": name},
    )
    stub.add_response(
        "describe_monitoring_schedule",
        existing_schedule("penguins-data-quality", name, HOURLY),
        {"MonitoringScheduleName": "penguins-data-quality"},
    )

    result = schedule._handle(event, None)

    assert result["statusCode"] == 200
    assert result["action"] == "unchanged"
    assert result["job_definition_name"] == name


@pytest.mark.parametrize(
    ("current", "message"),
    [
        pytest.param(
            {"kind": "ModelQuality"},
            "monitoring schedule 'penguins-data-quality' exists and monitors ModelQuality, "
            "not DataQuality\n"
            "  why: a schedule keeps its monitoring type; it cannot be updated to another\n"
            "  fix: give this step another schedule_name, or delete the old schedule "
            "(aws sagemaker delete-monitoring-schedule --monitoring-schedule-name "
            "penguins-data-quality)",
            id="other-monitoring-type",
        ),
        pytest.param(
            {"status": "Pending"},
            "monitoring schedule 'penguins-data-quality' is Pending\n"
            "  why: SageMaker is still creating or updating it and refuses another update\n"
            "  fix: wait until it is Scheduled (aws sagemaker describe-monitoring-schedule "
            "--monitoring-schedule-name penguins-data-quality) and re-run the pipeline",
            id="pending",
        ),
    ],
)
def test_schedule_that_cannot_be_updated_is_409(
    stub: Stubber, current: dict[str, str], message: str
) -> None:
    event = data_quality_event()
    name = definition_name(event)
    stub.add_response(
        "describe_data_quality_job_definition",
        existing_definition(name),
        {"JobDefinitionName": name},
    )
    stub.add_response(
        "describe_monitoring_schedule",
        existing_schedule("penguins-data-quality", "other", HOURLY, **current),
        {"MonitoringScheduleName": "penguins-data-quality"},
    )

    assert schedule._handle(event, None) == {"statusCode": 409, "error": message}


@pytest.mark.parametrize(
    ("operation", "code", "message", "fix"),
    [
        pytest.param(
            "create_monitoring_schedule",
            "ResourceLimitExceeded",
            "The account-level service limit for monitoring schedules is 100",
            "raise the SageMaker service quota (monitoring schedules, instances) or free one",
            id="schedule-limit",
        ),
        pytest.param(
            "create_data_quality_job_definition",
            "AccessDeniedException",
            "User is not authorized to perform: iam:PassRole",
            "allow sagemaker:CreateDataQualityJobDefinition (and iam:PassRole on role_arn) in "
            "the Lambda function's execution role; components/schedule/README.md lists every "
            "permission",
            id="access-denied",
        ),
        pytest.param(
            "create_monitoring_schedule",
            "ValidationException",
            "Endpoint penguins-endpoint does not have data capture enabled",
            "correct the setting the AWS message names and re-run",
            id="capture-disabled",
        ),
    ],
)
def test_aws_error_is_500_with_code_and_message(
    stub: Stubber, operation: str, code: str, message: str, fix: str
) -> None:
    event = data_quality_event()
    name = definition_name(event)
    missing(stub, "describe_data_quality_job_definition", {"JobDefinitionName": name})
    error = {"service_error_code": code, "service_message": message, "http_status_code": 400}
    if operation == "create_data_quality_job_definition":
        stub.add_client_error(operation, **error)
    else:
        stub.add_response(
            "create_data_quality_job_definition",
            {"JobDefinitionArn": arn("data-quality-job-definition", name)},
        )
        missing(
            stub,
            "describe_monitoring_schedule",
            {"MonitoringScheduleName": "penguins-data-quality"},
        )
        stub.add_client_error(operation, **error)

    result = schedule._handle(event, None)

    operation_name = "".join(part.title() for part in operation.split("_"))
    assert result == {
        "statusCode": 500,
        "error": f"{operation_name} failed: {code}: {message}\n"
        f"  why: SageMaker refused the request\n  fix: {fix}",
    }


# --------------------------------------------------------------------------- names


def test_job_definition_names_are_deterministic_and_follow_the_settings() -> None:
    base = definition_name(data_quality_event())
    assert definition_name(data_quality_event()) == base
    assert definition_name(data_quality_event(instance_type="ml.m5.large")) != base
    assert definition_name(data_quality_event(output_uri=f"{BASE}/other")) != base
    assert (
        definition_name(data_quality_event(cron="daily")) == base
    )  # the schedule's, not the job's
    assert definition_name(model_quality_event(schedule_name="penguins-data-quality")) != base


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("s" * 63, id="63-characters"),
        pytest.param("a" * 47 + "-" + "b" * 10, id="hyphen-at-the-cut"),
    ],
)
def test_job_definition_names_fit_sagemaker_limits(name: str) -> None:
    result = definition_name(data_quality_event(schedule_name=name))
    assert len(result) <= 63
    assert envelope.SAGEMAKER_NAME_RE.match(result), result


# --------------------------------------------------------------------------- cron


@pytest.mark.parametrize(
    ("cron", "expression"),
    [
        pytest.param("hourly", "cron(0 * ? * * *)", id="hourly"),
        pytest.param("Daily", "cron(0 0 ? * * *)", id="daily-any-case"),
        pytest.param("cron(0 * ? * * *)", "cron(0 * ? * * *)", id="cron-hourly"),
        pytest.param("cron(0 0 ? * * *)", "cron(0 0 ? * * *)", id="cron-daily-midnight"),
        pytest.param("cron(0 17 ? * * *)", "cron(0 17 ? * * *)", id="cron-daily-at-17"),
        pytest.param("cron(0 */6 ? * * *)", "cron(0 */6 ? * * *)", id="cron-every-6-hours"),
        pytest.param("cron(0 2/12 ? * * *)", "cron(0 2/12 ? * * *)", id="cron-every-12-from-2"),
        pytest.param(" cron(0 * ? * * *) ", "cron(0 * ? * * *)", id="outer-whitespace"),
    ],
)
def test_accepted_schedule_expressions(cron: str, expression: str) -> None:
    settings = schedule.parse_event(data_quality_event(cron=cron))
    assert settings["schedule_expression"] == expression


@pytest.mark.parametrize(
    "cron",
    [
        pytest.param("weekly", id="weekly"),
        pytest.param("rate(1 hour)", id="rate-expression"),
        pytest.param("cron(30 * ? * * *)", id="not-on-the-hour"),
        pytest.param("cron(0 * * * * *)", id="day-of-week-not-question-mark"),
        pytest.param("cron(0 24 ? * * *)", id="hour-24"),
        pytest.param("cron(0 */0 ? * * *)", id="every-0-hours"),
        pytest.param("cron(0 */25 ? * * *)", id="every-25-hours"),
        pytest.param("0 * * * *", id="unix-cron"),
        pytest.param(3600, id="a-number"),
    ],
)
def test_invalid_cron_is_400_listing_the_accepted_forms(cron: Any) -> None:
    result = schedule._handle(data_quality_event(cron=cron), None)
    assert result == {
        "statusCode": 400,
        "error": f"invalid event:\nevent.cron = {cron!r}\n"
        "  why: not a schedule expression SageMaker Model Monitor accepts\n"
        f"  fix: use one of the accepted forms: {ACCEPTED_FORMS}",
    }


# --------------------------------------------------------------------------- bad events


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        pytest.param(
            data_quality_event(monitor_type="drift"),
            "event.monitor_type = 'drift'\n  why: required, one of: data_quality, model_quality",
            id="unknown-monitor-type",
        ),
        pytest.param(
            data_quality_event(monitor_type=None),
            "event.monitor_type = missing\n  why: required, one of: data_quality, model_quality",
            id="missing-monitor-type",
        ),
        pytest.param(
            data_quality_event(schedule_name=None),
            "event.schedule_name = missing\n  why: required",
            id="missing-schedule-name",
        ),
        pytest.param(
            data_quality_event(max_runtime_seconds=3601),
            "event.max_runtime_seconds = 3601\n  why: must be a whole number from 1 to 3600\n"
            "  fix: pass e.g. 3600, or leave it out for 3600",
            id="max-runtime-over-an-hour",
        ),
        pytest.param(
            data_quality_event(max_runtime_seconds="fast"),
            "event.max_runtime_seconds = 'fast'\n  why: must be a whole number from 1 to 3600",
            id="max-runtime-not-a-number",
        ),
        pytest.param(
            data_quality_event(instance_count=0),
            "event.instance_count = 0\n  why: must be a whole number from 1 to 100",
            id="instance-count-zero",
        ),
        pytest.param(
            data_quality_event(baseline_statistics_uri=None),
            "event.baseline_statistics_uri = missing\n  why: required",
            id="data-quality-without-statistics",
        ),
        pytest.param(
            data_quality_event(output_uri="/tmp/reports"),
            "event.output_uri = '/tmp/reports'\n  why: not an s3:// URI",
            id="output-not-s3",
        ),
        pytest.param(
            data_quality_event(image_uri="analyzer"),
            "event.image_uri = 'analyzer'\n  why: not a container image URI",
            id="image-not-an-image-uri",
        ),
        pytest.param(
            data_quality_event(numeric_features=["a", 3]),
            "event.numeric_features = ['a', 3]\n  why: not a list of feature names",
            id="features-not-names",
        ),
        pytest.param(
            model_quality_event(ground_truth_uri=None),
            "event.ground_truth_uri = missing\n  why: required",
            id="model-quality-without-ground-truth",
        ),
        pytest.param(
            model_quality_event(problem_type="Classification"),
            "event.problem_type = 'Classification'\n"
            "  why: required, one of: MulticlassClassification, BinaryClassification, "
            "Regression\n  fix: pass 'MulticlassClassification' for penguins and digits",
            id="unknown-problem-type",
        ),
        pytest.param(
            model_quality_event(inference_attribute=None),
            "event.inference_attribute = missing\n  why: required",
            id="model-quality-without-inference-attribute",
        ),
        pytest.param(
            model_quality_event(problem_type="BinaryClassification", positive_label=" "),
            "event.positive_label = ' '\n  why: must be a non-empty label (at most 256 "
            "characters)\n  fix: pass the positive class's name, e.g. 'malignant', or leave it out",
            id="blank-positive-label",
        ),
        *(
            pytest.param(
                model_quality_event(
                    problem_type="BinaryClassification", probability_threshold_attribute=value
                ),
                f"event.probability_threshold_attribute = {value!r}\n"
                "  why: must be a number strictly between 0 and 1\n"
                "  fix: pass the probability at or above which the positive class is predicted, "
                "e.g. 0.5",
                id=f"probability-threshold-{value!r}",
            )
            for value in (0, 1.0, "0.5", True)
        ),
        pytest.param(
            data_quality_event(schedule="hourly"),
            "event.schedule = 'hourly'\n  why: not a key this handler reads\n"
            "  fix: did you mean 'schedule_name'?",
            id="unknown-key",
        ),
    ],
)
def test_bad_event_is_400_naming_the_key(
    monkeypatch: pytest.MonkeyPatch, event: dict[str, Any], expected: str
) -> None:
    def no_aws(name: str) -> Any:
        raise AssertionError("a bad event must not reach AWS")

    monkeypatch.setattr(schedule, "_client", no_aws)
    result = schedule._handle(event, None)
    assert result["statusCode"] == 400
    assert result["error"].startswith("invalid event:\n")
    assert expected in result["error"]


# --------------------------------------------------------------------------- record preprocessor

FEATURES = ["culmen_length_mm", "culmen_depth_mm", "flipper_length_mm", "body_mass_g", "island"]


@pytest.fixture
def penguins_job(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment the penguins schedule gives its job (from conf/project/penguins.yaml)."""
    monkeypatch.setenv("MONITOR_NUMERIC_FEATURES", ",".join(FEATURES[:4]))
    monkeypatch.setenv("MONITOR_CATEGORICAL_FEATURES", "island")


def captured(
    body: str, content_type: str = "application/json", encoding: str = "JSON"
) -> SimpleNamespace:
    """An inference record as Model Monitor hands it to `preprocess_handler`."""
    return SimpleNamespace(
        endpoint_input=SimpleNamespace(
            data=body, encoding=encoding, observed_content_type=content_type, mode="INPUT"
        ),
        endpoint_output=SimpleNamespace(
            data='[{"prediction": 0, "label": "Adelie", "confidence": 0.97}]',
            encoding="JSON",
            observed_content_type="application/json",
            mode="OUTPUT",
        ),
        event_metadata=SimpleNamespace(event_id="1", inference_time="2025-01-01T00:00:00Z"),
        event_version="0",
    )


@pytest.fixture(scope="module")
def baseline_rows(penguins_processed: Path) -> list[dict[str, Any]]:
    """Raw records as preprocess writes them (the feature columns + ground_truth)."""
    path = penguins_processed / "baseline" / "test.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def as_request(row: dict[str, Any]) -> dict[str, Any]:
    """What a client sends for a baseline row: its features plus keys the baseline lacks."""
    request = {key: value for key, value in row.items() if key != "ground_truth"}
    return {**request, "species": row["ground_truth"], "sex": "MALE", "request_id": "abc"}


@pytest.mark.usefixtures("penguins_job")
def test_single_request_gives_one_record_with_the_baseline_keys(
    baseline_rows: list[dict[str, Any]],
) -> None:
    row = baseline_rows[0]
    record = preprocessor.preprocess_handler(captured(json.dumps(as_request(row))))
    expected = {key: value for key, value in row.items() if key != "ground_truth"}
    assert set(expected) == set(FEATURES)
    assert record == expected


@pytest.mark.parametrize(
    ("content_type", "encoding", "encode"),
    [
        pytest.param("application/json", "JSON", json.dumps, id="json-list"),
        pytest.param(
            "application/jsonlines",
            "JSON",
            lambda rows: "\n".join(json.dumps(r) for r in rows) + "\n",
            id="json-lines",
        ),
        pytest.param(
            "application/json; charset=utf-8",
            "BASE64",
            lambda rows: base64.b64encode(json.dumps(rows).encode()).decode(),
            id="json-list-base64",
        ),
    ],
)
@pytest.mark.usefixtures("penguins_job")
def test_batch_request_gives_a_list_of_baseline_records(
    baseline_rows: list[dict[str, Any]], content_type: str, encoding: str, encode: Any
) -> None:
    rows = baseline_rows[:5]
    body = encode([as_request(row) for row in rows])
    records = preprocessor.preprocess_handler(captured(body, content_type, encoding))
    assert records == [
        {key: value for key, value in row.items() if key != "ground_truth"} for row in rows
    ]


@pytest.mark.usefixtures("penguins_job")
def test_values_are_typed_like_the_baseline() -> None:
    body = json.dumps(
        [
            {"island": "Dream", "culmen_length_mm": "39.1", "flipper_length_mm": 181},
            {"island": "", "culmen_depth_mm": None, "body_mass_g": "heavy", "extra": [1]},
        ]
    )
    records = preprocessor.preprocess_handler(captured(body))
    assert records == [
        {
            "culmen_length_mm": 39.1,
            "culmen_depth_mm": None,
            "flipper_length_mm": 181.0,
            "body_mass_g": None,
            "island": "Dream",
        },
        {
            "culmen_length_mm": None,
            "culmen_depth_mm": None,
            "flipper_length_mm": None,
            "body_mass_g": None,
            "island": None,
        },
    ]
    assert isinstance(records[0]["flipper_length_mm"], float)


@pytest.mark.usefixtures("penguins_job")
def test_one_element_list_is_still_a_batch() -> None:
    records = preprocessor.preprocess_handler(captured('[{"island": "Biscoe"}]'))
    assert records == [dict.fromkeys(FEATURES) | {"island": "Biscoe"}]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("not json", id="not-json"),
        pytest.param('{"pixels": [0, 1, 2]}', id="image-sample"),
        pytest.param("[[0, 1, 2], [3, 4, 5]]", id="pixel-lists"),
        pytest.param("[]", id="empty-list"),
        pytest.param('"Torgersen"', id="a-string"),
    ],
)
@pytest.mark.usefixtures("penguins_job")
def test_request_without_feature_records_is_skipped(body: str) -> None:
    assert preprocessor.preprocess_handler(captured(body)) == []


def test_environment_names_other_features(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_NUMERIC_FEATURES", "bill,mass")
    monkeypatch.setenv("MONITOR_CATEGORICAL_FEATURES", "colour")
    body = json.dumps({"bill": 1, "mass": "2.5", "colour": "red", "island": "Dream"})
    assert preprocessor.preprocess_handler(captured(body)) == {
        "bill": 1.0,
        "mass": 2.5,
        "colour": "red",
    }


def test_a_job_that_names_no_features_fails_saying_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """No project's columns as a fallback: dropping every request silently was the defect."""
    for variable in ("MONITOR_NUMERIC_FEATURES", "MONITOR_CATEGORICAL_FEATURES"):
        monkeypatch.delenv(variable, raising=False)
    with pytest.raises(ValueError, match="the monitoring job names no features"):
        preprocessor.preprocess_handler(captured('{"island": "Dream"}'))


def test_long_feature_lists_travel_in_parts_and_come_back_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A monitoring job's environment values hold 256 characters; 30 long names need more."""
    names = [f"mean feature number {i}" for i in range(30)]
    env = preprocessor.feature_environment(names)  # as the schedule handler encodes them
    assert len(env) > 1 and all(len(v) <= preprocessor.ENV_VALUE_MAX for v in env.values())
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)
    assert preprocessor.feature_columns() == (tuple(names), ())


def test_image_requests_become_the_baselines_pixel_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_PIXEL_FEATURES", "true")
    body = json.dumps([{"pixels": [0, 16, 255]}, {"pixels": [[1, 2], [3, 4.0]]}, {"pixels": [0.5]}])
    records = preprocessor.preprocess_handler(captured(body))
    assert records == [
        {"p0": 0, "p1": 16, "p2": 255},
        {"p0": 1, "p1": 2, "p2": 3, "p3": 4},
        {"p0": 0.5},
    ]
    # Whole pixels stay Integral, as in the baseline (Model Monitor's data-type check).
    assert [type(v) for r in records for v in r.values()] == [int] * 7 + [float]


def test_entry_point_always_returns_the_pipeline_step_outputs() -> None:
    """The pipeline's Lambda step declares schedule_name, statusCode and error: all present."""
    failure = schedule.lambda_handler(data_quality_event(cron="every minute"), None)
    assert failure["statusCode"] == 400
    assert failure["schedule_name"] == ""
    assert "cron" in failure["error"]

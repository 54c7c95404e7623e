"""The deploy Lambda handler (`components/deploy/scripts/deploy.py`), in process, never real AWS.

moto plays SageMaker where it implements the calls (model packages and groups, CreateModel from a
package, endpoint configs with data capture, CreateEndpoint/DescribeEndpoint). moto 5.2 has no
UpdateEndpoint, so the update, busy-endpoint and AWS-error paths use botocore's Stubber on a real
client, which checks every request against the SageMaker API model; expected parameters are
asserted exactly.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import NoCredentialsError
from botocore.stub import Stubber
from moto import mock_aws

from jobkit import envelope
from tests.aws_env import isolate_from_aws
from tests.components.runner import REPO, load_module

SCRIPT = REPO / "components" / "deploy" / "scripts" / "deploy.py"
REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker-execution"
GROUP = "penguins"
CAPTURE = "s3://my-bucket/penguins/datacapture"
NOW = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)


deploy = load_module(SCRIPT, "deploy_under_test")


def package_arn(version: int, group: str = GROUP) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{group}/{version}"


def make_event(**changes: Any) -> dict[str, Any]:
    """A valid group-based event; `changes` overrides keys, a value of None removes the key."""
    event: dict[str, Any] = {
        "model_package_group": GROUP,
        "endpoint_name": "penguins-endpoint",
        "role_arn": ROLE,
        "instance_type": "ml.m5.large",
        "instance_count": 1,
        "data_capture_percentage": 100,
        "data_capture_destination": CAPTURE,
    }
    event.update(changes)
    return {key: value for key, value in event.items() if value is not None}


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials and region; no profile or config file of this machine is read."""
    isolate_from_aws(monkeypatch, tmp_path, REGION)


# --------------------------------------------------------------------------- moto


@pytest.fixture
def sm(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto SageMaker client, injected into the handler."""
    with mock_aws():
        client = boto3.client("sagemaker", region_name=REGION)
        monkeypatch.setattr(deploy, "_client", lambda name: client)
        yield client


def register(sm: Any, status: str, group: str = GROUP) -> str:
    """Register a model package version in `group` (created on first use); returns its ARN."""
    groups = sm.list_model_package_groups()["ModelPackageGroupSummaryList"]
    if group not in {g["ModelPackageGroupName"] for g in groups}:
        sm.create_model_package_group(ModelPackageGroupName=group)
    answer = sm.create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [
                {
                    "Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/inference:1",
                    "ModelDataUrl": "s3://my-bucket/model.tar.gz",
                }
            ],
            "SupportedContentTypes": ["application/json", "application/jsonlines"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )
    return str(answer["ModelPackageArn"])


def test_creates_model_config_and_endpoint_from_latest_approved(sm: Any) -> None:
    register(sm, "Approved")
    latest = register(sm, "Approved")
    register(sm, "PendingManualApproval")  # newer, but not Approved: never deployed

    result = deploy._handle(make_event(instance_count="2"), None)

    names = deploy.build_requests(deploy.parse_event(make_event(instance_count=2)), latest)
    model_name = names["model"]["ModelName"]
    config_name = names["config"]["EndpointConfigName"]
    assert result == {
        "statusCode": 200,
        "endpoint_name": "penguins-endpoint",
        "action": "created",
        "model_name": model_name,
        "endpoint_config_name": config_name,
        "model_package_arn": latest,
    }
    model = sm.describe_model(ModelName=model_name)
    assert model["PrimaryContainer"] == {"ModelPackageName": latest}
    assert model["ExecutionRoleArn"] == ROLE
    config = sm.describe_endpoint_config(EndpointConfigName=config_name)
    assert config["ProductionVariants"] == [
        {
            "VariantName": "AllTraffic",
            "ModelName": model_name,
            "InitialInstanceCount": 2,
            "InstanceType": "ml.m5.large",
            "InitialVariantWeight": 1.0,
        }
    ]
    assert config["DataCaptureConfig"] == {
        "EnableCapture": True,
        "InitialSamplingPercentage": 100,
        "DestinationS3Uri": CAPTURE,
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {
            "JsonContentTypes": ["application/json", "application/jsonlines"]
        },
    }
    assert (
        sm.describe_endpoint(EndpointName="penguins-endpoint")["EndpointConfigName"] == config_name
    )


def test_deploys_the_given_package_arn(sm: Any) -> None:
    first = register(sm, "Approved")
    register(sm, "Approved")

    result = deploy._handle(make_event(model_package_group=None, model_package_arn=first), None)

    assert result["statusCode"] == 200 and result["model_package_arn"] == first
    model = sm.describe_model(ModelName=result["model_name"])
    assert model["PrimaryContainer"] == {"ModelPackageName": first}


def test_rerun_with_the_same_inputs_reuses_everything(sm: Any) -> None:
    register(sm, "Approved")

    first = deploy._handle(make_event(), None)
    second = deploy._handle(make_event(), None)

    assert first["action"] == "created"
    assert second == {**first, "action": "unchanged"}
    assert [m["ModelName"] for m in sm.list_models()["Models"]] == [first["model_name"]]
    configs = sm.list_endpoint_configs()["EndpointConfigs"]
    assert [c["EndpointConfigName"] for c in configs] == [first["endpoint_config_name"]]


@pytest.mark.parametrize(
    ("event", "status", "message"),
    [
        pytest.param(
            {"model_package_group": None, "model_package_arn": package_arn(7)},
            404,
            f"model package {package_arn(7)} not found\n"
            "  why: SageMaker has no model package with this ARN in this account and region\n"
            "  fix: check the ARN (the register step's ModelPackageArn) and the Lambda's region",
            id="package-arn-not-found",
        ),
        pytest.param(
            {"model_package_group": "nobody"},
            404,
            "model package group 'nobody' not found\n"
            "  why: SageMaker has no model package group of this name in this account and region\n"
            "  fix: check model_package_group (the pipeline's register step names it) and the "
            "Lambda's region",
            id="group-not-found",
        ),
        pytest.param(
            {},
            404,
            "model package group 'penguins' has no Approved model package\n"
            "  why: the handler deploys only Approved versions and none is Approved yet\n"
            "  fix: approve a version (aws sagemaker update-model-package --model-package-arn "
            "<arn> --model-approval-status Approved) or pass model_package_arn",
            id="group-without-approved-package",
        ),
        pytest.param(
            {"model_package_group": None, "model_package_arn": package_arn(1)},
            400,
            f"model package {package_arn(1)} is PendingManualApproval, not Approved\n"
            "  why: only Approved model packages are deployed\n"
            "  fix: approve it (aws sagemaker update-model-package --model-package-arn "
            f"{package_arn(1)} --model-approval-status Approved) and re-run",
            id="package-arn-not-approved",
        ),
    ],
)
def test_nothing_to_deploy(sm: Any, event: dict[str, Any], status: int, message: str) -> None:
    register(sm, "PendingManualApproval")  # penguins/1

    result = deploy._handle(make_event(**event), None)

    assert result == {"statusCode": status, "error": message}
    assert sm.list_models()["Models"] == []
    assert sm.list_endpoints()["Endpoints"] == []


# --------------------------------------------------------------------------- names


def test_names_are_deterministic_and_follow_the_inputs() -> None:
    settings = deploy.parse_event(make_event())
    base = deploy.build_requests(settings, package_arn(1))
    again = deploy.build_requests(deploy.parse_event(make_event()), package_arn(1))
    other_model = deploy.build_requests(settings, package_arn(2))
    bigger = deploy.build_requests(
        deploy.parse_event(make_event(instance_type="ml.m5.xlarge")), package_arn(1)
    )

    def names(requests: dict[str, Any]) -> tuple[str, str]:
        return requests["model"]["ModelName"], requests["config"]["EndpointConfigName"]

    assert names(base) == names(again)
    assert names(base)[0].startswith("penguins-endpoint-model-")
    assert names(base)[1].startswith("penguins-endpoint-config-")
    assert names(other_model)[0] != names(base)[0]
    assert names(other_model)[1] != names(base)[1]
    assert names(bigger)[0] == names(base)[0]  # same model, new config
    assert names(bigger)[1] != names(base)[1]


@pytest.mark.parametrize(
    "endpoint",
    [
        pytest.param("e" * 63, id="63-characters"),
        pytest.param("a" * 42 + "-" + "b" * 20, id="hyphen-at-the-cut"),
        pytest.param("x", id="one-character"),
    ],
)
def test_names_fit_sagemaker_limits(endpoint: str) -> None:
    requests = deploy.build_requests(
        deploy.parse_event(make_event(endpoint_name=endpoint)), package_arn(1)
    )
    for name in (requests["model"]["ModelName"], requests["config"]["EndpointConfigName"]):
        assert len(name) <= 63
        assert envelope.SAGEMAKER_NAME_RE.match(name), name


# --------------------------------------------------------------------------- bad events


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {"endpoint_name": None},
            "event.endpoint_name = missing\n  why: required\n  fix: pass e.g. 'penguins-endpoint'",
            id="missing-endpoint-name",
        ),
        pytest.param(
            {"endpoint_name": "penguins_endpoint"},
            "event.endpoint_name = 'penguins_endpoint'\n  why: SageMaker endpoint names are",
            id="endpoint-name-with-underscore",
        ),
        pytest.param(
            {"instance_count": "two"},
            "event.instance_count = 'two'\n  why: must be a whole number of at least 1\n"
            "  fix: pass e.g. 1",
            id="instance-count-not-a-number",
        ),
        pytest.param(
            {"instance_count": 0},
            "event.instance_count = 0\n  why: must be a whole number of at least 1",
            id="instance-count-zero",
        ),
        pytest.param(
            {"instance_count": True},
            "event.instance_count = True\n  why: must be a whole number",
            id="instance-count-bool",
        ),
        pytest.param(
            {"data_capture_percentage": 101},
            "event.data_capture_percentage = 101\n  why: must be a whole number from 0 to 100",
            id="capture-percentage-over-100",
        ),
        pytest.param(
            {"data_capture_percentage": None},
            "event.data_capture_percentage = missing\n  why: required",
            id="capture-percentage-missing",
        ),
        pytest.param(
            {"data_capture_destination": "my-bucket/capture"},
            "event.data_capture_destination = 'my-bucket/capture'\n  why: not an s3:// URI",
            id="capture-destination-not-s3",
        ),
        pytest.param(
            {"role_arn": "sagemaker-execution"},
            "event.role_arn = 'sagemaker-execution'\n  why: not an IAM role ARN",
            id="role-not-an-arn",
        ),
        pytest.param(
            {"instance_type": "m5.large"},
            "event.instance_type = 'm5.large'\n  why: not a SageMaker instance type\n"
            "  fix: pass e.g. 'ml.m5.large'",
            id="instance-type-without-ml",
        ),
        pytest.param(
            {"model_package_arn": package_arn(1)},
            "event.model_package_arn and event.model_package_group are both set",
            id="arn-and-group",
        ),
        pytest.param(
            {"model_package_group": None},
            "event.model_package_arn = missing (and no model_package_group)",
            id="neither-arn-nor-group",
        ),
        pytest.param(
            {"model_package_group": None, "model_package_arn": "penguins/1"},
            "event.model_package_arn = 'penguins/1'\n  why: not a model package ARN",
            id="arn-malformed",
        ),
        pytest.param(
            {"instance_cont": 2},
            "event.instance_cont = 2\n  why: not a key this handler reads\n"
            "  fix: did you mean 'instance_count'?",
            id="unknown-key-typo",
        ),
    ],
)
def test_bad_event_is_400_naming_the_key(
    monkeypatch: pytest.MonkeyPatch, changes: dict[str, Any], expected: str
) -> None:
    def no_aws(name: str) -> Any:
        raise AssertionError("a bad event must not reach AWS")

    monkeypatch.setattr(deploy, "_client", no_aws)
    result = deploy._handle(make_event(**changes), None)
    assert result["statusCode"] == 400
    assert result["error"].startswith("invalid event:\n")
    assert expected in result["error"]
    assert set(result) == {"statusCode", "error"}


def test_every_problem_is_reported_at_once() -> None:
    result = deploy._handle(
        make_event(endpoint_name=None, instance_type="big", data_capture_percentage=-1), None
    )
    assert result == {
        "statusCode": 400,
        "error": "invalid event:\n"
        "event.endpoint_name = missing\n  why: required\n  fix: pass e.g. 'penguins-endpoint'\n"
        "event.instance_type = 'big'\n  why: not a SageMaker instance type\n"
        "  fix: pass e.g. 'ml.m5.large'\n"
        "event.data_capture_percentage = -1\n  why: must be a whole number from 0 to 100\n"
        "  fix: pass e.g. 100 (capture every request)",
    }


@pytest.mark.parametrize("event", [pytest.param(None, id="none"), pytest.param(["a"], id="list")])
def test_event_that_is_not_an_object_is_400(event: Any) -> None:
    result = deploy._handle(event, None)
    assert result["statusCode"] == 400
    assert "the event must be a JSON object of settings" in result["error"]


# --------------------------------------------------------------------------- Stubber


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    """A real SageMaker client under a Stubber, injected into the handler."""
    client = boto3.client("sagemaker", region_name=REGION)
    monkeypatch.setattr(deploy, "_client", lambda name: client)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def not_found(stubber: Stubber, operation: str, message: str, params: dict[str, Any]) -> None:
    stubber.add_client_error(
        operation,
        service_error_code="ValidationException",
        service_message=message,
        http_status_code=400,
        expected_params=params,
    )


def expect_package(stubber: Stubber) -> None:
    """DescribeModelPackage of penguins/2, Approved."""
    stubber.add_response(
        "describe_model_package",
        {
            "ModelPackageName": GROUP,
            "ModelPackageArn": package_arn(2),
            "CreationTime": NOW,
            "ModelPackageStatus": "Completed",
            "ModelPackageStatusDetails": {"ValidationStatuses": []},
            "ModelApprovalStatus": "Approved",
        },
        {"ModelPackageName": package_arn(2)},
    )


def expect_model_and_config(stubber: Stubber, requests: dict[str, Any]) -> None:
    """The calls before the endpoint: package check, then model and config (both new)."""
    model, config = requests["model"], requests["config"]
    expect_package(stubber)
    not_found(stubber, "describe_model", "Could not find model", {"ModelName": model["ModelName"]})
    stubber.add_response(
        "create_model", {"ModelArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/x"}, model
    )
    not_found(
        stubber,
        "describe_endpoint_config",
        "Could not find endpoint configuration",
        {"EndpointConfigName": config["EndpointConfigName"]},
    )
    stubber.add_response(
        "create_endpoint_config",
        {"EndpointConfigArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint-config/x"},
        config,
    )


def endpoint_description(status: str, config_name: str) -> dict[str, Any]:
    return {
        "EndpointName": "penguins-endpoint",
        "EndpointArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/penguins-endpoint",
        "EndpointConfigName": config_name,
        "EndpointStatus": status,
        "CreationTime": NOW,
        "LastModifiedTime": NOW,
    }


ARN_EVENT = {"model_package_group": None, "model_package_arn": package_arn(2)}


def test_existing_endpoint_is_updated_to_the_new_config(stub: Stubber) -> None:
    requests = deploy.build_requests(deploy.parse_event(make_event(**ARN_EVENT)), package_arn(2))
    config_name = requests["config"]["EndpointConfigName"]
    expect_model_and_config(stub, requests)
    stub.add_response(
        "describe_endpoint",
        endpoint_description("InService", "penguins-endpoint-config-000000000000"),
        {"EndpointName": "penguins-endpoint"},
    )
    stub.add_response(
        "update_endpoint",
        {"EndpointArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/penguins-endpoint"},
        {"EndpointName": "penguins-endpoint", "EndpointConfigName": config_name},
    )

    result = deploy._handle(make_event(**ARN_EVENT), None)

    assert result == {
        "statusCode": 200,
        "endpoint_name": "penguins-endpoint",
        "action": "updated",
        "model_name": requests["model"]["ModelName"],
        "endpoint_config_name": config_name,
        "model_package_arn": package_arn(2),
    }


def test_endpoint_that_is_still_changing_is_409(stub: Stubber) -> None:
    requests = deploy.build_requests(deploy.parse_event(make_event(**ARN_EVENT)), package_arn(2))
    expect_model_and_config(stub, requests)
    stub.add_response(
        "describe_endpoint",
        endpoint_description("Updating", "penguins-endpoint-config-000000000000"),
        {"EndpointName": "penguins-endpoint"},
    )

    result = deploy._handle(make_event(**ARN_EVENT), None)

    assert result == {
        "statusCode": 409,
        "error": "endpoint 'penguins-endpoint' is Updating\n"
        "  why: SageMaker cannot update an endpoint while it is changing\n"
        "  fix: wait until it is InService (aws sagemaker wait endpoint-in-service "
        "--endpoint-name penguins-endpoint) and re-run the pipeline",
    }


@pytest.mark.parametrize(
    ("code", "message", "fix"),
    [
        pytest.param(
            "AccessDeniedException",
            "User is not authorized to perform: sagemaker:CreateModel",
            "allow sagemaker:CreateModel (and iam:PassRole on role_arn) in the Lambda function's "
            "execution role; components/deploy/README.md lists every permission",
            id="access-denied",
        ),
        pytest.param(
            "ResourceLimitExceeded",
            "The account-level service limit for models is 1000",
            "raise the SageMaker service quota for this instance type or free capacity",
            id="limit-exceeded",
        ),
        pytest.param(
            "ValidationException",
            "Could not access model data at s3://my-bucket/model.tar.gz",
            "correct the setting the AWS message names and re-run",
            id="validation",
        ),
    ],
)
def test_aws_error_is_500_with_code_and_message(
    stub: Stubber, code: str, message: str, fix: str
) -> None:
    requests = deploy.build_requests(deploy.parse_event(make_event(**ARN_EVENT)), package_arn(2))
    expect_package(stub)
    not_found(
        stub,
        "describe_model",
        "Could not find model",
        {"ModelName": requests["model"]["ModelName"]},
    )
    stub.add_client_error(
        "create_model",
        service_error_code=code,
        service_message=message,
        http_status_code=400,
        expected_params=requests["model"],
    )

    result = deploy._handle(make_event(**ARN_EVENT), None)

    assert result == {
        "statusCode": 500,
        "error": f"CreateModel failed: {code}: {message}\n"
        f"  why: SageMaker refused the request\n  fix: {fix}",
    }


def test_missing_credentials_is_500_without_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_credentials(name: str) -> Any:
        raise NoCredentialsError()

    monkeypatch.setattr(deploy, "_client", no_credentials)
    result = deploy._handle(make_event(), None)
    assert result == {
        "statusCode": 500,
        "error": "AWS call failed: NoCredentialsError: Unable to locate credentials\n"
        "  why: boto3 could not reach SageMaker or find credentials\n"
        "  fix: check the Lambda's region, network access and execution role",
    }


def test_unexpected_error_is_500_without_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        def list_model_packages(self, **kwargs: Any) -> Any:
            raise RuntimeError("boom")

    monkeypatch.setattr(deploy, "_client", lambda name: Broken())
    result = deploy._handle(make_event(), None)
    assert result["statusCode"] == 500
    assert result["error"].startswith("unexpected error: RuntimeError: boom\n")
    assert "Traceback" not in result["error"]


def test_entry_point_always_returns_the_pipeline_step_outputs(sm: Any) -> None:
    """The pipeline's Lambda step declares endpoint_name, statusCode and error: all present."""
    register(sm, "Approved")
    success = deploy.lambda_handler(make_event(), None)
    assert success["statusCode"] == 200
    assert success["error"] == ""
    assert success["endpoint_name"] == make_event()["endpoint_name"]
    failure = deploy.lambda_handler(make_event(endpoint_name=None), None)
    assert failure["statusCode"] == 400
    assert failure["endpoint_name"] == ""
    assert "endpoint_name" in failure["error"]

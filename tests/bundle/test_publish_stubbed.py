"""Publish paths moto cannot play: AWS refusing an action half-way, and --start --watch.

moto keeps the state (S3, Lambda, SageMaker, Scheduler); botocore's Stubber takes over one
client for the calls under test, checking each request against the real API model, with the
expected parameters asserted exactly. The Stubber's canned answers are moto's own answers,
read just before the Stubber is switched on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from bundle.assets import asset_bytes
from bundle.aws import Aws, AwsError, connect, sha256_b64
from bundle.publish import main
from bundle.read import read_bundle
from tests.bundle.conftest import REGION, change_asset

pytestmark = pytest.mark.usefixtures("aws_env")
PIPELINE = "penguins-pytorch-train"


@pytest.fixture
def aws() -> Aws:
    return connect(None, REGION)


def answer(response: dict[str, Any]) -> dict[str, Any]:
    """A real answer as a Stubber response (without the transport metadata)."""
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def receipt(bundle_dir: Path) -> dict[str, Any]:
    return dict(json.loads((bundle_dir / "receipt.json").read_text()))


@pytest.fixture
def lambda_stub(aws: Aws) -> Iterator[Stubber]:
    stubber = Stubber(aws.lambda_)
    yield stubber
    stubber.deactivate()


def test_a_refused_lambda_update_stops_and_a_rerun_finishes(
    bundle_dir: Path,
    repo_copy: Path,
    aws: Aws,
    lambda_stub: Stubber,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([str(bundle_dir), "--yes"], repo=repo_copy) == 0
    evaluate = next(a.name for a in read_bundle(bundle_dir).assets if a.kind == "file")
    change_asset(bundle_dir, repo_copy, "deploy-function")
    change_asset(bundle_dir, repo_copy, evaluate)
    bundle = read_bundle(bundle_dir)
    new_zip = asset_bytes(bundle.asset("deploy-function"), repo_copy)
    for function in bundle.manifest.functions:
        name = function.function_name
        lambda_stub.add_response(
            "get_function",
            answer(aws.lambda_.get_function(FunctionName=name)),
            {"FunctionName": name},
        )
    lambda_stub.add_client_error(
        "update_function_code",
        service_error_code="ResourceConflictException",
        service_message="An update is in progress for resource: penguins-deploy",
        http_status_code=409,
        expected_params={"FunctionName": "penguins-deploy", "ZipFile": new_zip},
    )
    definition_before = boto3.client("sagemaker", region_name=REGION).describe_pipeline(
        PipelineName=PIPELINE
    )["PipelineDefinition"]
    capsys.readouterr()

    lambda_stub.activate()
    code = main([str(bundle_dir), "--yes"], connect_aws=lambda region, default: aws, repo=repo_copy)
    lambda_stub.assert_no_pending_responses()
    lambda_stub.deactivate()

    assert code == 1
    uploaded = sorted(["deploy-function", evaluate])
    assert capsys.readouterr().err == (
        "error: publish stopped at function penguins-deploy (update code)\n"
        "AWS Lambda UpdateFunctionCode (function penguins-deploy)\n"
        "  ResourceConflictException: An update is in progress for resource: penguins-deploy\n"
        "  why: the resource is being changed by another update that has not finished\n"
        "  fix: wait a minute and run the same command again; it resumes where it stopped\n"
        "\n"
        "already applied (kept; a rerun skips them):\n"
        f"  asset {uploaded[0]}: upload\n"
        f"  asset {uploaded[1]}: upload\n"
        "not applied yet:\n"
        f"  pipeline {PIPELINE}: update\n"
        "\n"
        "fix the cause above, then run the same command again: it finishes the job\n"
    )
    failed = receipt(bundle_dir)
    assert failed["status"] == "failed"
    assert failed["error"].startswith("publish stopped at function penguins-deploy")
    assert {a["name"]: a["result"] for a in failed["actions"] if a["result"] != "skipped"} == {
        uploaded[0]: "done",
        uploaded[1]: "done",
        "penguins-deploy": "failed",
        PIPELINE: "not attempted",
    }
    sm = boto3.client("sagemaker", region_name=REGION)
    assert sm.describe_pipeline(PipelineName=PIPELINE)["PipelineDefinition"] == definition_before

    assert main([str(bundle_dir), "--yes"], repo=repo_copy) == 0

    done = {a["name"]: a["action"] for a in receipt(bundle_dir)["actions"] if a["result"] == "done"}
    assert done == {"penguins-deploy": "update code", PIPELINE: "update"}
    code_sha = boto3.client("lambda", region_name=REGION).get_function(
        FunctionName="penguins-deploy"
    )["Configuration"]["CodeSha256"]
    assert code_sha == sha256_b64(new_zip)
    stored = sm.describe_pipeline(PipelineName=PIPELINE)["PipelineDefinition"]
    assert json.loads(stored) == bundle.definition


def test_refused_upload_lists_nothing_applied(
    bundle_dir: Path, aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    """S3 denies every PutObject (a before-call hook answers as S3 would, before any request):
    the error names the policy to attach, and nothing after the uploads is tried."""
    bundle = read_bundle(bundle_dir)

    def deny(**_: Any) -> None:
        raise aws.s3.exceptions.ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "PutObject"
        )

    aws.s3.meta.events.register("before-call.s3.PutObject", deny)
    assert main([str(bundle_dir), "--yes"], connect_aws=lambda region, default: aws) == 1
    err = capsys.readouterr().err
    assert "  AccessDenied: Access Denied\n" in err
    assert (
        "  fix: attach the policy for this command from bundle/PUBLISH.md, then run it again" in err
    )
    assert "already applied (kept; a rerun skips them):\n  nothing\n" in err
    results = {a["kind"]: a["result"] for a in receipt(bundle_dir)["actions"]}
    assert (results["function"], results["pipeline"]) == ("not attempted", "not attempted")
    assert len(bundle.assets) > 1
    assert boto3.client("lambda", region_name=REGION).list_functions()["Functions"] == []


def test_start_and_watch_after_publishing(
    bundle_dir: Path, aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(bundle_dir), "--yes"]) == 0
    described = answer(aws.sagemaker.describe_pipeline(PipelineName=PIPELINE))
    tags = answer(aws.sagemaker.list_tags(ResourceArn=described["PipelineArn"]))
    execution = f"{described['PipelineArn']}/execution/run1"
    capsys.readouterr()
    with Stubber(aws.sagemaker) as stub:
        stub.add_response("describe_pipeline", described, {"PipelineName": PIPELINE})
        stub.add_response("list_tags", tags, {"ResourceArn": described["PipelineArn"]})
        stub.add_response(
            "start_pipeline_execution",
            {"PipelineExecutionArn": execution},
            {
                "PipelineName": PIPELINE,
                "PipelineParameters": [
                    {"Name": "ApproveThreshold", "Value": "0.9"},
                    {"Name": "TrainingInstanceType", "Value": "ml.m5.2xlarge"},
                ],
            },
        )
        stub.add_response(
            "describe_pipeline_execution",
            {"PipelineExecutionStatus": "Failed", "FailureReason": "Step failure"},
            {"PipelineExecutionArn": execution},
        )
        stub.add_response(
            "list_pipeline_execution_steps",
            {
                "PipelineExecutionSteps": [
                    {"StepName": "Preprocess", "StepStatus": "Succeeded"},
                    {"StepName": "Train", "StepStatus": "Failed", "FailureReason": "OOM"},
                ]
            },
            {"PipelineExecutionArn": execution, "SortOrder": "Ascending"},
        )
        args = ["--yes", "--start", "-p", "ApproveThreshold=0.9"]
        args += ["-p", "TrainingInstanceType=ml.m5.2xlarge", "--watch", "--poll", "0"]
        code = main([str(bundle_dir), *args], connect_aws=lambda region, default: aws)
        stub.assert_no_pending_responses()

    assert code == 1
    out = capsys.readouterr().out
    assert "nothing to change: AWS already matches the bundle" in out
    assert f"started {execution}" in out
    assert "step Train failed: OOM\nexecution: Step failure\nexecution Failed\n" in out
    assert receipt(bundle_dir)["execution"] == {
        "arn": execution,
        "status": "Failed",
        "failure_reason": "Step failure",
        "failed_steps": [{"step": "Train", "reason": "OOM"}],
        "timed_out": False,
        "parameters": {"ApproveThreshold": "0.9", "TrainingInstanceType": "ml.m5.2xlarge"},
    }


def test_a_function_that_fails_to_become_active(aws: Aws) -> None:
    config = {
        "FunctionName": "penguins-deploy",
        "Role": "arn:aws:iam::111122223333:role/NotForLambda",
        "Handler": "deploy.lambda_handler",
        "Runtime": "python3.12",
        "Timeout": 300,
        "MemorySize": 256,
        "Environment": {"Variables": {}},
    }
    reason = "The role defined for the function cannot be assumed by Lambda."
    with Stubber(aws.lambda_) as stub:
        stub.add_response(
            "create_function",
            {"FunctionName": "penguins-deploy", "State": "Pending"},
            {**config, "Code": {"ZipFile": b"PK"}},
        )
        stub.add_response(
            "get_function",
            {"Configuration": {"State": "Failed", "StateReason": reason}},
            {"FunctionName": "penguins-deploy"},
        )
        with pytest.raises(AwsError) as raised:
            aws.create_function(config, b"PK")
        stub.assert_no_pending_responses()
    assert str(raised.value) == (
        "AWS Lambda function penguins-deploy (waiting until Active)\n"
        '  Waiter encountered a terminal failure state: For expression "Configuration.State" '
        f'we matched expected path: "Failed": State Failed; StateReason {reason}\n'
        "  why: the resource is still changing, or its creation or update failed\n"
        "  fix: correct the cause AWS gives (often the function's role or settings), then run "
        "the same command again"
    )

"""RegisterModel and the Lambda steps of the golden penguins definition, run locally.

Register -> Deploy (a real endpoint from the registry) -> the two Schedule steps, their handlers
run from the bundle's Lambda zips against the engine's local SageMaker, and the failures the
handlers report as statusCode/error, which the pipeline's conditions turn into its Fail steps.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from engine import endpoint, local_sagemaker
from engine.executors import lambda_step, register
from engine.executors.base import StepFailed
from engine.registry import Registry
from tests.aws_env import isolate_from_aws
from tests.components.fixtures_models import TrainedModel
from tests.engine.serve_fixtures import (
    BUCKET,
    Root,
    baseline,
    context,
    expected_labels,
    golden_assets,
    golden_functions,
    golden_step,
    models,
    occupied_port,
    resolve,
    root,
    unlisted_port,
)

__all__ = ["models", "root"]
CASE = "penguins-pytorch-train"
ENDPOINT = "penguins-endpoint"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_from_aws(monkeypatch, tmp_path, "us-east-1")
    monkeypatch.delenv(local_sagemaker.PORT_ENV, raising=False)


@pytest.fixture
def known(root: Root, models: Callable[[str, str], TrainedModel]) -> Iterator[dict[str, Any]]:
    """Resolved values of the Gets the golden register/deploy/schedule steps make."""
    trained = models("penguins", "pytorch")
    values: dict[str, Any] = {
        "Steps.Train.ModelArtifacts.S3ModelArtifacts": root.put_model(
            trained, "penguins/exec0001/Train/output/model.tar.gz"
        ),
        "Steps.Evaluate.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri": (
            f"s3://{BUCKET}/penguins/exec0001/Evaluate/evaluation"
        ),
        "Parameters.DataCaptureUri": f"s3://{BUCKET}/ml-pipelines/penguins/data-capture",
        "Parameters.DataCapturePercentage": 100,
    }
    for check in ("DataQualityBaseline", "ModelQualityBaseline"):
        for kind in ("Statistics", "Constraints"):
            for prefix in ("CalculatedBaseline", "BaselineUsedForDriftCheck"):
                values[f"Steps.{check}.{prefix}{kind}"] = f"s3://{BUCKET}/{check}/{kind}.json"
    values["trained"] = trained
    yield values
    endpoint.stop(root.path, ENDPOINT)


def run_golden(root: Root, name: str, known: dict[str, Any], **changes: Any) -> dict[str, Any]:
    step = golden_step(CASE, name)
    definition = resolve(step, known)
    definition["Arguments"].update(changes)
    executor = register.run if step["Type"] == "RegisterModel" else lambda_step.run
    ctx = context(
        root,
        name,
        step["Type"],
        definition["Arguments"],
        definition=definition,
        functions=golden_functions(CASE),
        assets=golden_assets(CASE, root),  # the handlers run from the bundle's Lambda zips
    )
    return executor(ctx)


def fail_message(name: str, known: dict[str, Any]) -> str:
    """The ErrorMessage the golden Fail step `name` resolves to."""
    return str(resolve(golden_step(CASE, name)["Arguments"]["ErrorMessage"], known))


def test_register_deploy_and_schedule_as_the_golden_pipeline_wires_them(
    root: Root, known: dict[str, Any]
) -> None:
    registered = run_golden(root, "RegisterApproved", known)
    arn = "arn:aws:sagemaker:us-east-1:111122223333:model-package/penguins/1"
    assert registered["ModelPackageArn"] == arn
    package = Registry(root.path / "registry.sqlite").latest_approved("penguins")
    assert package is not None and package.arn == arn
    assert package.drift_check_baselines["ModelDataQuality"]["Statistics"]["S3Uri"] == (
        f"s3://{BUCKET}/DataQualityBaseline/Statistics.json"
    )
    assert package.metrics["ModelQuality"]["Statistics"]["S3Uri"] == (
        f"s3://{BUCKET}/penguins/exec0001/Evaluate/evaluation/evaluation.json"
    )
    known["Steps.RegisterApproved.ModelPackageArn"] = arn

    deployed = run_golden(root, "Deploy", known)
    assert deployed == {
        "OutputParameters": {"endpoint_name": ENDPOINT, "statusCode": 200, "error": ""}
    }
    record = json.loads(endpoint.record_path(root.path, ENDPOINT).read_text())
    assert record["ModelPackageArn"] == arn
    assert record["DataCaptureConfig"]["DestinationS3Uri"] == known["Parameters.DataCaptureUri"]
    client = boto3.client("sagemaker-runtime", endpoint_url=record["Url"])
    trained = known["trained"]
    sample = {k: v for k, v in baseline(trained)[5].items() if k != "ground_truth"}
    answer = client.invoke_endpoint(
        EndpointName=ENDPOINT, Body=json.dumps(sample), ContentType="application/json"
    )
    assert json.loads(answer["Body"].read())[0]["label"] == expected_labels(trained)[5]

    known["Steps.Deploy.OutputParameters['endpoint_name']"] = ENDPOINT
    for name, schedule in (
        ("ScheduleDataQualityMonitor", "penguins-endpoint-data-quality"),
        ("ScheduleModelQualityMonitor", "penguins-endpoint-model-quality"),
    ):
        result = run_golden(root, name, known)
        assert result == {
            "OutputParameters": {"schedule_name": schedule, "statusCode": 200, "error": ""}
        }
        saved = json.loads((root.path / "schedules" / f"{schedule}.json").read_text())
        assert saved["EndpointName"] == ENDPOINT
        # the job definition the shipped handler created, which `engine.schedule run` runs
        event = resolve(golden_step(CASE, name)["Arguments"], known)
        job = saved["JobDefinition"]
        kind = saved["MonitoringType"]
        assert (
            job["JobDefinitionName"]
            == (saved["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"])
        )
        assert (
            job[f"{kind}BaselineConfig"]["ConstraintsResource"]["S3Uri"]
            == (event["baseline_constraints_uri"])
        )
        assert job[f"{kind}JobInput"]["EndpointInput"]["EndpointName"] == ENDPOINT
    saved = json.loads(
        (root.path / "schedules" / "penguins-endpoint-model-quality.json").read_text()
    )
    assert (
        saved["MonitoringType"],
        saved["MonitoringScheduleConfig"]["ScheduleConfig"]["ScheduleExpression"],
    ) == ("ModelQuality", "cron(0 0 ? * * *)")


def test_deploy_failures_come_back_as_status_and_error_for_the_fail_step(
    root: Root, known: dict[str, Any]
) -> None:
    missing = "arn:aws:sagemaker:us-east-1:111122223333:model-package/penguins/9"
    known["Steps.RegisterApproved.ModelPackageArn"] = missing
    outputs = run_golden(root, "Deploy", known)["OutputParameters"]
    assert outputs["statusCode"] == 404
    assert outputs["endpoint_name"] == ""
    # the shipped handler's message: the local SageMaker answered as AWS does
    assert outputs["error"] == (
        f"model package {missing} not found\n"
        "  why: SageMaker has no model package with this ARN in this account and region\n"
        "  fix: check the ARN (the register step's ModelPackageArn) and the Lambda's region"
    )
    # DeploySucceeded compares statusCode with 200 and sends the error to DeployFailed.
    condition = golden_step(CASE, "DeploySucceeded")["Arguments"]["Conditions"][0]
    assert condition == {
        "LeftValue": {"Get": "Steps.Deploy.OutputParameters['statusCode']"},
        "RightValue": 200,
        "Type": "Equals",
    }
    known["Steps.Deploy.OutputParameters['error']"] = outputs["error"]
    assert fail_message("DeployFailed", known) == f"Deploy: {outputs['error']}"


def test_a_pending_package_is_not_deployed(root: Root, known: dict[str, Any]) -> None:
    arn = run_golden(root, "RegisterPending", known)["ModelPackageArn"]
    known["Steps.RegisterApproved.ModelPackageArn"] = arn
    outputs = run_golden(root, "Deploy", known)["OutputParameters"]
    assert outputs["statusCode"] == 400
    assert outputs["error"].startswith(
        f"model package {arn} is PendingManualApproval, not Approved"
    )
    assert not endpoint.record_path(root.path, ENDPOINT).exists()


def test_a_busy_port_fails_the_deploy_with_status_500(
    root: Root, known: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    known["Steps.RegisterApproved.ModelPackageArn"] = run_golden(root, "RegisterApproved", known)[
        "ModelPackageArn"
    ]
    with occupied_port() as port:
        monkeypatch.setenv(local_sagemaker.PORT_ENV, str(port))
        outputs = run_golden(root, "Deploy", known)["OutputParameters"]
    assert outputs == {
        "endpoint_name": "",
        "statusCode": 500,
        "error": f"CreateEndpoint failed: ValidationException: endpoint {ENDPOINT} cannot listen "
        f"on 127.0.0.1:{port}: the port is in use (another program listens on it; "
        "ENGINE_ENDPOINT_PORT asks for it); stop that program, or set ENGINE_ENDPOINT_PORT to "
        "another port (0: any free one)\n"
        "  why: SageMaker refused the request\n"
        "  fix: correct the setting the AWS message names and re-run",
    }
    assert not endpoint.record_path(root.path, ENDPOINT).exists()


def test_a_schedule_for_an_endpoint_never_deployed_fails_with_status_500(
    root: Root, known: dict[str, Any]
) -> None:
    known["Steps.Deploy.OutputParameters['endpoint_name']"] = ENDPOINT
    outputs = run_golden(root, "ScheduleDataQualityMonitor", known)["OutputParameters"]
    assert outputs == {
        "schedule_name": "",
        "statusCode": 500,
        "error": "CreateMonitoringSchedule failed: ValidationException: Could not find endpoint "
        "'penguins-endpoint'\n  why: SageMaker refused the request\n"
        "  fix: correct the setting the AWS message names and re-run",
    }
    assert not (root.path / "schedules").exists()


def test_bad_deploy_events_are_400s(root: Root, known: dict[str, Any]) -> None:
    known["Steps.RegisterApproved.ModelPackageArn"] = "not-an-arn"
    outputs = run_golden(root, "Deploy", known)["OutputParameters"]
    assert outputs["statusCode"] == 400
    assert outputs["error"].startswith("invalid event:\nevent.model_package_arn = 'not-an-arn'\n")
    known["Steps.RegisterApproved.ModelPackageArn"] = "arn:aws:sagemaker:x"
    outputs = run_golden(root, "Deploy", known, data_capture_percentage=101)["OutputParameters"]
    assert outputs["error"] == (
        "invalid event:\nevent.model_package_arn = 'arn:aws:sagemaker:x'\n"
        "  why: not a model package ARN\n"
        "  fix: pass arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>\n"
        "event.data_capture_percentage = 101\n"
        "  why: must be a whole number from 0 to 100\n  fix: pass e.g. 100 (capture every request)"
    )


def test_an_unknown_function_or_a_missing_output_fails_the_step(root: Root) -> None:
    definition = {
        "Name": "Notify",
        "Type": "Lambda",
        "FunctionArn": "arn:aws:lambda:us-east-1:111122223333:function:notify",
        "Arguments": {"message": "hi"},
        "OutputParameters": [{"OutputName": "statusCode", "OutputType": "Integer"}],
    }
    functions = golden_functions(CASE)
    ctx = context(
        root,
        "Notify",
        "Lambda",
        definition["Arguments"],
        definition=definition,
        functions=functions,
    )
    with pytest.raises(StepFailed) as refused:
        lambda_step.run(ctx)
    assert str(refused.value) == (
        "step Notify: FunctionArn arn:aws:lambda:us-east-1:111122223333:function:notify\n"
        "  what: not a Lambda function this run has the code of\n"
        "  why: the engine runs the code of the bundle's functions (assets.json functions: "
        f"{', '.join(sorted(functions))}) or of mapped ones, found by the ARN\n"
        f"  fix: map the ARN to a handler with --lambda {definition['FunctionArn']}=FILE.py:"
        "FUNCTION, or recompile the bundle"
    )
    (schedule_arn,) = [a for a, f in functions.items() if f.asset == "schedule-function"]
    definition["FunctionArn"] = schedule_arn
    definition["Arguments"] = {
        "monitor_type": "data_quality",
        "schedule_name": "s",
        "endpoint_name": "e",
    }
    definition["OutputParameters"] = [{"OutputName": "job_arn", "OutputType": "String"}]
    ctx = context(
        root,
        "Schedule",
        "Lambda",
        definition["Arguments"],
        definition=definition,
        functions=functions,
        assets=golden_assets(CASE, root),
    )
    with pytest.raises(StepFailed, match=r"the Lambda function's result has no output 'job_arn'"):
        lambda_step.run(ctx)


def test_register_refuses_missing_model_data(root: Root) -> None:
    arguments = {
        "ModelPackageGroupName": "penguins",
        "ModelApprovalStatus": "Approved",
        "InferenceSpecification": {
            "Containers": [{"Image": "i", "ModelDataUrl": "s3://models/none"}]
        },
    }
    with pytest.raises(StepFailed, match="Could not access model data at s3://models/none"):
        register.run(context(root, "Register", "RegisterModel", arguments))
    assert Registry(root.path / "registry.sqlite").packages() == []


def test_a_bad_endpoint_port_setting_fails_the_deploy_with_status_500(
    root: Root, known: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = run_golden(root, "RegisterApproved", known)["ModelPackageArn"]
    known["Steps.RegisterApproved.ModelPackageArn"] = arn
    monkeypatch.setenv(local_sagemaker.PORT_ENV, "http")
    outputs = run_golden(root, "Deploy", known)["OutputParameters"]
    assert outputs == {
        "endpoint_name": "",
        "statusCode": 500,
        "error": "CreateEndpoint failed: ValidationException: ENGINE_ENDPOINT_PORT='http' is not "
        "a port number: the local endpoint binds 127.0.0.1 on this port; set "
        "ENGINE_ENDPOINT_PORT to a free port (0 or unset: any free one)\n"
        "  why: SageMaker refused the request\n"
        "  fix: correct the setting the AWS message names and re-run",
    }


def test_an_endpoint_that_cannot_load_its_model_fails_the_deploy_with_status_500(
    root: Root, known: dict[str, Any]
) -> None:
    arn = run_golden(root, "RegisterApproved", known)["ModelPackageArn"]
    known["Steps.RegisterApproved.ModelPackageArn"] = arn
    root.s3.put_bytes(known["Steps.Train.ModelArtifacts.S3ModelArtifacts"], b"not a tarball")
    outputs = run_golden(root, "Deploy", known)["OutputParameters"]
    assert outputs["statusCode"] == 500
    assert outputs["error"].startswith(
        "CreateEndpoint failed: ValidationException: the local endpoint did not start:\n"
    )
    assert "cannot unpack it" in outputs["error"]
    record = json.loads(endpoint.record_path(root.path, ENDPOINT).read_text())
    assert (record["EndpointStatus"], record["Pid"]) == ("Failed", None)


def test_a_redeploy_replaces_the_endpoint_on_the_port_it_had(
    root: Root, known: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run_golden(root, "RegisterApproved", known)["ModelPackageArn"]
    known["Steps.RegisterApproved.ModelPackageArn"] = first
    # The first deploy's port, freed and taken back below: no other process can be given it.
    monkeypatch.setenv(local_sagemaker.PORT_ENV, str(unlisted_port()))
    assert run_golden(root, "Deploy", known)["OutputParameters"]["statusCode"] == 200
    monkeypatch.delenv(local_sagemaker.PORT_ENV)  # the redeploys keep the port they had
    before = json.loads(endpoint.record_path(root.path, ENDPOINT).read_text())
    second = run_golden(root, "RegisterApproved", known)["ModelPackageArn"]
    known["Steps.RegisterApproved.ModelPackageArn"] = second
    assert run_golden(root, "Deploy", known)["OutputParameters"]["statusCode"] == 200
    after = json.loads(endpoint.record_path(root.path, ENDPOINT).read_text())
    assert (after["Url"], after["ModelPackageArn"]) == (before["Url"], second)
    assert after["Pid"] != before["Pid"] and not endpoint.is_endpoint_process(before["Pid"])
    assert after["CreationTime"] == before["CreationTime"]
    endpoint.stop(root.path, ENDPOINT)
    with socket.socket() as other:
        other.bind(("127.0.0.1", after["Port"]))
        other.listen()
        outputs = run_golden(root, "Deploy", known)["OutputParameters"]
    assert outputs["statusCode"] == 500
    assert (
        "the port is in use (another program listens on it; a redeployed endpoint keeps its port)"
        in outputs["error"]
    )


# --------------------------------------------------------------------------- builtin schedules

BUILTIN = "penguins-pytorch-train-builtin"
MONITOR = "penguins-pytorch-train-data-quality-monitor"


def play_builtin_schedule(root: Root, **changes: Any) -> dict[str, Any]:
    """The golden builtin ScheduleDataQualityMonitor step, its Gets resolved, played locally."""
    step = golden_step(BUILTIN, "ScheduleDataQualityMonitor")
    output = "Steps.DataQualityBaseline.ProcessingOutputConfig.Outputs['quality_check_output']"
    known = {
        "Steps.Deploy.OutputParameters['endpoint_name']": ENDPOINT,
        f"{output}.S3Output.S3Uri": f"s3://{BUCKET}/run/DataQualityBaseline",
        "Parameters.DataCaptureUri": f"s3://{BUCKET}/capture",
    }
    definition = resolve(step, known)
    definition["Arguments"].update(changes)
    ctx = context(
        root,
        step["Name"],
        "Lambda",
        definition["Arguments"],
        definition=definition,
        functions=golden_functions(BUILTIN),
        assets=golden_assets(BUILTIN, root),  # the handler runs from the bundle's Lambda zip
    )
    return dict(lambda_step.run(ctx)["OutputParameters"])


def publish_monitor(root: Root) -> None:
    """What running the builtin bundle does first: its monitoring pipeline, published locally."""
    folder = root.path / "pipelines" / MONITOR
    folder.mkdir(parents=True)
    (folder / "pipeline.json").write_text("{}")


def test_a_builtin_schedule_is_recorded_then_updated_then_left_alone(root: Root) -> None:
    publish_monitor(root)
    first = play_builtin_schedule(root)
    assert (first["statusCode"], first["schedule_name"]) == (200, "penguins-endpoint-data-quality")
    record = json.loads((root.path / "schedules/penguins-endpoint-data-quality.json").read_text())
    target = record["Target"]
    assert target["Arn"].endswith(f":pipeline/{MONITOR}")
    parameters = {
        p["Name"]: p["Value"]
        for p in target["SageMakerPipelineParameters"]["PipelineParameterList"]
    }
    assert parameters == {
        "BaselineConstraintsUri": f"s3://{BUCKET}/run/DataQualityBaseline/constraints.json",
        "BaselineStatisticsUri": f"s3://{BUCKET}/run/DataQualityBaseline/statistics.json",
        "DataCaptureUri": f"s3://{BUCKET}/capture",
        "EndpointName": ENDPOINT,
    }
    assert record["ScheduleExpression"] == "cron(0 * ? * * *)"
    log = root.path / "executions/test-pipeline/exec0001/steps/ScheduleDataQualityMonitor"
    assert "schedule penguins-endpoint-data-quality created" in (log / "log.txt").read_text()
    play_builtin_schedule(root, schedule_expression="rate(6 hours)")
    assert "updated" in (log / "log.txt").read_text().splitlines()[-1]
    play_builtin_schedule(root, schedule_expression="rate(6 hours)")
    assert "unchanged" in (log / "log.txt").read_text().splitlines()[-1]


@pytest.mark.parametrize(
    ("changes", "published", "status", "message"),
    [
        # the shipped handler's status for a refused target (the engine's own play said 404)
        ({}, False, 400, "the target pipeline arn:aws:sagemaker:us-east-1:111122223333:pipeline/"),
        ({"parameters": ["EndpointName"]}, True, 400, "event.parameters = ['EndpointName']"),
        ({"schedule_name": "a b"}, True, 400, "event.schedule_name = 'a b'"),
    ],
    ids=["monitor-not-published", "parameters-not-a-map", "bad-name"],
)
def test_bad_builtin_schedule_events_come_back_as_status_and_error(
    root: Root, changes: dict[str, Any], published: bool, status: int, message: str
) -> None:
    if published:
        publish_monitor(root)
    result = play_builtin_schedule(root, **changes)
    assert result["statusCode"] == status
    assert message in result["error"]
    assert not (root.path / "schedules/penguins-endpoint-data-quality.json").exists()

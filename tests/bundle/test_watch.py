"""Following an execution: `python -m bundle.watch` and `watch_execution`, with botocore's Stubber.

moto has no ListPipelineExecutionSteps, so every SageMaker answer here is stubbed; the Stubber
checks each request (and each canned answer) against the real SageMaker API model, and the
expected parameters are asserted exactly.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber
from rich.console import Console

from bundle.aws import Aws, connect
from bundle.watch import main, watch_execution
from tests.aws_env import isolate_from_aws

ARN = "arn:aws:sagemaker:us-east-1:111122223333:pipeline/penguins-pytorch-train/execution/abc123"
T0 = datetime.datetime(2026, 1, 1, 6, 0, 0, tzinfo=datetime.UTC)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Aws:
    isolate_from_aws(monkeypatch, tmp_path, "us-east-1")
    monkeypatch.setenv("COLUMNS", "200")
    return connect(None, "us-east-1")


@pytest.fixture
def stub(aws: Aws) -> Iterator[Stubber]:
    with Stubber(aws.sagemaker) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def step(name: str, status: str, minute: int, **extra: Any) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "StepName": name,
        "StepStatus": status,
        "StartTime": T0 + datetime.timedelta(minutes=minute),
    }
    if status in ("Succeeded", "Failed"):
        answer["EndTime"] = T0 + datetime.timedelta(minutes=minute + 1)
    return {**answer, **extra}


def poll(stub: Stubber, status: str, steps: list[dict[str, Any]], **execution: Any) -> None:
    """One round of the watch loop: DescribePipelineExecution, then ListPipelineExecutionSteps."""
    stub.add_response(
        "describe_pipeline_execution",
        {"PipelineExecutionArn": ARN, "PipelineExecutionStatus": status, **execution},
        {"PipelineExecutionArn": ARN},
    )
    stub.add_response(
        "list_pipeline_execution_steps",
        {"PipelineExecutionSteps": steps},
        {"PipelineExecutionArn": ARN, "SortOrder": "Ascending"},
    )


def run_main(aws: Aws, *args: str) -> int:
    return main([ARN, "--poll", "0", *args], connect_aws=lambda region, default: aws)


def test_follows_an_execution_until_it_succeeds(
    aws: Aws, stub: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    poll(stub, "Executing", [step("Preprocess", "Executing", 0)])
    poll(stub, "Executing", [step("Preprocess", "Succeeded", 0), step("Train", "Executing", 2)])
    poll(stub, "Succeeded", [step("Preprocess", "Succeeded", 0), step("Train", "Succeeded", 2)])
    assert run_main(aws) == 0
    out = capsys.readouterr().out
    assert f"execution {ARN}: Succeeded" in out
    lines = [line for line in out.splitlines() if "Preprocess" in line or "Train" in line]
    assert [line.split("│")[1:5] for line in lines[-2:]] == [
        [" Preprocess ", " Succeeded ", " 06:00:00 ", " 06:01:00 "],
        [" Train      ", " Succeeded ", " 06:02:00 ", " 06:03:00 "],
    ]
    assert out.rstrip().endswith("execution Succeeded")
    transitions = [line for line in out.splitlines() if ": " in line and "│" not in line]
    assert transitions == [
        "Preprocess: Executing",
        "Preprocess: Succeeded",
        "Train: Executing",
        "Train: Succeeded",
        f"execution {ARN}: Succeeded",
    ]


def test_prints_each_failed_step_reason(
    aws: Aws, stub: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = [
        step("Preprocess", "Succeeded", 0),
        step("Train", "Failed", 2, FailureReason="ClientError: AlgorithmError: out of memory"),
        step("Tune", "Failed", 2, FailureReason="ClientError: ResourceLimitExceeded"),
    ]
    poll(stub, "Failed", steps, FailureReason="Step failure: One or multiple steps failed.")
    assert run_main(aws) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[-4:] == [
        "step Train failed: ClientError: AlgorithmError: out of memory",
        "step Tune failed: ClientError: ResourceLimitExceeded",
        "execution: Step failure: One or multiple steps failed.",
        "execution Failed",
    ]


def test_a_stopped_execution_exits_1(
    aws: Aws, stub: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    poll(stub, "Stopped", [step("Preprocess", "Stopped", 0)])
    assert run_main(aws) == 1
    assert capsys.readouterr().out.rstrip().endswith("execution Stopped")


def test_reads_every_page_of_steps(aws: Aws, stub: Stubber) -> None:
    stub.add_response(
        "describe_pipeline_execution",
        {"PipelineExecutionStatus": "Succeeded"},
        {"PipelineExecutionArn": ARN},
    )
    stub.add_response(
        "list_pipeline_execution_steps",
        {"PipelineExecutionSteps": [step("Train", "Succeeded", 2)], "NextToken": "page-2"},
        {"PipelineExecutionArn": ARN, "SortOrder": "Ascending"},
    )
    stub.add_response(
        "list_pipeline_execution_steps",
        {"PipelineExecutionSteps": [step("Preprocess", "Failed", 0, FailureReason="boom")]},
        {"PipelineExecutionArn": ARN, "SortOrder": "Ascending", "NextToken": "page-2"},
    )
    outcome = watch_execution(aws, ARN, timeout=None, poll_seconds=0, console=Console())
    assert (outcome.status, outcome.failed_steps) == ("Succeeded", [("Preprocess", "boom")])


def test_stops_at_the_time_limit(
    aws: Aws, stub: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(3):
        poll(stub, "Executing", [step("Train", "Executing", 2)])
    now = iter([0.0, 10.0, 20.0, 30.0])  # the start, then one reading per poll
    sleeps: list[float] = []
    outcome = watch_execution(
        aws,
        ARN,
        timeout=25,
        poll_seconds=7,
        console=Console(),
        clock=lambda: next(now),
        sleep=sleeps.append,
    )
    assert (outcome.timed_out, outcome.status, sleeps) == (True, "Executing", [7, 7])


def test_time_limit_message_from_the_command_line(
    aws: Aws, stub: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    poll(stub, "Executing", [step("Train", "Executing", 2)])
    assert run_main(aws, "--timeout", "0") == 1
    assert capsys.readouterr().out.endswith(
        f"execution {ARN}\n"
        "  still Executing after 0 seconds\n"
        "  why: --timeout ended the watch; the execution keeps running on AWS\n"
        f"  fix: follow it again with `python -m bundle.watch {ARN}`\n"
    )


def test_an_unknown_execution_is_an_error(
    aws: Aws, stub: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    stub.add_client_error(
        "describe_pipeline_execution",
        service_error_code="ResourceNotFound",
        service_message=f"Pipeline execution {ARN} does not exist",
        expected_params={"PipelineExecutionArn": ARN},
    )
    assert run_main(aws) == 2
    assert capsys.readouterr().err == (
        f"error: AWS SageMaker DescribePipelineExecution ({ARN})\n"
        f"  ResourceNotFound: Pipeline execution {ARN} does not exist\n"
        "  why: AWS refused the request\n"
        "  fix: read AWS's message above; correct the cause and run the same command again\n"
    )

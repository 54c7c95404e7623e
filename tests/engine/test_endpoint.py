"""The local endpoint: InvokeEndpoint over real HTTP on 127.0.0.1, data capture, the serve command.

The API contract is checked with boto3's sagemaker-runtime client (what the endpoint tools use)
against a server holding a scripted model; the real models are served by `engine.endpoint
serve` child processes and measured with `python -m endpoint.accuracy`.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from compiler.compile import compile_overrides, write_bundle
from endpoint import accuracy, traffic
from engine import endpoint
from engine.endpoint import Capture, EndpointServer, main
from engine.records import write_json
from engine.serving import Answer
from tests.aws_env import isolate_from_aws, without_aws_credentials
from tests.components.fixtures_models import TrainedModel
from tests.engine.serve_fixtures import (
    BUCKET,
    Root,
    baseline,
    container,
    expected_labels,
    models,
    occupied_port,
    root,
    unlisted_port,
)


def bundle_of(project: str, tmp_path: Path) -> list[str]:
    """`--bundle` of the project's compiled bundle: the endpoint tools read the project there."""
    bundle = compile_overrides([f"project={project}", f"output_dir={tmp_path}/bundle"])
    return ["--bundle", str(write_bundle(bundle))]


__all__ = ["models", "root"]
CAPTURE_URI = f"s3://{BUCKET}/capture"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_from_aws(monkeypatch, tmp_path, "us-east-1")


class ScriptedModel:
    """Answers like a handler: echoes the request, or refuses bodies holding 'bad'."""

    def __init__(self) -> None:
        self.calls: list[tuple[bytes, str | None, str | None, str | None]] = []

    def invoke(
        self, body: bytes, content_type: str | None, accept: str | None, attributes: str | None
    ) -> Answer:
        self.calls.append((body, content_type, accept, attributes))
        if b"bad" in body:
            return Answer(400, b'{"error": "sample 1: bad", "status": 400}', "application/json")
        return Answer(200, b'[{"label": "Adelie"}]', "application/json")


def capture_config(percentage: int) -> dict[str, Any]:
    return {
        "EnableCapture": True,
        "InitialSamplingPercentage": percentage,
        "DestinationS3Uri": CAPTURE_URI,
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"]},
    }


@pytest.fixture
def scripted(root: Root) -> Iterator[Callable[[int], tuple[EndpointServer, Any, ScriptedModel]]]:
    """Factory: capture percentage -> (server in a thread, runtime client, model)."""
    servers: list[tuple[EndpointServer, threading.Thread]] = []

    def start(percentage: int = 100) -> tuple[EndpointServer, Any, ScriptedModel]:
        model = ScriptedModel()
        capture = Capture(root.s3, "local-ep", capture_config(percentage), seed=1)
        server = EndpointServer("local-ep", model, capture, account="111122223333")
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        servers.append((server, thread))
        client = boto3.client(
            "sagemaker-runtime",
            endpoint_url=f"http://127.0.0.1:{server.port}",
            config=Config(retries={"total_max_attempts": 1}),
        )
        return server, client, model

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        assert server.capture is not None
        server.capture.close()
        thread.join()


def captured(root: Root) -> list[tuple[Path, dict[str, Any]]]:
    folder = root.s3.path(CAPTURE_URI)
    files = sorted(folder.rglob("*.jsonl")) if folder.exists() else []
    return [(path, json.loads(line)) for path in files for line in path.read_text().splitlines()]


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "localhost"], ids=str)
def test_the_endpoint_refuses_any_address_but_loopback(host: str) -> None:
    with pytest.raises(ValueError, match=f"binds to 127.0.0.1 only, not {host!r}"):
        EndpointServer("e", ScriptedModel(), None, account="1", host=host)


def test_the_socket_is_bound_to_loopback() -> None:
    server = EndpointServer("e", ScriptedModel(), None, account="1")
    try:
        assert server.socket.getsockname()[0] == "127.0.0.1"
    finally:
        server.server_close()


def test_invoke_endpoint_answers_with_the_variant_and_captures_the_pair(
    scripted: Callable[[int], tuple[EndpointServer, Any, ScriptedModel]], root: Root
) -> None:
    _, client, model = scripted(100)
    response = client.invoke_endpoint(
        EndpointName="local-ep",
        Body=b'{"island": "Dream"}',
        ContentType="application/json",
        Accept="application/json",
        InferenceId="id-0001",
        CustomAttributes="trace=1",
    )
    assert response["Body"].read() == b'[{"label": "Adelie"}]'
    assert response["ContentType"] == "application/json"
    assert response["InvokedProductionVariant"] == "AllTraffic"
    assert model.calls == [
        (b'{"island": "Dream"}', "application/json", "application/json", "trace=1")
    ]
    client.invoke_endpoint(EndpointName="local-ep", Body=b"\x00\x01", ContentType="image/png")
    ((path, first), (_, second)) = captured(root)
    relative = path.relative_to(root.s3.path(CAPTURE_URI)).parts
    assert relative[:2] == ("local-ep", "AllTraffic")
    assert [len(part) for part in relative[2:6]] == [4, 2, 2, 2]  # yyyy/mm/dd/hh
    assert first["captureData"] == {
        "endpointInput": {
            "observedContentType": "application/json",
            "mode": "INPUT",
            "data": '{"island": "Dream"}',
            "encoding": "JSON",
        },
        "endpointOutput": {
            "observedContentType": "application/json",
            "mode": "OUTPUT",
            "data": '[{"label": "Adelie"}]',
            "encoding": "JSON",
        },
    }
    assert first["eventMetadata"]["inferenceId"] == "id-0001"
    assert first["eventVersion"] == "0"
    assert first["eventMetadata"]["inferenceTime"].endswith("Z")
    assert "/".join(relative[2:6]) == first["eventMetadata"]["inferenceTime"][:13].replace(
        "-", "/"
    ).replace("T", "/")
    assert second["captureData"]["endpointInput"]["encoding"] == "BASE64"
    assert base64.b64decode(second["captureData"]["endpointInput"]["data"]) == b"\x00\x01"
    assert "inferenceId" not in second["eventMetadata"]


def test_a_model_error_is_a_424_carrying_the_model_answer(
    scripted: Callable[[int], tuple[EndpointServer, Any, ScriptedModel]], root: Root
) -> None:
    _, client, _ = scripted(100)
    with pytest.raises(ClientError) as caught:
        client.invoke_endpoint(EndpointName="local-ep", Body=b"bad", ContentType="application/json")
    response = caught.value.response
    assert response["Error"]["Code"] == "ModelError"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert response["OriginalStatusCode"] == 400
    assert json.loads(response["OriginalMessage"]) == {"error": "sample 1: bad", "status": 400}
    assert captured(root) == []


def test_an_unknown_endpoint_is_a_validation_error(
    scripted: Callable[[int], tuple[EndpointServer, Any, ScriptedModel]],
) -> None:
    _, client, model = scripted(100)
    with pytest.raises(ClientError) as caught:
        client.invoke_endpoint(EndpointName="other", Body=b"{}", ContentType="application/json")
    assert caught.value.response["Error"] == {
        "Code": "ValidationError",
        "Message": "Endpoint other of account 111122223333 not found.",
    }
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert model.calls == []


@pytest.mark.parametrize(
    ("percentage", "low", "high"),
    [(0, 0, 0), (30, 40, 80), (100, 200, 200)],
    ids=["off", "thirty", "all"],
)
def test_capture_honours_the_sampling_percentage(
    scripted: Callable[[int], tuple[EndpointServer, Any, ScriptedModel]],
    root: Root,
    percentage: int,
    low: int,
    high: int,
) -> None:
    _, client, _ = scripted(percentage)
    for _ in range(200):
        client.invoke_endpoint(EndpointName="local-ep", Body=b"{}", ContentType="application/json")
    assert low <= len(captured(root)) <= high


# --------------------------------------------------------------------------- real models


def record_endpoint(root: Root, trained: TrainedModel, framework: str, name: str) -> None:
    """What the Deploy step records for an endpoint (see test_lambda_local for the step)."""
    model_uri = root.put_model(trained, f"{name}/model.tar.gz")
    write_json(
        endpoint.record_path(root.path, name),
        {
            "EndpointName": name,
            "Account": "111122223333",
            "PrimaryContainer": container(framework, model_uri),
            "DataCaptureConfig": capture_config(100),
            "Port": 0,
        },
    )


Launch = Callable[..., str]


@pytest.fixture
def launched(root: Root) -> Iterator[Launch]:
    """`launched(trained, framework, name, port=0)`: record and serve an endpoint; its URL."""
    names: list[str] = []

    def start(trained: TrainedModel, framework: str, name: str, port: int = 0) -> str:
        record_endpoint(root, trained, framework, name)
        names.append(name)
        return endpoint.launch(root.path, name, port)

    yield start
    for name in names:
        endpoint.stop(root.path, name)


@pytest.mark.parametrize(
    ("project", "framework"),
    [
        ("penguins", "pytorch"),
        ("penguins", "tensorflow"),
        ("digits", "pytorch"),
        ("penguins", "xgboost"),
    ],
    ids=["penguins-pytorch", "penguins-tensorflow", "digits-pytorch", "penguins-xgboost"],
)
def test_endpoint_accuracy_tool_against_the_served_model(
    models: Callable[[str, str], TrainedModel],
    root: Root,
    launched: Launch,
    tmp_path: Path,
    project: str,
    framework: str,
) -> None:
    trained = models(project, framework)
    name = f"{project}-endpoint"
    url = launched(trained, framework, name)
    record = json.loads(endpoint.record_path(root.path, name).read_text())
    assert (record["EndpointStatus"], record["Url"]) == ("InService", url)
    test_set = trained.data_dir / "baseline" / "test.jsonl"
    report = tmp_path / "report.json"
    argv = [*bundle_of(project, tmp_path), "--endpoint-url", url, "--test-set", str(test_set)]
    argv += ["--batch-size", "16", "--rate", "0", "--report", str(report)]
    assert accuracy.main(argv) == 0
    records = baseline(trained)
    truth = [r["ground_truth"] for r in records]
    direct = sum(a == b for a, b in zip(expected_labels(trained), truth, strict=True)) / len(truth)
    assert json.loads(report.read_text())["accuracy"] == pytest.approx(direct, abs=1e-12)
    # Every request was captured, in order, with the answer the tool got.
    events = [event for _, event in captured(root)]
    assert len(events) == -(-len(records) // 16)
    sent = [json.loads(e["captureData"]["endpointInput"]["data"]) for e in events]
    assert [row for batch in sent for row in batch] == [
        {k: v for k, v in r.items() if k != "ground_truth"} for r in records
    ]
    answers = [json.loads(e["captureData"]["endpointOutput"]["data"]) for e in events]
    assert [a["label"] for batch in answers for a in batch] == expected_labels(trained)


def test_traffic_tool_sees_malformed_requests_as_the_runtime_reports_them(
    models: Callable[[str, str], TrainedModel],
    launched: Launch,
    root: Root,
    tmp_path: Path,
) -> None:
    trained = models("penguins", "pytorch")
    url = launched(trained, "pytorch", "penguins-endpoint")
    ids = tmp_path / "ids.jsonl"
    argv = [*bundle_of("penguins", tmp_path), "--endpoint-url", url]
    argv += ["--rate", "200", "--max-requests", "40"]
    argv += ["--test-set", str(trained.data_dir / "baseline" / "test.jsonl"), "--seed", "3"]
    argv += ["--malformed", "0.5", "--ids-out", str(ids)]
    assert traffic.main(argv) == 0
    rows = [json.loads(line) for line in ids.read_text().splitlines()]
    statuses = {row["variant"]: set() for row in rows}
    for row in rows:
        statuses[row["variant"]].add(row["status"])
    assert statuses == {"clean": {"200"}, "malformed": {"424 ModelError (model 400)"}}
    # Only answered requests are captured, each with its inference id.
    captured_ids = [event["eventMetadata"]["inferenceId"] for _, event in captured(root)]
    assert captured_ids == [row["inferenceId"] for row in rows if row["status"] == "200"]


def test_the_tools_reach_the_served_model_with_no_aws_credentials_at_all(
    models: Callable[[str, str], TrainedModel],
    launched: Launch,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The README's local walk-through on a machine where AWS was never configured."""
    trained = models("penguins", "pytorch")
    url = launched(trained, "pytorch", "penguins-endpoint")
    without_aws_credentials(monkeypatch, tmp_path)
    test_set = str(trained.data_dir / "baseline" / "test.jsonl")
    argv = [*bundle_of("penguins", tmp_path), "--endpoint-url", url, "--test-set", test_set]
    assert traffic.main([*argv, "--rate", "200", "--max-requests", "10"]) == 0
    assert accuracy.main([*argv, "--batch-size", "16", "--rate", "0"]) == 0
    out = capsys.readouterr().out
    assert "ok 10, errors 0" in out
    assert re.search(r"endpoint penguins-endpoint: accuracy [01]\.\d{4} on \d+ records", out)


def test_serve_brings_a_deployed_endpoint_back_and_refuses_a_busy_port(
    models: Callable[[str, str], TrainedModel],
    root: Root,
    launched: Launch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    trained = models("penguins", "pytorch")
    port = unlisted_port()  # freed below and taken back: no other process can be given it
    url = launched(trained, "pytorch", "penguins-endpoint", port)
    # The recorded port is held by the running endpoint: a second server cannot have it, and
    # the message names the record that chose the port (no --port was given).
    assert main(["serve", "--root", str(root.path), "penguins-endpoint"]) == 2
    record_file = endpoint.record_path(root.path, "penguins-endpoint")
    assert capsys.readouterr().err == (
        f"error: {record_file} Port = {port} (the port the endpoint had; serve without --port "
        "takes it)\n"
        f"  127.0.0.1:{port} is in use\n"
        "  why: another program (or this endpoint, served by another process) listens on it\n"
        "  fix: stop that program, or pass another --port (0 picks a free one)\n"
    )
    endpoint.stop(root.path, "penguins-endpoint")
    record = json.loads(endpoint.record_path(root.path, "penguins-endpoint").read_text())
    assert (record["EndpointStatus"], record["Pid"]) == ("OutOfService", None)
    # Served again, on the port it had.
    assert endpoint.launch(root.path, "penguins-endpoint", port) == url
    client = boto3.client("sagemaker-runtime", endpoint_url=url)
    sample = {k: v for k, v in baseline(trained)[0].items() if k != "ground_truth"}
    body = client.invoke_endpoint(
        EndpointName="penguins-endpoint", Body=json.dumps(sample), ContentType="application/json"
    )["Body"].read()
    assert json.loads(body)[0]["label"] == expected_labels(trained)[0]


def test_serve_on_a_port_in_use_exits_2(
    root: Root, models: Callable[[str, str], TrainedModel], capsys: pytest.CaptureFixture[str]
) -> None:
    record_endpoint(root, models("penguins", "pytorch"), "pytorch", "busy")
    with occupied_port() as port:
        assert main(["serve", "--root", str(root.path), "busy", "--port", str(port)]) == 2
    assert capsys.readouterr().err.startswith(
        f"error: --port {port}\n  127.0.0.1:{port} is in use\n"
    )


def test_a_recorded_port_in_use_names_the_record_that_chose_it(
    root: Root, models: Callable[[str, str], TrainedModel], capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --port, serve takes the recorded port: the message says so (it said --port)."""
    record_endpoint(root, models("penguins", "pytorch"), "pytorch", "busy")
    path = endpoint.record_path(root.path, "busy")
    with occupied_port() as port:
        write_json(path, {**json.loads(path.read_text()), "Port": port})
        assert main(["serve", "--root", str(root.path), "busy"]) == 2
    assert capsys.readouterr().err.startswith(
        f"error: {path} Port = {port} (the port the endpoint had; serve without --port takes "
        f"it)\n  127.0.0.1:{port} is in use\n"
    )


def test_serve_of_an_unknown_endpoint_exits_2(
    root: Root, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--root", str(root.path), "nope"]) == 2
    assert capsys.readouterr().err == (
        "error: endpoint 'nope'\n"
        f"  no {root.path / 'endpoints' / 'nope.json'}\n"
        f"  why: only endpoints a local Deploy step created can be used: none under {root.path}\n"
        "  fix: run the pipeline (with deployment enabled) first, or pass the right --root and "
        "name\n"
    )


def wait_for(predicate: Callable[[], bool], seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_ctrl_c_stops_serve_and_marks_the_endpoint_out_of_service(
    root: Root, models: Callable[[str, str], TrainedModel]
) -> None:
    record_endpoint(root, models("penguins", "pytorch"), "pytorch", "penguins-endpoint")
    command = [sys.executable, "-m", "engine.endpoint", "serve", "--root", str(root.path)]
    proc = subprocess.Popen(
        [*command, "penguins-endpoint", "--port", "0"], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert re.fullmatch(
        r"endpoint penguins-endpoint serving on http://127\.0\.0\.1:\d+ \(Ctrl-C stops it\)\n",
        first,
    )
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=30)
    assert (proc.returncode, rest) == (0, "endpoint penguins-endpoint stopped\n")
    record = json.loads(endpoint.record_path(root.path, "penguins-endpoint").read_text())
    assert (record["EndpointStatus"], record["Pid"]) == ("OutOfService", None)


def test_an_endpoint_stops_when_the_engine_process_that_started_it_is_killed(
    root: Root, models: Callable[[str, str], TrainedModel], tmp_path: Path
) -> None:
    record_endpoint(root, models("penguins", "pytorch"), "pytorch", "penguins-endpoint")
    engine_process = tmp_path / "engine_process.py"
    engine_process.write_text(
        "import sys, time\nfrom pathlib import Path\nfrom engine import endpoint\n"
        "print(endpoint.launch(Path(sys.argv[1]), 'penguins-endpoint', 0), flush=True)\n"
        "time.sleep(300)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, str(engine_process), str(root.path)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    url = parent.stdout.readline().strip()
    record = json.loads(endpoint.record_path(root.path, "penguins-endpoint").read_text())
    assert (record["EndpointStatus"], record["Url"]) == ("InService", url)
    parent.kill()
    parent.communicate()
    path = endpoint.record_path(root.path, "penguins-endpoint")
    wait_for(lambda: json.loads(path.read_text())["EndpointStatus"] == "OutOfService", 30)
    wait_for(lambda: not endpoint.is_endpoint_process(record["Pid"]), 30)


@pytest.mark.parametrize("port", ["70000", "-1", "http"], ids=str)
def test_serve_refuses_a_port_that_is_not_one(
    root: Root, capsys: pytest.CaptureFixture[str], port: str
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["serve", "--root", str(root.path), "penguins-endpoint", f"--port={port}"])
    assert caught.value.code == 2
    assert capsys.readouterr().err.endswith(
        f"argument --port: must be a port number from 0 to 65535, got {port!r}\n"
    )

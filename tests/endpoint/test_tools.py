"""The endpoint tools against a loopback fake of the SageMaker runtime, and moto for S3.

The runtime client is pointed at the fake with `--endpoint-url`; moto's `mock_aws` only answers
URLs of AWS services it knows, so loopback calls pass through it (the S3 test-set test checks
that). Time is a fake clock wherever a bound or a rate is asserted.
"""

from __future__ import annotations

import atexit
import base64
import functools
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from sklearn.metrics import accuracy_score, precision_recall_fscore_support

from compiler.compile import compile_overrides, write_bundle
from endpoint import accuracy, common, ground_truth, traffic
from endpoint.common import Project
from tests.aws_env import without_aws_credentials
from tests.endpoint.fake_runtime import CLASSES, COLUMNS, NUMERIC, FakeClock, FakeRuntime, predict

REPO = Path(__file__).resolve().parents[2]
BUCKET = "monitoring-bucket"
MODEL_400 = "424 ModelError (model 400)"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def features(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "ground_truth"}


def at(runtime: FakeRuntime) -> list[str]:
    return ["--endpoint-url", runtime.url]


@functools.cache
def bundle_args() -> list[str]:
    """`--bundle` of a compiled penguins bundle, as the tools read the project from one."""
    folder = Path(tempfile.mkdtemp(prefix="endpoint-tools-"))
    atexit.register(shutil.rmtree, folder, True)
    write_bundle(compile_overrides(["project=penguins", f"output_dir={folder}/bundle"]))
    return ["--bundle", str(folder / "bundle")]


@pytest.fixture
def s3() -> Iterator[Any]:
    """A moto S3 with one bucket; the loopback runtime still answers inside it."""
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client
        client.close()


def objects(s3: Any, prefix: str) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed}


# --------------------------------------------------------------------------- all tools


@pytest.mark.parametrize(
    ("tool", "options"),
    [
        (accuracy, ["--test-set", "unused.jsonl"]),
        (traffic, ["--test-set", "unused.jsonl"]),
        (ground_truth, ["--ids", "unused.jsonl", "--ground-truth-uri", "s3://b/gt"]),
    ],
    ids=["accuracy", "traffic", "ground_truth"],
)
def test_a_missing_bundle_exits_2_with_where_what_why_fix(
    tool: Any, options: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "build" / "penguins-tensorflow-train"
    assert tool.main([*options, "--bundle", str(missing)]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"error: {missing}\n  no such bundle folder\n"
        "  why: a bundle is the folder `python -m compiler` writes (pipeline.json, assets.json)\n"
        "  fix: compile first, e.g. `python -m compiler project=digits`, and pass its "
        "build/<pipeline-name> folder\n"
    )
    assert captured.out == ""


@pytest.mark.parametrize("tool", [accuracy, traffic], ids=["accuracy", "traffic"])
def test_without_an_endpoint_name_a_bundle_that_deploys_none_exits_2(
    tool: Any, test_set: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The endpoint comes from --endpoint-name or the bundle, never from a naming guess."""
    bundle = tmp_path / "no-deployment"
    off = ["deployment", "monitoring.data_quality.schedule", "monitoring.model_quality.schedule"]
    overrides = ["project=penguins", *(f"{stage}.enabled=false" for stage in off)]
    write_bundle(compile_overrides([*overrides, f"output_dir={bundle}"]))
    argv = ["--bundle", str(bundle), "--test-set", str(test_set)]
    assert tool.main([*argv, "--endpoint-url", "http://127.0.0.1:9"]) == 2
    assert capsys.readouterr().err == (
        "error: --endpoint-name\n  not given, and the bundle deploys to no endpoint\n"
        "  why: the bundle was compiled with deployment.enabled=false, so its assets.json names "
        "no endpoint to call\n"
        "  fix: pass --endpoint-name NAME, or use a bundle compiled with deployment enabled\n"
    )


@pytest.mark.parametrize("tool", ["accuracy", "traffic", "ground_truth"], ids=str)
def test_each_tool_runs_as_a_module(tool: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", f"endpoint.{tool}", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"usage: python -m endpoint.{tool}" in proc.stdout
    assert "--bundle DIR" in proc.stdout


# --------------------------------------------------------------------------- a new user's machine


def free_port() -> int:
    """A loopback port nobody listens on: connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_tools_call_a_loopback_endpoint_without_any_aws_credentials(
    runtime: FakeRuntime, test_set: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's local walk-through on a machine where AWS was never configured."""
    without_aws_credentials(monkeypatch, tmp_path)
    ids, labels = tmp_path / "ids.jsonl", tmp_path / "ground-truth"
    options = ["--test-set", str(test_set), "--batch-size", "26"]
    assert accuracy.main([*bundle_args(), *at(runtime), *options], clock=FakeClock()) == 0
    options = ["--test-set", str(test_set), "--max-requests", "5", "--ids-out", str(ids)]
    assert traffic.main([*bundle_args(), *at(runtime), *options], clock=FakeClock()) == 0
    options = ["--ids", str(ids), "--ground-truth-uri", str(labels)]
    assert ground_truth.main([*bundle_args(), *options], clock=FakeClock()) == 0
    assert len(runtime.requests) == 2 + 5
    assert [row["status"] for row in read_jsonl(ids)] == ["200"] * 5
    written = [row for path in labels.rglob("*.jsonl") for row in read_jsonl(path)]
    assert len(written) == 5


def test_the_tools_need_no_boto3() -> None:
    """`make run` installs botocore (a core dependency) but not boto3."""
    code = (
        "import sys\nsys.modules['boto3'] = None  # any `import boto3` now fails\n"
        "from endpoint import accuracy, common, ground_truth, traffic\nprint('imported')"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert (proc.returncode, proc.stdout) == (0, "imported\n"), proc.stderr


def counting_invokes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each request traffic sends (by inference id), still sending it."""
    calls: list[str] = []

    def counted(client: Any, name: str, payload: Any, inference_id: str | None = None) -> Any:
        calls.append(str(inference_id))
        return common.invoke(client, name, payload, inference_id)

    monkeypatch.setattr(traffic, "invoke", counted)
    return calls


def test_traffic_stops_at_once_when_the_connection_is_refused(
    test_set: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = counting_invokes(monkeypatch)
    url = f"http://127.0.0.1:{free_port()}"
    options = ["--endpoint-url", url, "--test-set", str(test_set), "--max-requests", "50"]
    assert traffic.main([*bundle_args(), *options], clock=FakeClock()) == 1
    assert calls == ["traffic-0-000000"]
    captured = capsys.readouterr()
    assert captured.err == (
        f"error: endpoint penguins-endpoint at {url}\n"
        "  request 1 failed: EndpointConnectionError\n"
        f'  why: Could not connect to the endpoint URL: "{url}/endpoints/penguins-endpoint/'
        'invocations"; every further request would fail the same way, so no more were sent\n'
        "  fix: start the local endpoint (`python -m engine.endpoint serve penguins-endpoint`, "
        "or run the pipeline with the engine) and pass its URL as --endpoint-url\n"
    )
    assert captured.out == ""


def test_traffic_stops_at_once_without_credentials_for_an_aws_endpoint(
    test_set: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No --endpoint-url: the real runtime API, which needs credentials (none are configured;
    botocore fails before it connects)."""
    without_aws_credentials(monkeypatch, tmp_path)
    calls = counting_invokes(monkeypatch)
    options = ["--test-set", str(test_set), "--max-requests", "50"]
    assert traffic.main([*bundle_args(), *options], clock=FakeClock()) == 1
    assert calls == ["traffic-0-000000"]
    assert capsys.readouterr().err == (
        "error: endpoint penguins-endpoint at the AWS SageMaker runtime\n"
        "  request 1 failed: NoCredentialsError\n"
        "  why: Unable to locate credentials; every further request would fail the same way, "
        "so no more were sent\n"
        "  fix: configure AWS credentials (`aws configure`, AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY), or pass --endpoint-url http://127.0.0.1:<port> for the engine's "
        "local endpoint, which needs none\n"
    )


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8080", True),
        ("http://127.3.2.1", True),
        ("http://localhost:1", True),
        ("http://[::1]:80", True),
        ("https://runtime.sagemaker.us-east-1.amazonaws.com", False),
        ("http://10.0.0.1:8080", False),
        (None, False),
    ],
)
def test_is_loopback(url: str | None, loopback: bool) -> None:
    assert common.is_loopback(url) is loopback


# --------------------------------------------------------------------------- accuracy


@pytest.mark.parametrize("batch_size", [1, 16, 100], ids=["batch-1", "batch-16", "batch-100"])
def test_accuracy_figures_equal_a_direct_computation(
    runtime: FakeRuntime,
    test_set: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    batch_size: int,
) -> None:
    report_path = tmp_path / "report.json"
    options = ["--test-set", str(test_set), "--batch-size", str(batch_size)]
    status = accuracy.main(
        [*bundle_args(), *at(runtime), *options, "--report", str(report_path)], clock=FakeClock()
    )
    assert status == 0
    records = read_jsonl(test_set)
    assert len(records) == 52
    sizes = [len(seen.body) for seen in runtime.requests]
    assert sizes == [min(batch_size, 52 - start) for start in range(0, 52, batch_size)]
    assert {(s.endpoint, s.content_type, s.accept, s.inference_id) for s in runtime.requests} == {
        ("penguins-endpoint", "application/json", "application/json", None)
    }
    assert [sample for seen in runtime.requests for sample in seen.body] == [
        features(r) for r in records
    ]

    truth = [r["ground_truth"] for r in records]
    predicted = [predict(r) for r in records]
    report = json.loads(report_path.read_text())
    assert report["accuracy"] == pytest.approx(accuracy_score(truth, predicted))
    assert 0.5 < report["accuracy"] < 1.0  # the fake model errs a little: a real comparison
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=CLASSES, zero_division=0
    )
    for index, name in enumerate(CLASSES):
        row = report["per_class"][name]
        assert row["precision"] == pytest.approx(precision[index])
        assert row["recall"] == pytest.approx(recall[index])
        assert row["f1"] == pytest.approx(f1[index])
        assert row["support"] == support[index]
    for average in ("macro", "weighted"):
        expected = precision_recall_fscore_support(
            truth, predicted, labels=CLASSES, average=average, zero_division=0
        )
        got = report[average]
        assert [got["precision"], got["recall"], got["f1"]] == pytest.approx(list(expected[:3]))
    out = capsys.readouterr().out
    assert f"accuracy {report['accuracy']:.4f} on 52 records in {len(sizes)} requests\n" in out
    for index, name in enumerate(CLASSES):
        assert re.search(rf"{name}\s+│ {precision[index]:.4f}\s+│ {recall[index]:.4f}", out)


def test_accuracy_scores_a_class_never_predicted_as_zero() -> None:
    result = accuracy.score(["a", "b", "b", "c"], ["a", "a", "b", "a"], ["a", "b", "c"])
    assert result["accuracy"] == 0.5
    assert result["per_class"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert result["per_class"]["a"]["precision"] == pytest.approx(1 / 3)


def test_accuracy_stops_at_max_records(runtime: FakeRuntime, test_set: Path) -> None:
    options = ["--test-set", str(test_set), "--batch-size", "4", "--max-records", "10"]
    assert accuracy.main([*bundle_args(), *at(runtime), *options], clock=FakeClock()) == 0
    assert [len(seen.body) for seen in runtime.requests] == [4, 4, 2]


def test_accuracy_stops_at_max_seconds_and_says_so(
    runtime: FakeRuntime, test_set: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FakeClock()
    options = ["--test-set", str(test_set), "--batch-size", "4", "--rate", "2"]
    assert (
        accuracy.main([*bundle_args(), *at(runtime), *options, "--max-seconds", "2"], clock=clock)
        == 0
    )
    assert len(runtime.requests) == 4  # due at 0, 0.5, 1.0, 1.5 s
    assert clock.sleeps == pytest.approx([0.5, 0.5, 0.5])
    assert "on 16 records in 4 requests (stopped early: --max-seconds 2)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("fault", "what"),
    [
        ("server-error", "the endpoint answered 500 InternalFailure\n  why: An internal error"),
        ("not-json", "the answer is not JSON\n  why: it starts '<html>gateway</html>'"),
        ("wrong-length", "the answer has the wrong length\n  why: sent 16 records, got a JSON 15"),
        ("unknown-label", "a prediction has no known label\n  why: prediction 0 is {"),
    ],
    ids=["server-error", "not-json", "wrong-length", "unknown-label"],
)
def test_accuracy_stops_at_a_bad_answer_with_a_clear_error(
    runtime: FakeRuntime,
    test_set: Path,
    capsys: pytest.CaptureFixture[str],
    fault: str,
    what: str,
) -> None:
    runtime.fault = fault
    options = ["--test-set", str(test_set), "--batch-size", "16"]
    assert accuracy.main([*bundle_args(), *at(runtime), *options], clock=FakeClock()) == 1
    assert len(runtime.requests) == 1
    captured = capsys.readouterr()
    head = "error: endpoint penguins-endpoint, request 1 (records 1-16 of the test set)\n  "
    assert captured.err.startswith(head + what)
    assert captured.err.endswith(  # a loopback endpoint logs locally, not to CloudWatch
        "  fix: check the local endpoint's log (build/engine/endpoints/penguins-endpoint.log, "
        "under the engine's --root) and that it serves this project's model\n"
    )
    assert "Traceback" not in captured.err
    assert captured.out == ""


def test_accuracy_reports_the_models_refusal(
    runtime: FakeRuntime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "test.jsonl"
    path.write_text(json.dumps({"colour": "blue", "ground_truth": "Adelie"}) + "\n")
    assert (
        accuracy.main([*bundle_args(), *at(runtime), "--test-set", str(path)], clock=FakeClock())
        == 1
    )
    err = capsys.readouterr().err
    assert f"the endpoint answered {MODEL_400}" in err
    assert "none of the feature columns is present" in err


def test_accuracy_reports_an_unreachable_endpoint(
    test_set: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = ["--endpoint-url", f"http://127.0.0.1:{port}", "--test-set", str(test_set)]
    assert accuracy.main([*bundle_args(), *options, "--timeout", "2"], clock=FakeClock()) == 1
    err = capsys.readouterr().err
    assert "the endpoint answered EndpointConnectionError" in err
    assert err.endswith(
        "  fix: start the local endpoint (`python -m engine.endpoint serve penguins-endpoint`, "
        "or run the pipeline with the engine) and pass its URL as --endpoint-url\n"
    )


def test_accuracy_refuses_a_test_set_of_another_project(
    runtime: FakeRuntime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "test.jsonl"
    path.write_text('{"pixels": [0, 1], "ground_truth": "7"}\n')
    assert (
        accuracy.main([*bundle_args(), *at(runtime), "--test-set", str(path)], clock=FakeClock())
        == 1
    )
    assert capsys.readouterr().err == (
        f"error: {path}:1\n  ground_truth = '7'\n"
        "  why: the penguins project's classes are Adelie, Chinstrap, Gentoo\n"
        "  fix: pass the preprocess step's baseline/test.jsonl of this project "
        "(or pass the bundle of that project)\n"
    )
    assert runtime.requests == []


def test_accuracy_reads_the_test_set_from_s3_while_moto_is_on(
    runtime: FakeRuntime, test_set: Path, s3: Any
) -> None:
    s3.put_object(Bucket=BUCKET, Key="baseline/test.jsonl", Body=test_set.read_bytes())
    options = ["--test-set", f"s3://{BUCKET}/baseline/test.jsonl", "--batch-size", "26"]
    assert accuracy.main([*bundle_args(), *at(runtime), *options], clock=FakeClock()) == 0
    assert [len(seen.body) for seen in runtime.requests] == [26, 26]  # moto let them through


# --------------------------------------------------------------------------- traffic


def test_traffic_sends_one_record_a_request_with_paced_deterministic_ids(
    runtime: FakeRuntime, test_set: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FakeClock()
    sent_at: list[float] = []
    runtime.on_request = lambda: sent_at.append(clock.now())
    ids_out = tmp_path / "ids.jsonl"
    options = ["--test-set", str(test_set), "--rate", "4", "--max-requests", "7", "--seed", "3"]
    assert (
        traffic.main(
            [*bundle_args(), *at(runtime), *options, "--ids-out", str(ids_out)], clock=clock
        )
        == 0
    )

    expected_ids = [f"traffic-3-{index:06d}" for index in range(7)]
    assert [seen.inference_id for seen in runtime.requests] == expected_ids
    assert sent_at == pytest.approx([index / 4 for index in range(7)])
    truths: dict[str, set[str]] = {}
    for record in read_jsonl(test_set):
        truths.setdefault(json.dumps(features(record), sort_keys=True), set()).add(
            record["ground_truth"]
        )
    rows = read_jsonl(ids_out)
    assert [row["inferenceId"] for row in rows] == expected_ids
    for row, seen in zip(rows, runtime.requests, strict=True):
        assert isinstance(seen.body, dict)
        assert sorted(seen.body) == sorted(COLUMNS)
        assert row["ground_truth"] in truths[json.dumps(seen.body, sort_keys=True)]
        assert row == {
            "inferenceId": seen.inference_id,
            "ground_truth": row["ground_truth"],
            "variant": "clean",
            "status": "200",
            "prediction": predict(seen.body),
        }
    out = capsys.readouterr().out
    assert "sent 7 in 1.5 s (stopped by --max-requests 7)\nok 7, errors 0\n" in out


def test_traffic_stops_at_max_seconds(
    runtime: FakeRuntime, test_set: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    options = ["--test-set", str(test_set), "--rate", "10", "--max-seconds", "2"]
    assert (
        traffic.main(
            [*bundle_args(), *at(runtime), *options, "--max-requests", "1000"], clock=FakeClock()
        )
        == 0
    )
    assert len(runtime.requests) == 20
    assert "(stopped by --max-seconds 2)" in capsys.readouterr().out


def test_traffic_stops_at_max_seconds_when_answers_are_slow(
    runtime: FakeRuntime, test_set: Path
) -> None:
    clock = FakeClock()
    runtime.on_request = lambda: clock.advance(0.5)  # each answer takes half a second
    options = ["--test-set", str(test_set), "--rate", "100", "--max-seconds", "2"]
    assert traffic.main([*bundle_args(), *at(runtime), *options], clock=clock) == 0
    assert len(runtime.requests) == 4
    assert clock.sleeps == []  # always behind schedule: never waits


def test_traffic_paces_in_real_time(runtime: FakeRuntime, test_set: Path) -> None:
    options = ["--test-set", str(test_set), "--rate", "50", "--max-requests", "6"]
    start = time.monotonic()
    assert traffic.main([*bundle_args(), *at(runtime), *options]) == 0
    assert len(runtime.requests) == 6
    assert 0.1 <= time.monotonic() - start < 10  # five gaps of 20 ms at least


def test_traffic_is_reproducible(runtime: FakeRuntime, test_set: Path, tmp_path: Path) -> None:
    def run(seed: int, name: str) -> tuple[list[Any], str]:
        runtime.requests.clear()
        ids_out = tmp_path / name
        options = ["--test-set", str(test_set), "--max-requests", "25", "--seed", str(seed)]
        options += ["--perturb", "0.2", "--malformed", "0.2", "--ids-out", str(ids_out)]
        traffic.main([*bundle_args(), *at(runtime), *options], clock=FakeClock())
        return [(s.inference_id, s.body) for s in runtime.requests], ids_out.read_text()

    first, again, other = run(7, "a.jsonl"), run(7, "b.jsonl"), run(8, "c.jsonl")
    assert first == again
    assert [body for _, body in first[0]] != [body for _, body in other[0]]
    assert len({inference_id for inference_id, _ in first[0]}) == 25


def test_traffic_perturbs_and_malforms_requests(
    runtime: FakeRuntime, test_set: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids_out = tmp_path / "ids.jsonl"
    options = ["--test-set", str(test_set), "--max-requests", "60", "--seed", "1"]
    options += ["--perturb", "0.25", "--malformed", "0.25", "--ids-out", str(ids_out)]
    assert (
        traffic.main([*bundle_args(), *at(runtime), *options], clock=FakeClock()) == 0
    )  # refusals expected
    rows = read_jsonl(ids_out)
    variants = Counter(row["variant"] for row in rows)
    assert set(variants) == {"clean", "perturbed", "malformed"}
    for row, seen in zip(rows, runtime.requests, strict=True):
        if row["variant"] == "malformed":
            assert (row["status"], row["prediction"]) == (MODEL_400, None)
            continue
        assert row["status"] == "200"
        assert row["prediction"] == predict(seen.body)
        values = [seen.body[c] for c in NUMERIC if seen.body[c] is not None]
        if row["variant"] == "perturbed":
            assert min(values) >= 1000  # value * 10 + 1000, far outside the training range
        else:
            assert max(values) < 10_000
    ok = variants["clean"] + variants["perturbed"]
    out = capsys.readouterr().out
    assert f"ok {ok}, errors {variants['malformed']}\n" in out
    assert f"by status: 200: {ok}, {MODEL_400}: {variants['malformed']}\n" in out


def test_traffic_fails_when_well_formed_requests_fail(
    runtime: FakeRuntime, test_set: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime.fault = "server-error"
    options = ["--test-set", str(test_set), "--max-requests", "5"]
    assert traffic.main([*bundle_args(), *at(runtime), *options], clock=FakeClock()) == 1
    assert "by status: 500 InternalFailure: 5\n" in capsys.readouterr().out


def test_traffic_alters_images_within_what_the_endpoint_accepts() -> None:
    digits = Project("digits", tuple("0123456789"), "image", (), "us-east-1", None)
    assert traffic.perturb_features({"pixels": [0, 10, 255]}, digits) == {"pixels": [255, 245, 0]}
    rng = random.Random(0)
    shapes = {json.dumps(traffic.malform({"pixels": [1, 2]}, digits, rng)) for _ in range(20)}
    assert shapes == {'{"x_pixels": [1, 2]}', '{"pixels": "not a list of pixels"}'}


@pytest.mark.parametrize(
    "options",
    [["--perturb", "1.5"], ["--perturb", "0.7", "--malformed", "0.5"], ["--rate", "0"]],
    ids=["perturb-above-1", "fractions-above-1", "zero-rate"],
)
def test_traffic_refuses_bad_options(options: list[str], test_set: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        traffic.main([*bundle_args(), "--test-set", str(test_set), *options], clock=FakeClock())
    assert exited.value.code == 2


# --------------------------------------------------------------------------- ground truth

HOUR_KEY = re.compile(r"gt/2024/05/01/13/groundtruth-[0-9a-f]{16}\.jsonl")


def capture_record(inference_id: str | None, label: str, number: int) -> dict[str, Any]:
    """A data-capture record as SageMaker writes it, alternating JSON and BASE64 encodings."""
    answer = json.dumps([{"prediction": CLASSES.index(label), "label": label, "confidence": 0.8}])
    encoded = number % 2 == 1
    data = base64.b64encode(answer.encode()).decode() if encoded else answer
    metadata = {"eventId": f"event-{number}", "inferenceTime": "2024-05-01T13:05:00Z"}
    if inference_id is not None:
        metadata["inferenceId"] = inference_id
    return {
        "captureData": {
            "endpointInput": {"observedContentType": "application/json", "mode": "INPUT",
                              "data": "{}", "encoding": "JSON"},
            "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT",
                               "data": data, "encoding": "BASE64" if encoded else "JSON"},
        },
        "eventMetadata": metadata,
        "eventVersion": "0",
    }  # fmt: skip


def write_capture(s3: Any, files: int = 2, per_file: int = 20) -> dict[str, str]:
    """Capture files under capture/; every tenth record lacks an inference id. Returns id->label."""
    predictions = {}
    for file in range(files):
        lines = []
        for row in range(per_file):
            number = file * per_file + row
            inference_id = None if number % 10 == 9 else f"captured-{number:03d}"
            label = CLASSES[number % 3]
            if inference_id:
                predictions[inference_id] = label
            lines.append(json.dumps(capture_record(inference_id, label, number)))
        key = f"capture/penguins-endpoint/AllTraffic/2024/05/01/13/{file:02d}-capture.jsonl"
        s3.put_object(Bucket=BUCKET, Key=key, Body="\n".join(lines) + "\n")
    return predictions


def labels_written(s3: Any, prefix: str = "gt/") -> dict[str, str]:
    (body,) = objects(s3, prefix).values()
    return {
        line["eventMetadata"]["eventId"]: line["groundTruthData"]["data"]
        for line in map(json.loads, body.decode().splitlines())
    }


GT = ["--ground-truth-uri", f"s3://{BUCKET}/gt", "--hour", "2024-05-01T13:45:10Z"]
CAPTURE = ["--capture-uri", f"s3://{BUCKET}/capture/"]


def test_ground_truth_from_traffic_ids(
    runtime: FakeRuntime,
    test_set: Path,
    tmp_path: Path,
    s3: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ids_out = tmp_path / "ids.jsonl"
    options = ["--test-set", str(test_set), "--max-requests", "30", "--seed", "5"]
    options += ["--malformed", "0.3", "--ids-out", str(ids_out)]
    assert traffic.main([*bundle_args(), *at(runtime), *options], clock=FakeClock()) == 0
    assert ground_truth.main([*bundle_args(), "--ids", str(ids_out), *GT]) == 0

    files = objects(s3, "gt/")
    assert len(files) == 1
    ((key, body),) = files.items()
    assert HOUR_KEY.fullmatch(key)
    answered = [row for row in read_jsonl(ids_out) if row["status"] == "200"]
    failed = 30 - len(answered)
    assert 0 < failed < 30
    assert [json.loads(line) for line in body.decode().splitlines()] == [
        {
            "groundTruthData": {"data": row["ground_truth"], "encoding": "CSV"},
            "eventMetadata": {"eventId": row["inferenceId"]},
            "eventVersion": "0",
        }
        for row in answered
    ]
    out = capsys.readouterr().out
    assert f"wrote {len(answered)} ground-truth records to s3://{BUCKET}/{key}\n" in out
    assert f"true labels {len(answered)}, fake labels 0; skipped: {failed} failed requests" in out


@pytest.mark.parametrize(
    ("chance", "matches"),
    [("1.0", "all"), ("0.0", "none"), ("0.6", "some")],
    ids=["always-right", "always-wrong", "mostly-right"],
)
def test_ground_truth_fakes_labels_from_captured_predictions(
    s3: Any, chance: str, matches: str
) -> None:
    predictions = write_capture(s3)
    assert (
        ground_truth.main([*bundle_args(), *CAPTURE, *GT, "--accuracy", chance, "--seed", "2"]) == 0
    )
    labels = labels_written(s3)
    assert list(labels) == sorted(predictions)  # capture order, ids only, each once
    assert set(labels.values()) <= set(CLASSES)
    right = sum(labels[i] == predictions[i] for i in labels)
    expected = {"all": right == len(labels), "none": right == 0, "some": 0 < right < len(labels)}
    assert expected[matches], right


def test_ground_truth_is_byte_identical_for_the_same_inputs_and_seed(s3: Any) -> None:
    write_capture(s3)
    runs = {}
    for name, seed in (("gt-a", "4"), ("gt-b", "4"), ("gt-c", "5")):
        options = ["--ground-truth-uri", f"s3://{BUCKET}/{name}", "--hour", "2024-05-01T13:00"]
        assert ground_truth.main([*bundle_args(), *CAPTURE, *options, "--seed", seed]) == 0
        ((key, body),) = objects(s3, f"{name}/").items()
        runs[name] = (key.removeprefix(name), body)
    assert runs["gt-a"] == runs["gt-b"]
    assert runs["gt-a"][1] != runs["gt-c"][1]


def test_ground_truth_prefers_known_classes_to_fake_ones(s3: Any, tmp_path: Path) -> None:
    predictions = write_capture(s3, files=1, per_file=6)
    ids = tmp_path / "ids.jsonl"
    rows = [
        {"inferenceId": "captured-001", "ground_truth": "Gentoo", "status": "200"},
        {"inferenceId": "sent-only", "ground_truth": "Adelie", "status": "200"},
        {"inferenceId": "refused", "ground_truth": "Adelie", "status": MODEL_400},
    ]
    ids.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert (
        ground_truth.main([*bundle_args(), "--ids", str(ids), *CAPTURE, *GT, "--accuracy", "1"])
        == 0
    )
    expected = {"captured-001": "Gentoo", "sent-only": "Adelie"}
    expected |= {i: label for i, label in predictions.items() if i != "captured-001"}
    assert labels_written(s3) == expected
    assert list(labels_written(s3))[:2] == ["captured-001", "sent-only"]


def test_ground_truth_partitions_by_the_current_utc_hour_by_default(s3: Any) -> None:
    write_capture(s3, files=1, per_file=3)
    eastern = timezone(timedelta(hours=-5))
    now = datetime(2024, 12, 31, 23, 59, 59, tzinfo=eastern)
    options = ["--ground-truth-uri", f"s3://{BUCKET}/gt/"]
    assert ground_truth.main([*bundle_args(), *CAPTURE, *options], now=lambda: now) == 0
    (key,) = objects(s3, "gt/")
    assert key.startswith("gt/2025/01/01/04/groundtruth-")


@pytest.mark.parametrize(
    ("text", "hour"),
    [
        ("2024-05-01T13:45:10Z", datetime(2024, 5, 1, 13, tzinfo=UTC)),
        ("2024-05-01T15:30:00+02:00", datetime(2024, 5, 1, 13, tzinfo=UTC)),
        ("2024-05-01T13:59:59.999", datetime(2024, 5, 1, 13, tzinfo=UTC)),
    ],
    ids=["utc", "offset", "naive-is-utc"],
)
def test_partition_hour(text: str, hour: datetime) -> None:
    assert ground_truth.partition_hour(datetime.fromisoformat(text)) == hour


def test_ground_truth_stops_at_max_records(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    write_capture(s3)
    assert ground_truth.main([*bundle_args(), *CAPTURE, *GT, "--max-records", "5"]) == 0
    assert list(labels_written(s3)) == [f"captured-{n:03d}" for n in range(5)]
    assert "; stopped at --max-records 5\n" in capsys.readouterr().out


def test_ground_truth_stops_reading_capture_at_max_seconds(
    s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    class Ticking(FakeClock):
        def now(self) -> float:
            self.time += 1.0  # every look at the clock costs a second
            return self.time

    write_capture(s3)
    assert (
        ground_truth.main([*bundle_args(), *CAPTURE, *GT, "--max-seconds", "1.5"], clock=Ticking())
        == 0
    )
    assert len(labels_written(s3)) == 18  # the first file's ids only
    assert "; stopped reading capture after 1.5 s\n" in capsys.readouterr().out


def test_ground_truth_with_nothing_to_label_exits_1(
    s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    record = capture_record(None, "Adelie", 0)
    s3.put_object(Bucket=BUCKET, Key="capture/a.jsonl", Body=json.dumps(record) + "\n")
    assert ground_truth.main([*bundle_args(), *CAPTURE, *GT]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: s3://{BUCKET}/capture/\n  no ground truth to write\n")
    assert "1 captures without an inference id" in err
    assert objects(s3, "gt/") == {}


def test_ground_truth_needs_ids_or_capture() -> None:
    with pytest.raises(SystemExit) as exited:
        ground_truth.main(GT)
    assert exited.value.code == 2


def test_a_closed_pipe_stops_a_tool_quietly() -> None:
    """`python -m endpoint.traffic ... | head -1`: the tool stops, without a traceback."""
    body = "lambda: [print('x' * 100) for _ in range(100_000)] and 0"
    code = f"import sys\nfrom endpoint.common import run_tool\nsys.exit(run_tool({body}))"
    read, write = os.pipe()
    with subprocess.Popen(
        [sys.executable, "-c", code], stdout=write, stderr=subprocess.PIPE, cwd=REPO
    ) as process:
        os.close(write)
        assert os.read(read, 10) == b"x" * 10
        os.close(read)  # as `head` does once it has its lines
        _, error = process.communicate(timeout=60)
    assert process.returncode == 1
    assert error.decode() == ""

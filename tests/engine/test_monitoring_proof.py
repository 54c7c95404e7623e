"""Issue 9's proof, on the local engine: monitoring is right for every project, on both backends.

For each shipped project (penguins, digits, cancer) and monitoring backend, the whole pipeline
runs (it trains, registers, deploys on 127.0.0.1 and makes its schedules); then, as an ML
engineer would: clean traffic (`endpoint.traffic`), ground truth (`endpoint.ground_truth`), each
monitoring schedule run now (`engine.schedule run`), then perturbed traffic and the data-quality
schedule again. Clean traffic gives no data-quality violation; perturbed traffic gives
violations naming perturbed features only; the model-quality job's accuracy equals the one
computed here from the captured predictions and the ground truth (whether 60 requests score
below the baseline's figures, a model-quality violation, is left to chance).

Model Monitor's schedules run the analyzer as its container would; the builtin backend's start
their monitoring pipeline, which fails when there are violations.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from endpoint import ground_truth, traffic
from engine import endpoint
from engine.schedule import main as schedule_main
from tests.aws_env import isolate_from_aws
from tests.engine.conftest import FullRun, serve_again

pytestmark = pytest.mark.integration
PROJECTS = ("penguins", "digits", "cancer")
BACKENDS = ("model_monitor", "builtin")
# PyTorch serves every project; XGBoost (another serving container) the binary one.
CASES = [(p, "pytorch", b) for p in PROJECTS for b in BACKENDS] + [
    ("cancer", "xgboost", b) for b in BACKENDS
]


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_from_aws(monkeypatch, tmp_path, "us-east-1")  # the endpoint tools' boto3 clients


@dataclass
class Deployed:
    """A project's pipeline run to the end: its bundle, engine root, endpoint and facts."""

    bundle: Path
    root: Path
    backend: str
    project: dict[str, Any]  # assets.json's project section
    url: str
    test_set: Path  # the preprocess step's baseline/test.jsonl in the engine's S3
    work: Path

    @property
    def endpoint_name(self) -> str:
        return str(self.project["endpoint_name"])

    def s3_path(self, uri: str) -> Path:
        return self.root / "s3" / uri.removeprefix("s3://")


@pytest.fixture
def deployed(
    request: pytest.FixtureRequest, full_run: FullRun, tmp_path: Path
) -> Iterator[Deployed]:
    project, framework, backend = request.param
    run = full_run(f"project={project}", f"framework={framework}", f"monitoring.backend={backend}")
    root = run.copy_root(tmp_path / "root")
    try:
        assert run.first.code == 0, run.first.out[-3000:]
        facts = json.loads((run.bundle / "assets.json").read_text())["project"]
        url = serve_again(root)[facts["endpoint_name"]]
        preprocess = run.first.records["Preprocess"]["Properties"]["ProcessingOutputConfig"]
        baseline = preprocess["Outputs"]["baseline"]["S3Output"]["S3Uri"].removeprefix("s3://")
        test_set = root / "s3" / baseline / "test.jsonl"
        yield Deployed(run.bundle, root, backend, facts, url, test_set, tmp_path)
    finally:
        endpoint.stop_all(root)


def send(deployed: Deployed, perturb: float, ids: Path, seed: int) -> None:
    argv = ["--bundle", str(deployed.bundle), "--endpoint-url", deployed.url]
    argv += ["--test-set", str(deployed.test_set), "--rate", "200", "--max-requests", "60"]
    argv += ["--perturb", str(perturb), "--seed", str(seed), "--ids-out", str(ids)]
    argv += ["--id-prefix", f"p{int(perturb * 100)}"]
    assert traffic.main(argv) == 0


def run_schedule(
    deployed: Deployed, kind: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    capsys.readouterr()
    name = f"{deployed.endpoint_name}-{kind.replace('_', '-')}"
    with contextlib.chdir(deployed.root.parent):  # a relative --root, as its default is
        code = schedule_main(["--root", deployed.root.name, "run", name])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def latest_report(deployed: Deployed, kind: str) -> Path:
    """The folder of the newest report of this kind, wherever the backend puts it."""
    reports = sorted(
        (p.parent for p in (deployed.root / "s3").rglob("statistics.json")),
        key=lambda p: p.stat().st_mtime,
    )
    tag = kind.replace("_", "-")
    mine = [p for p in reports if f"/monitoring/{tag}/" in p.as_posix()]
    assert mine, f"no {kind} report under {deployed.root / 's3'}"
    return mine[-1]


def violated(report: Path) -> set[str]:
    path = report / "constraint_violations.json"
    if not path.is_file():
        return set()
    violations = json.loads(path.read_text()).get("violations", [])
    return {str(v.get("feature_name") or v.get("metric_name")) for v in violations}


def captured_accuracy(deployed: Deployed) -> tuple[float, int]:
    """Accuracy of the captured predictions against the ground truth written for them."""
    capture = deployed.s3_path(str(deployed.project["data_capture_uri"])) / deployed.endpoint_name
    predictions = {}
    for path in capture.rglob("*.jsonl"):
        for line in path.read_text().splitlines():
            event = json.loads(line)
            answer = json.loads(event["captureData"]["endpointOutput"]["data"])
            inference_id = event["eventMetadata"].get("inferenceId")
            if inference_id:
                predictions[inference_id] = answer[0]["label"]
    truth = {}
    for path in deployed.s3_path(str(deployed.project["ground_truth_uri"])).rglob("*.jsonl"):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            truth[record["eventMetadata"]["eventId"]] = record["groundTruthData"]["data"]
    joined = [(predictions[i], truth[i]) for i in truth if i in predictions]
    assert joined
    return sum(p == t for p, t in joined) / len(joined), len(joined)


def perturbed_features(deployed: Deployed) -> set[str]:
    """What `endpoint.traffic --perturb` moves: numeric features, or every pixel of an image."""
    if deployed.project["kind"] == "image":
        sample = json.loads(deployed.test_set.read_text().splitlines()[0])
        return {f"p{i}" for i in range(len(sample["pixels"]))}
    return set(deployed.project["numeric"])


@pytest.mark.parametrize("deployed", CASES, ids=["-".join(c) for c in CASES], indirect=True)
def test_monitoring_finds_what_was_perturbed_and_measures_accuracy(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = deployed.work / "ids.jsonl"
    send(deployed, 0.0, ids, seed=1)
    code, out = run_schedule(deployed, "data_quality", capsys)
    assert code == 0, out
    assert violated(latest_report(deployed, "data_quality")) == set(), out

    truth_uri = str(deployed.s3_path(str(deployed.project["ground_truth_uri"])))
    argv = ["--bundle", str(deployed.bundle), "--ids", str(ids), "--ground-truth-uri", truth_uri]
    assert ground_truth.main(argv) == 0
    code, out = run_schedule(deployed, "model_quality", capsys)
    # Model quality's constraints are the baseline's own figures, so 60 requests may score a
    # little below them: a violation then is a finding (builtin: the pipeline fails), not a crash.
    assert code == 0 or (deployed.backend == "builtin" and "violations of the baseline" in out), out
    statistics = json.loads(
        (latest_report(deployed, "model_quality") / "statistics.json").read_text()
    )
    accuracy, count = captured_accuracy(deployed)
    binary = len(deployed.project["classes"]) == 2  # cancer: BinaryClassification
    metrics = statistics[f"{'binary' if binary else 'multiclass'}_classification_metrics"]
    assert metrics["accuracy"]["value"] == pytest.approx(accuracy), (count, metrics["accuracy"])

    send(deployed, 1.0, deployed.work / "perturbed-ids.jsonl", seed=2)
    code, out = run_schedule(deployed, "data_quality", capsys)
    names = violated(latest_report(deployed, "data_quality"))
    assert names and names <= perturbed_features(deployed), (names, out)
    if deployed.backend == "builtin":  # the monitoring pipeline fails, naming them
        assert code == 1, out
        assert "violations of the baseline:" in out
        assert all(name in out for name in names)
    else:  # Model Monitor's execution completes with violations
        assert code == 0, out
        assert "CompletedWithViolations" in out

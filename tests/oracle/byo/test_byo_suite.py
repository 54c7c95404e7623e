"""The SDK-built suite: definitions shaped like the course's sessions 1 to 6, run on the engine.

Each definition is what SDK 2.x writes for a notebook's pipeline (tests/oracle/byo/pipelines.py),
run with `python -m engine run pipeline.json --map map.json` on the penguins sample data, with
the project's own small scripts written as SageMaker scripts are (container paths opened
directly). The assertions are outcomes a user would check: the splits, the registered package's
status, the Fail branch, the tuning job's best trial, the repacked model, the transform's lines.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine.cli import main
from engine.executions import Execution
from engine.registry import Registry
from engine.s3 import S3
from projects.penguins.sample_data import write_penguins_csv
from tests.oracle.byo.pipelines import GROUP, build

pytestmark = pytest.mark.integration
ROWS = 342  # penguins.csv rows with every measurement
SPECIES = {"Adelie", "Chinstrap", "Gentoo"}


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    root: Path
    folder: Path | None  # None: nothing ran

    @property
    def records(self) -> dict[str, dict[str, Any]]:
        assert self.folder is not None, self.out
        return {r["StepName"]: r for r in Execution(self.folder).records()}

    def properties(self, step: str) -> dict[str, Any]:
        record = self.records[step]
        assert record["StepStatus"] == "Succeeded", record.get("FailureReason")
        properties: dict[str, Any] = record["Properties"]
        return properties

    def object(self, uri: str) -> Path:
        return S3(self.root / "s3").path(uri)


Run = Callable[..., Ran]


@pytest.fixture(scope="module")
def definitions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every session's pipeline.json (its map.json beside it), built once."""
    base = tmp_path_factory.mktemp("byo")
    dataset = write_penguins_csv(base / "data")
    return {
        name: build(name, base / "built").write(base / name, dataset)
        for name in ("session1", "session3", "session4to6", "unsatisfied", "refused")
    }


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("engine")


@pytest.fixture
def run(definitions: dict[str, Path], root: Path, capsys: pytest.CaptureFixture[str]) -> Run:
    def run(session: str, *args: str) -> Ran:
        definition = definitions[session]
        before = set(root.glob("executions/*/*"))
        code = main(
            [
                "run",
                str(definition),
                "--map",
                str(definition.with_name("map.json")),
                "--root",
                str(root),
                *args,
            ]
        )
        out = capsys.readouterr()
        made = set(root.glob("executions/*/*")) - before
        return Ran(code, out.out + out.err, root, made.pop() if made else None)

    return run


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_session1_preprocess_splits_the_one_file_the_parameter_names(run: Run) -> None:
    ran = run("session1")
    assert ran.code == 0, ran.out
    outputs = ran.properties("preprocess-data")["ProcessingOutputConfig"]["Outputs"]
    counts = {
        name: len(_lines(ran.object(outputs[name]["S3Output"]["S3Uri"]) / f"{name}.csv"))
        for name in ("train", "validation", "test")
    }
    assert sum(counts.values()) == ROWS and counts["train"] == round(ROWS * 0.7)
    baseline = ran.object(outputs["baseline"]["S3Output"]["S3Uri"]) / "baseline.csv"
    assert _lines(baseline)[0].startswith("culmen_length_mm,")


def test_session3_registers_the_repacked_model_approved(run: Run) -> None:
    ran = run("session3")
    assert ran.code == 0, ran.out
    package = ran.properties("register-model-RegisterModel")
    assert package["ModelApprovalStatus"] == "Approved"
    repacked = ran.properties("register-model-RepackModel")["ModelArtifacts"]["S3ModelArtifacts"]
    (registered,) = [
        p
        for p in Registry(ran.root / "registry.sqlite").packages(GROUP)
        if p.arn == package["ModelPackageArn"]
    ]
    assert registered.model_data_url == repacked
    with tarfile.open(ran.object(repacked)) as archive:
        names = set(archive.getnames())
    # The trained model, and the inference script the SDK's _repack_model.py put in code/.
    assert {"model.npz", "code/inference.py"} <= names
    accuracy = json.loads(
        (
            ran.object(
                ran.properties("evaluate-model")["ProcessingOutputConfig"]["Outputs"]["evaluation"][
                    "S3Output"
                ]["S3Uri"]
            )
            / "evaluation.json"
        ).read_text()
    )["metrics"]["accuracy"]["value"]
    assert accuracy >= 0.7
    assert "fail" not in ran.records


def test_session3_takes_the_fail_branch_above_the_accuracy_it_reached(run: Run) -> None:
    # A run at the default threshold first (served from the cache when this worker has run the
    # test above), so the cache assertions below hold under xdist in any order.
    assert run("session3").code == 0
    ran = run("session3", "-p", "accuracy_threshold=1.01")
    assert ran.code == 1
    records = ran.records
    assert records["fail"]["StepStatus"] == "Failed"
    assert "accuracy below 1.01" in records["fail"]["FailureReason"]
    assert "register-model-RegisterModel" not in records
    # The SDK's CacheConfig: preprocessing and training come from the earlier run.
    assert "CacheHitResult" in records["preprocess-data"]
    assert "CacheHitResult" in records["train-model"]


def test_sessions4to6_tune_serve_the_best_and_deploy(run: Run) -> None:
    ran = run("session4to6")
    assert ran.code == 0, ran.out
    tuning = ran.properties("tune-model")
    trials = tuning["TrainingJobSummaries"]
    assert len(trials) == 3
    # The objective is the validation loss, minimised: the best trial has the lowest.
    losses = [t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for t in trials]
    assert len(set(losses)) == 3 and losses == sorted(losses)
    assert tuning["BestTrainingJob"]["TrainingJobName"] == trials[0]["TrainingJobName"]
    assert tuning["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == min(
        losses
    )
    # The top-two evaluations read the two best trials' models, in order.
    for k in (0, 1):
        inputs = ran.properties(f"evaluate-top-{k}")["ProcessingInputs"]
        assert inputs[0]["S3Input"]["S3Uri"].endswith(
            f"/{trials[k]['TrainingJobName']}/output/model.tar.gz"
        )
    model = ran.properties("create-model-CreateModel")
    repacked = ran.properties("create-model-RepackModel-0")["ModelArtifacts"]["S3ModelArtifacts"]
    assert model["PrimaryContainer"]["ModelDataUrl"] == repacked
    transform = ran.properties("transform")
    out = ran.object(transform["TransformOutput"]["S3OutputPath"]) / "test.csv.out"
    test_rows = ROWS - round(ROWS * 0.7) - round(ROWS * 0.15)
    predictions = [json.loads(line) for line in _lines(out)]
    assert len(predictions) == test_rows
    assert {p["prediction"] for p in predictions} <= SPECIES
    assert all(0 < p["confidence"] <= 1 for p in predictions)
    quality = ran.properties("data-quality-baseline")
    statistics = json.loads(ran.object(quality["CalculatedBaselineStatistics"]).read_text())
    assert statistics["dataset"]["item_count"] == round(ROWS * 0.7)
    deploy = ran.properties("deploy")
    assert deploy["OutputParameters"] == {"endpoint": "penguins"}


def test_a_framework_processors_unsatisfied_requirements_fail_without_installing(
    run: Run,
) -> None:
    ran = run("unsatisfied")
    assert ran.code == 1
    reason = ran.records["report"]["FailureReason"]
    assert "requirements.txt of its source dir" in reason
    assert "surely-not-installed-here==9.9: surely-not-installed-here is not installed" in reason
    assert "\n    numpy" not in reason  # the satisfied line is not listed
    assert "never installs anything" in reason
    log = (ran.folder / "steps" / "report" / "log.txt").read_text()  # type: ignore[operator]
    assert not [line for line in log.splitlines() if line.startswith("$ ")]  # no process ran


def test_step_types_without_an_executor_are_refused_before_anything_runs(run: Run) -> None:
    ran = run("refused")
    assert ran.code == 2 and ran.folder is None
    for step, kind in [
        ("data-bias", "ClarifyCheck"),
        ("approve-by-hand", "Callback"),
        ("spark-features", "EMR"),
    ]:
        assert f"step {step}" in ran.out and f"Type {kind!r}" in ran.out
    assert "the local engine has no executor for it" in ran.out

"""The builtin monitoring job (`components/monitor/scripts/monitor.py`) on real data.

Captures are written by the local endpoint's own data capture (`engine.endpoint.Capture`, its
clock frozen at the time a test wants), ground truth by `endpoint.ground_truth`'s writer,
perturbed requests by `endpoint.traffic`'s perturbation, and the baselines by the analyzer on the
preprocess step's real output, as the baseline steps compute them. The job runs as a process on
a folder laid out as its Processing step's inputs; the CloudWatch tests call its `main` in this
process with a Stubber on a real CloudWatch client (params checked against the API model).
"""

from __future__ import annotations

import ast
import datetime
import importlib.util
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import numpy as np
import pandas as pd
import pytest
from botocore.stub import ANY, Stubber
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from endpoint import ground_truth, traffic
from endpoint.common import Project
from engine import endpoint as local_endpoint
from engine.s3 import S3
from jobkit.capture import feature_environment as encode_features
from projects.cancer.sample_data import write_cancer_csv
from tests.aws_env import isolate_from_aws
from tests.components.fixtures_data import PENGUINS_CATEGORICAL, PENGUINS_NUMERIC
from tests.components.runner import REPO, run_script

MONITOR = REPO / "components/monitor/scripts/monitor.py"
ANALYZER = REPO / "components/quality_check/scripts/analyzer.py"
PREPROCESSOR = REPO / "jobkit/capture.py"  # the record preprocessor Model Monitor loads
SCHEDULE_HANDLER = REPO / "components/schedule/scripts/schedule.py"
UTC = datetime.UTC
END = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ENDPOINT = "penguins-endpoint"
SCHEDULE = "penguins-data-quality"
PENGUINS_ENV = {
    "MONITOR_KIND": "data_quality",
    "MONITOR_WINDOW": "PT1H",
    "MONITOR_END_TIME": "2026-12-01T12:00:00Z",
    "MONITOR_NUMERIC_FEATURES": ",".join(PENGUINS_NUMERIC),
    "MONITOR_CATEGORICAL_FEATURES": ",".join(PENGUINS_CATEGORICAL),
}
Records = list[dict[str, Any]]
Exchange = tuple[dict[str, Any], list[dict[str, Any]], str]  # request, answer, inference id


# --------------------------------------------------------------------------- helpers


def read_jsonl(path: Path) -> Records:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def analyze(dataset: Records, output: Path, **env: str) -> Path:
    """The analyzer's baseline of `dataset` (as the baseline steps compute it) in `output`."""
    output.mkdir(parents=True)
    source = output / "dataset.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in dataset))
    run_script(ANALYZER, env={"dataset_source": str(source), "output_path": str(output), **env})
    return output


def analyze_csv(dataset: Path, output: Path) -> Path:
    """The baseline the DataQualityBaseline step computes of preprocess's CSV, in `output`."""
    output.mkdir(parents=True)
    env = {"dataset_format": '{"csv": {"header": true}}'}
    run_script(ANALYZER, env={"dataset_source": str(dataset), "output_path": str(output), **env})
    return output


def frozen_clock(moment: datetime.datetime) -> type[datetime.datetime]:
    class Frozen(datetime.datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Frozen:
            return cls.fromtimestamp(moment.timestamp(), tz)

    return Frozen


def capture(
    base: Path,
    exchanges: list[Exchange],
    at: datetime.datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Capture the exchanges at time `at` as the local endpoint does, into the job's input."""
    # s3://capture/<endpoint>/AllTraffic/... lands in <base>/input/capture/<endpoint>/AllTraffic/
    config = {
        "EnableCapture": True,
        "InitialSamplingPercentage": 100,
        "DestinationS3Uri": "s3://capture",
    }
    with monkeypatch.context() as patch:
        patch.setattr(local_endpoint, "datetime", frozen_clock(at))
        recorder = local_endpoint.Capture(S3(base / "input"), ENDPOINT, config)
        for request, answer, inference_id in exchanges:
            recorder.record(
                (json.dumps(request).encode(), "application/json"),
                (json.dumps(answer).encode(), "application/json"),
                inference_id,
            )
        recorder.close()


def job_folder(
    tmp_path: Path, baseline: Path, kind: str = "data_quality", preprocessor: bool = True
) -> Path:
    """A Processing step's inputs: analyzer, baseline files, record preprocessor (no capture)."""
    base = tmp_path / "job"
    inputs = base / "input"
    files = {
        "analyzer": ANALYZER,
        "baseline_constraints": baseline / "constraints.json",
    }
    if kind == "data_quality":
        files["baseline_statistics"] = baseline / "statistics.json"
        if preprocessor:
            files["record_preprocessor"] = PREPROCESSOR
    for folder, source in files.items():
        (inputs / folder).mkdir(parents=True)
        shutil.copyfile(source, inputs / folder / source.name)
    (inputs / "capture").mkdir()
    return base


def run_job(base: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_script(MONITOR, "--base_dir", str(base), env=env, check=False)


def result_of(base: Path, proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.returncode == 0, proc.stderr
    report = base / "report"
    assert sorted(p.name for p in report.iterdir()) == [
        "constraint_violations.json",
        "result.json",
        "statistics.json",
    ]
    result: dict[str, Any] = json.loads((report / "result.json").read_text())
    return result


def penguin_answer(record: dict[str, Any]) -> list[dict[str, Any]]:
    """What the endpoint answers (data quality reads the request only)."""
    return [{"prediction": 0, "label": "Adelie", "confidence": 0.9}]


def exchanges_of(requests: Records, prefix: str) -> list[Exchange]:
    return [(r, penguin_answer(r), f"{prefix}-{i:04d}") for i, r in enumerate(requests)]


# --------------------------------------------------------------------------- data quality


@pytest.fixture(scope="module")
def penguins_baseline(penguins_processed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data-quality baseline of the train split (baseline/data-quality.csv)."""
    dataset = penguins_processed / "baseline/data-quality.csv"
    return analyze_csv(dataset, tmp_path_factory.mktemp("penguins") / "baseline")


@pytest.fixture(scope="module")
def penguins_requests(penguins_processed: Path) -> Records:
    """Clean traffic: the test split's records as requests carry them."""
    records = read_jsonl(penguins_processed / "baseline/test.jsonl")
    return [{k: v for k, v in r.items() if k != "ground_truth"} for r in records]


def penguins_project(numeric: tuple[str, ...]) -> Project:
    return Project("penguins", ("Adelie", "Chinstrap", "Gentoo"), "tabular", numeric, "", None)


def test_clean_traffic_gives_no_violations(
    penguins_baseline: Path,
    penguins_requests: Records,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = job_folder(tmp_path, penguins_baseline)
    capture(
        base,
        exchanges_of(penguins_requests, "clean"),
        END - datetime.timedelta(minutes=20),
        monkeypatch,
    )

    proc = run_job(base, PENGUINS_ENV)

    assert result_of(base, proc) == {
        "violations": 0,
        "violated": "",
        "records": len(penguins_requests),
        "skipped": 0,
        "window_start": "2026-12-01T11:00:00Z",
        "window_end": "2026-12-01T12:00:00Z",
    }
    statistics = json.loads((base / "report/statistics.json").read_text())
    assert statistics["dataset"]["item_count"] == len(penguins_requests)
    assert sorted(f["name"] for f in statistics["features"]) == sorted(
        PENGUINS_NUMERIC + PENGUINS_CATEGORICAL
    )
    assert json.loads((base / "report/constraint_violations.json").read_text()) == {
        "violations": []
    }
    assert f"data_quality of {len(penguins_requests)} records (0 skipped)" in proc.stdout


@pytest.mark.parametrize(
    "perturbed",
    [
        pytest.param(("culmen_length_mm",), id="one-feature"),
        pytest.param(("body_mass_g", "flipper_length_mm"), id="two-features"),
        pytest.param(tuple(PENGUINS_NUMERIC), id="every-numeric-feature"),
    ],
)
def test_perturbed_traffic_names_exactly_the_perturbed_features(
    penguins_baseline: Path,
    penguins_requests: Records,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    perturbed: tuple[str, ...],
) -> None:
    project = penguins_project(perturbed)
    requests = [traffic.perturb_features(r, project) for r in penguins_requests]
    base = job_folder(tmp_path, penguins_baseline)
    capture(
        base, exchanges_of(requests, "perturbed"), END - datetime.timedelta(minutes=5), monkeypatch
    )

    result = result_of(base, run_job(base, PENGUINS_ENV))

    violations = json.loads((base / "report/constraint_violations.json").read_text())["violations"]
    assert {v["feature_name"] for v in violations} == set(perturbed)
    assert result["violated"] == ",".join(sorted(perturbed))
    assert result["violations"] == len(violations) >= len(perturbed)


def test_requests_the_preprocessor_drops_are_counted_as_skipped(
    penguins_baseline: Path,
    penguins_requests: Records,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wrong_names = [{f"x_{k}": v for k, v in r.items()} for r in penguins_requests[:7]]
    base = job_folder(tmp_path, penguins_baseline)
    exchanges = exchanges_of(penguins_requests + wrong_names, "mixed")
    capture(base, exchanges, END - datetime.timedelta(minutes=5), monkeypatch)

    result = result_of(base, run_job(base, PENGUINS_ENV))

    assert (result["records"], result["skipped"]) == (len(penguins_requests), 7)
    assert result["violations"] == 0


@pytest.mark.parametrize("preprocessor", [True, False], ids=["preprocessor", "raw"])
def test_bad_captured_records_are_skipped_and_counted(
    penguins_baseline: Path,
    penguins_requests: Records,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    preprocessor: bool,
) -> None:
    """The one bad-record rule (jobkit/capture.py), as the analyzer applies it too."""
    base = job_folder(tmp_path, penguins_baseline, preprocessor=preprocessor)
    at = END - datetime.timedelta(minutes=5)
    capture(base, exchanges_of(penguins_requests, "bad"), at, monkeypatch)
    (capture_file,) = (base / "input/capture").rglob("*.jsonl")
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    bad = [("not json {", "JSON"), ("%%%", "BASE64"), ("42", "JSON")]
    with capture_file.open("a", encoding="utf-8") as handle:
        for i, (data, encoding) in enumerate(bad):
            body = {"observedContentType": "application/json", "data": data, "encoding": encoding}
            event = {
                "captureData": {"endpointInput": {**body, "mode": "INPUT"}},
                "eventMetadata": {"eventId": f"bad-{i}", "inferenceTime": stamp},
                "eventVersion": "0",
            }
            handle.write(json.dumps(event) + "\n")
    features = ("MONITOR_NUMERIC_FEATURES", "MONITOR_CATEGORICAL_FEATURES")
    env = {k: v for k, v in PENGUINS_ENV.items() if preprocessor or k not in features}

    result = result_of(base, run_job(base, env))

    assert (result["records"], result["skipped"]) == (len(penguins_requests), 3)
    assert result["violations"] == 0


def test_without_a_preprocessor_the_requests_are_the_records(
    penguins_baseline: Path,
    penguins_requests: Records,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = job_folder(tmp_path, penguins_baseline, preprocessor=False)
    capture(
        base,
        exchanges_of(penguins_requests, "raw"),
        END - datetime.timedelta(minutes=5),
        monkeypatch,
    )

    result = result_of(
        base,
        run_job(
            base,
            {
                "MONITOR_KIND": "data_quality",
                "MONITOR_WINDOW": "PT1H",
                "MONITOR_END_TIME": "2026-12-01T12:00:00Z",
            },
        ),
    )

    assert (result["records"], result["skipped"], result["violations"]) == (
        len(penguins_requests),
        0,
        0,
    )


@pytest.fixture(scope="module")
def digits_baseline(digits_processed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dataset = digits_processed / "baseline/data-quality.csv"
    return analyze_csv(dataset, tmp_path_factory.mktemp("digits") / "baseline")


@pytest.mark.parametrize(
    "inverted", [pytest.param(False, id="clean"), pytest.param(True, id="inverted")]
)
def test_image_requests_are_checked_as_pixel_features(
    digits_processed: Path,
    digits_baseline: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    inverted: bool,
) -> None:
    digits = Project("digits", tuple("0123456789"), "image", (), "", None)
    tests = read_jsonl(digits_processed / "baseline/test.jsonl")
    requests = [{"pixels": r["pixels"]} for r in tests]
    if inverted:
        requests = [traffic.perturb_features(r, digits) for r in requests]
    base = job_folder(tmp_path, digits_baseline)
    exchanges = [
        (r, [{"prediction": 0, "label": "0", "confidence": 1.0}], f"d-{i}")
        for i, r in enumerate(requests)
    ]
    capture(base, exchanges, END - datetime.timedelta(minutes=5), monkeypatch)
    env = {
        "MONITOR_KIND": "data_quality",
        "MONITOR_WINDOW": "PT1H",
        "MONITOR_END_TIME": "2026-12-01T12:00:00Z",
        "MONITOR_PIXEL_FEATURES": "true",
    }

    result = result_of(base, run_job(base, env))

    assert result["records"] == len(requests)
    violated = set(result["violated"].split(",")) - {""}
    if not inverted:
        assert violated == set()
    else:
        assert violated and all(name.startswith("p") for name in violated)


def feature_environment(names: list[str]) -> dict[str, str]:
    """MONITOR_NUMERIC_FEATURES as the schedule handler writes it (numbered parts when long)."""
    return encode_features(names)


@pytest.mark.parametrize(
    "perturbed",
    [
        pytest.param((), id="clean"),
        pytest.param(("mean_radius", "worst_texture"), id="two-features"),
    ],
)
def test_cancer_features_come_in_numbered_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, perturbed: tuple[str, ...]
) -> None:
    """30 features: too long for one environment value, so the job gets _0, _1... parts."""
    features, labels = cancer_data(tmp_path)
    train, test = train_test_split(features, test_size=0.5, random_state=0, stratify=labels)
    baseline = analyze(train.to_dict(orient="records"), tmp_path / "baseline")
    project = Project("cancer", ("malignant", "benign"), "tabular", perturbed, "", None)
    requests = [traffic.perturb_features(r, project) for r in test.to_dict(orient="records")]
    base = job_folder(tmp_path, baseline)
    exchanges = [(r, [{"label": "benign"}], f"c-{i}") for i, r in enumerate(requests)]
    capture(base, exchanges, END - datetime.timedelta(minutes=5), monkeypatch)
    parts = feature_environment(list(features.columns))
    assert sorted(parts) == ["MONITOR_NUMERIC_FEATURES_0", "MONITOR_NUMERIC_FEATURES_1"]
    env = {
        "MONITOR_KIND": "data_quality",
        "MONITOR_WINDOW": "P1D",
        "MONITOR_END_TIME": "2026-12-01T12:00:00Z",
        **parts,
    }

    result = result_of(base, run_job(base, env))

    statistics = json.loads((base / "report/statistics.json").read_text())
    assert [f["name"] for f in statistics["features"]] == list(features.columns)
    assert (result["records"], result["skipped"]) == (len(requests), 0)
    assert result["violated"] == ",".join(sorted(perturbed))


# --------------------------------------------------------------------------- window


@pytest.mark.parametrize(
    ("window", "end", "copies", "drifted"),
    [
        pytest.param("PT1H", "2026-12-01T12:00:00Z", 1, False, id="last-hour-only-clean"),
        pytest.param("PT6H", "2026-12-01T12:00:00Z", 2, True, id="six-hours-both"),
        pytest.param("P1D", "2026-12-01T09:30:00+00:00", 1, True, id="earlier-end-only-old"),
    ],
)
def test_the_window_leaves_out_captures_outside_it(
    penguins_baseline: Path,
    penguins_requests: Records,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    window: str,
    end: str,
    copies: int,
    drifted: bool,
) -> None:
    """Perturbed traffic three hours ago, clean traffic ten minutes ago."""
    base = job_folder(tmp_path, penguins_baseline)
    old = [
        traffic.perturb_features(r, penguins_project(tuple(PENGUINS_NUMERIC)))
        for r in penguins_requests
    ]
    capture(base, exchanges_of(old, "old"), END - datetime.timedelta(hours=3), monkeypatch)
    capture(
        base,
        exchanges_of(penguins_requests, "new"),
        END - datetime.timedelta(minutes=10),
        monkeypatch,
    )

    result = result_of(
        base, run_job(base, {**PENGUINS_ENV, "MONITOR_WINDOW": window, "MONITOR_END_TIME": end})
    )

    assert result["records"] == copies * len(penguins_requests)
    assert (result["violations"] > 0) is drifted
    assert result["window_end"] == end.replace("+00:00", "Z")


# --------------------------------------------------------------------------- model quality


def classified(
    features: pd.DataFrame, labels: list[str], classes: list[str]
) -> tuple[pd.DataFrame, list[str], list[str], list[list[dict[str, Any]]]]:
    """A logistic regression trained on half, answering the other half as the endpoint would."""
    train_x, test_x, train_y, test_y = train_test_split(
        features, labels, test_size=0.5, random_state=0, stratify=labels
    )
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(train_x, train_y)
    probabilities = model.predict_proba(test_x)
    predicted = [str(model.classes_[i]) for i in probabilities.argmax(axis=1)]
    answers = [
        [{"prediction": classes.index(p), "label": p, "confidence": float(row.max())}]
        for p, row in zip(predicted, probabilities, strict=True)
    ]
    return test_x, list(test_y), predicted, answers


def cancer_data(tmp_path: Path) -> tuple[pd.DataFrame, list[str]]:
    frame = pd.read_csv(write_cancer_csv(tmp_path / "raw"))
    return frame.drop(columns="diagnosis"), list(frame["diagnosis"])


def penguins_data(penguins_raw: Path) -> tuple[pd.DataFrame, list[str]]:
    frame = pd.read_csv(penguins_raw / "penguins.csv").dropna(subset=PENGUINS_NUMERIC)
    return frame[PENGUINS_NUMERIC], list(frame["species"])


def write_ground_truth(base: Path, events: list[ground_truth.Event], project: Project) -> None:
    """Ground truth as `endpoint.ground_truth` writes it (true labels, or faked at 75%)."""
    tally = ground_truth.Tally()
    lines = [ground_truth.label_line(e, project, 7, 0.75, tally) for e in events]
    folder = base / "input/ground_truth/2026/12/01/12"
    folder.mkdir(parents=True)
    (folder / "groundtruth-test.jsonl").write_text("".join(lines))


def model_quality_baseline(
    tmp_path: Path, predicted: list[str], truth: list[str], **env: str
) -> Path:
    records = [{"prediction": p, "label": t} for p, t in zip(predicted, truth, strict=True)]
    return analyze(
        records,
        tmp_path / "mq-baseline",
        analysis_type="MODEL_QUALITY",
        inference_attribute="prediction",
        ground_truth_attribute="label",
        **env,
    )


@pytest.mark.parametrize(
    "case",
    [
        pytest.param("penguins", id="penguins-multiclass-faked-truth"),
        pytest.param("cancer", id="cancer-binary-true-truth"),
    ],
)
def test_model_quality_accuracy_is_that_of_the_joined_predictions(
    case: str, penguins_raw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if case == "penguins":
        classes = ["Adelie", "Chinstrap", "Gentoo"]
        features, labels = penguins_data(penguins_raw)
        env = {"problem_type": "MulticlassClassification"}
    else:
        classes = ["malignant", "benign"]
        features, labels = cancer_data(tmp_path)
        env = {"problem_type": "BinaryClassification", "positive_label": "malignant"}
    project = Project(case, tuple(classes), "tabular", tuple(features.columns), "", None)
    test_x, test_y, predicted, answers = classified(features, labels, classes)
    requests = test_x.to_dict(orient="records")
    ids = [f"{case}-{i:04d}" for i in range(len(requests))]
    unlabelled = 5  # the first captures get no ground truth
    baseline = model_quality_baseline(tmp_path, predicted[unlabelled:], test_y[unlabelled:], **env)
    base = job_folder(tmp_path, baseline, kind="model_quality")
    capture(
        base,
        list(zip(requests, answers, ids, strict=True)),
        END - datetime.timedelta(minutes=30),
        monkeypatch,
    )
    if case == "penguins":  # faked labels: the tool draws them around the captured prediction
        events = [ground_truth.Event(i, prediction=p) for i, p in zip(ids, predicted, strict=True)]
    else:
        events = [ground_truth.Event(i, truth=t) for i, t in zip(ids, test_y, strict=True)]
    write_ground_truth(base, events[unlabelled:], project)
    truth = {
        line["eventMetadata"]["eventId"]: line["groundTruthData"]["data"]
        for line in read_jsonl(next((base / "input/ground_truth").rglob("*.jsonl")))
    }

    job_env = {
        "MONITOR_KIND": "model_quality",
        "MONITOR_WINDOW": "PT1H",
        "MONITOR_END_TIME": "2026-12-01T12:00:00Z",
        "inference_attribute": "0.label",
        **env,
    }
    result = result_of(base, run_job(base, job_env))

    joined = [(truth[i], p) for i, p in zip(ids, predicted, strict=True) if i in truth]
    expected = accuracy_score([t for t, _ in joined], [p for _, p in joined])
    statistics = json.loads((base / "report/statistics.json").read_text())
    metrics = statistics[
        f"{'multiclass' if case == 'penguins' else 'binary'}_classification_metrics"
    ]
    assert metrics["accuracy"]["value"] == pytest.approx(expected, abs=1e-12)
    assert (result["records"], result["skipped"]) == (len(joined), unlabelled)
    if case == "penguins":  # faked truth: worse than the model's accuracy on the true labels
        assert expected < 0.9
        assert result["violations"] > 0 and "accuracy" in result["violated"].split(",")
    else:  # the true labels: the baseline's own metrics
        assert expected > 0.9
        assert result["violations"] == 0


# --------------------------------------------------------------------------- failures


def message(where: str, what: str, why: str, fix: str) -> str:
    return f"error: {where}\n  {what}\n  why: {why}\n  fix: {fix}\n"


def test_no_capture_in_the_window_is_refused(
    penguins_baseline: Path,
    penguins_requests: Records,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = job_folder(tmp_path, penguins_baseline)
    capture(
        base,
        exchanges_of(penguins_requests[:3], "old"),
        END - datetime.timedelta(hours=2),
        monkeypatch,
    )

    proc = run_job(base, PENGUINS_ENV)

    assert (proc.returncode, proc.stderr) == (
        2,
        message(
            f"input folder {base / 'input/capture'}",
            "none of the 3 captured requests has an inferenceTime in "
            "[2026-12-01T11:00:00Z, 2026-12-01T12:00:00Z]",
            "the job analyses the endpoint's traffic of the last MONITOR_WINDOW",
            "send traffic to the endpoint with data capture on (python -m endpoint.traffic), or "
            "widen MONITOR_WINDOW / set MONITOR_END_TIME",
        ),
    )
    assert not (base / "report").exists()


def test_no_capture_file_is_refused(penguins_baseline: Path, tmp_path: Path) -> None:
    base = job_folder(tmp_path, penguins_baseline)

    proc = run_job(base, PENGUINS_ENV)

    assert proc.returncode == 2
    assert proc.stderr.splitlines()[:2] == [
        f"error: input folder {base / 'input/capture'}",
        "  no data-capture line (*.jsonl) there",
    ]


def test_nothing_left_after_preprocessing_is_refused(
    penguins_baseline: Path,
    penguins_requests: Records,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = job_folder(tmp_path, penguins_baseline)
    wrong = [{f"x_{k}": v for k, v in r.items()} for r in penguins_requests[:4]]
    capture(base, exchanges_of(wrong, "wrong"), END - datetime.timedelta(minutes=1), monkeypatch)

    proc = run_job(base, PENGUINS_ENV)

    assert (proc.returncode, proc.stderr) == (
        2,
        message(
            f"input folder {base / 'input/capture'}",
            "no record to analyse from the 4 captured requests in the window",
            "the record preprocessor (or the reading of the requests) dropped every one",
            "check the job's MONITOR_* feature variables match the requests' features",
        ),
    )


MQ_ENV = {
    "MONITOR_KIND": "model_quality",
    "MONITOR_WINDOW": "PT1H",
    "MONITOR_END_TIME": "2026-12-01T12:00:00Z",
    "problem_type": "MulticlassClassification",
    "inference_attribute": "0.label",
}


@pytest.fixture
def mq_job(tmp_path: Path, penguins_requests: Records, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A model-quality job with 3 captures (ids c-0000..c-0002) and no ground truth yet."""
    baseline = model_quality_baseline(
        tmp_path,
        ["Adelie", "Gentoo"],
        ["Adelie", "Gentoo"],
        problem_type="MulticlassClassification",
    )
    base = job_folder(tmp_path, baseline, kind="model_quality")
    capture(
        base,
        exchanges_of(penguins_requests[:3], "c"),
        END - datetime.timedelta(minutes=1),
        monkeypatch,
    )
    return base


def test_no_captured_id_with_ground_truth_is_refused(mq_job: Path) -> None:
    other = [ground_truth.Event("someone-else", truth="Adelie")]
    write_ground_truth(mq_job, other, penguins_project(()))

    proc = run_job(mq_job, MQ_ENV)

    assert (proc.returncode, proc.stderr) == (
        2,
        message(
            f"input folder {mq_job / 'input/capture'}",
            "no record to analyse from the 3 captured requests in the window",
            "no captured inference id has ground truth (or a readable answer)",
            "write ground truth for the captured inference ids (python -m endpoint.ground_truth) "
            "and send requests with an InferenceId",
        ),
    )


def test_missing_ground_truth_is_refused(mq_job: Path) -> None:
    proc = run_job(mq_job, MQ_ENV)

    assert (proc.returncode, proc.stderr) == (
        2,
        message(
            f"input folder {mq_job / 'input/ground_truth'}",
            "no ground-truth line (*.jsonl) there",
            "model quality compares the captured predictions with their ground truth",
            "write ground truth for the captured inference ids (python -m endpoint.ground_truth)",
        ),
    )


@pytest.mark.parametrize(
    ("folder", "what"),
    [
        pytest.param("baseline_constraints", "the baseline's constraints", id="constraints"),
        pytest.param("baseline_statistics", "the baseline's statistics", id="statistics"),
    ],
)
def test_missing_baseline_file_is_refused(
    penguins_baseline: Path, tmp_path: Path, folder: str, what: str
) -> None:
    base = job_folder(tmp_path, penguins_baseline)
    for path in (base / "input" / folder).iterdir():
        path.unlink()

    proc = run_job(base, PENGUINS_ENV)

    assert (proc.returncode, proc.stderr) == (
        2,
        message(
            f"input folder {base / 'input' / folder}",
            f"expected one .json file, {what}; found no such file",
            "the monitoring job needs it to check the window",
            "give the step the baseline of the latest approved model package",
        ),
    )


def test_bad_settings_are_all_reported(penguins_baseline: Path, tmp_path: Path) -> None:
    base = job_folder(tmp_path, penguins_baseline)
    env = {
        "MONITOR_KIND": "data_qualty",
        "MONITOR_WINDOW": "PT30M",
        "MONITOR_END_TIME": "yesterday",
        "publish_cloudwatch_metrics": "Enabled",
    }

    proc = run_job(base, env)

    assert proc.returncode == 2
    assert proc.stderr == (
        "error: the monitoring job's environment\n"
        "  5 bad settings:\n"
        "  environment MONITOR_KIND = 'data_qualty'\n"
        "    why: the job checks data_quality (feature drift) or model_quality (against ground "
        "truth)\n"
        "    fix: set MONITOR_KIND to data_quality or model_quality\n"
        "  environment MONITOR_WINDOW = 'PT30M'\n"
        "    why: the window is an ISO 8601 duration of whole days and/or hours, above zero\n"
        "    fix: use e.g. PT1H, PT6H, P1D or P1DT12H\n"
        "  environment MONITOR_END_TIME = 'yesterday'\n"
        "    why: not an ISO 8601 time\n"
        "    fix: use e.g. 2026-12-01T13:00:00Z, or leave it unset for now\n"
        "  environment sagemaker_endpoint_name = missing\n"
        "    why: published metrics carry the Endpoint and MonitoringSchedule dimensions\n"
        "    fix: set sagemaker_endpoint_name, or publish_cloudwatch_metrics=Disabled\n"
        "  environment sagemaker_monitoring_schedule_name = missing\n"
        "    why: published metrics carry the Endpoint and MonitoringSchedule dimensions\n"
        "    fix: set sagemaker_monitoring_schedule_name, or publish_cloudwatch_metrics=Disabled\n"
        "  why: the monitoring pipeline's Processing step sets these variables\n"
        "  fix: correct them in the step's Environment (the compiled monitoring pipeline)\n"
    )


@pytest.mark.parametrize(
    ("env", "names"),
    [
        pytest.param({"MONITOR_WINDOW": "P0D"}, ["MONITOR_WINDOW"], id="zero-window"),
        pytest.param({"MONITOR_WINDOW": ""}, ["MONITOR_WINDOW"], id="no-window"),
        pytest.param({"MONITOR_KIND": ""}, ["MONITOR_KIND"], id="no-kind"),
        pytest.param(
            {"publish_cloudwatch_metrics": "yes"}, ["publish_cloudwatch_metrics"], id="switch"
        ),
        pytest.param(
            {"MONITOR_KIND": "model_quality"},
            ["problem_type", "inference_attribute"],
            id="model-quality-without-attributes",
        ),
    ],
)
def test_each_bad_setting_is_named(
    penguins_baseline: Path, tmp_path: Path, env: dict[str, str], names: list[str]
) -> None:
    base = job_folder(tmp_path, penguins_baseline)

    proc = run_job(base, {**PENGUINS_ENV, **env})

    assert proc.returncode == 2
    named = [
        line.split()[1] for line in proc.stderr.splitlines() if line.startswith("  environment ")
    ]
    assert named == names


def test_failing_analyzer_is_reported_with_its_log(
    penguins_baseline: Path,
    penguins_requests: Records,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = job_folder(tmp_path, penguins_baseline)
    (base / "input/baseline_constraints/constraints.json").write_text('{"version": 0.0}')
    capture(
        base,
        exchanges_of(penguins_requests, "clean"),
        END - datetime.timedelta(minutes=5),
        monkeypatch,
    )

    proc = run_job(base, PENGUINS_ENV)

    analyzer = base / "input/analyzer/analyzer.py"
    assert proc.returncode == 1
    assert proc.stderr == (
        f"error: {analyzer}\n"
        "  the analyzer exited 2; the end of its log:\n"
        "    error: setting baseline_constraints="
        f"{base / 'input/baseline_constraints/constraints.json'}: no features list\n"
        "      why: a data-quality check needs a data-quality constraints.json\n"
        "      fix: give the DATA_QUALITY baseline's constraints.json\n"
        "  why: the analyzer computes the statistics and checks them against the baseline\n"
        "  fix: correct what its message names (often the baseline files or the job's "
        "attributes)\n"
    )
    assert not (base / "report").exists()


def test_broken_capture_line_is_named(penguins_baseline: Path, tmp_path: Path) -> None:
    base = job_folder(tmp_path, penguins_baseline)
    path = base / "input/capture" / ENDPOINT / "AllTraffic/2026/12/01/11/00-00-000-x.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text('{"captureData": {}}\n{"captureData": \n')

    proc = run_job(base, PENGUINS_ENV)

    assert (proc.returncode, proc.stderr) == (
        2,
        message(
            f"{path}:2",
            "not a JSON object",
            "data-capture and ground-truth files hold one JSON object a line",
            "remove or repair the line (a partly written file?)",
        ),
    )


# --------------------------------------------------------------------------- CloudWatch


def load_monitor() -> ModuleType:
    spec = importlib.util.spec_from_file_location("monitor_under_test", MONITOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def monitor(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[tuple[ModuleType, Stubber]]:
    """The job's module with a Stubber on a real CloudWatch client in place of boto3's."""
    isolate_from_aws(monkeypatch, tmp_path, "eu-west-1")
    module = load_monitor()
    client = boto3.client("cloudwatch", region_name="eu-west-1")
    monkeypatch.setattr(module, "_client", lambda name: client)
    with Stubber(client) as stubber:
        yield module, stubber
        stubber.assert_no_pending_responses()


PUBLISH_ENV = {
    "publish_cloudwatch_metrics": "Enabled",
    "sagemaker_endpoint_name": ENDPOINT,
    "sagemaker_monitoring_schedule_name": SCHEDULE,
}
DIMENSIONS = [
    {"Name": "Endpoint", "Value": ENDPOINT},
    {"Name": "MonitoringSchedule", "Value": SCHEDULE},
]


def test_data_quality_metrics_are_published(
    monitor: tuple[ModuleType, Stubber],
    penguins_baseline: Path,
    penguins_requests: Records,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module, stubber = monitor
    base = job_folder(tmp_path, penguins_baseline)
    capture(
        base,
        exchanges_of(penguins_requests, "clean"),
        END - datetime.timedelta(minutes=5),
        monkeypatch,
    )
    for name, value in {**PENGUINS_ENV, **PUBLISH_ENV}.items():
        monkeypatch.setenv(name, value)
    frame = pd.DataFrame(penguins_requests)
    expected = []
    # The analyzer's feature order: as the records name them (the preprocessor's order).
    for name in PENGUINS_NUMERIC + PENGUINS_CATEGORICAL:
        values = frame[name].dropna()
        common = {"Timestamp": END, "Dimensions": DIMENSIONS}
        if name in PENGUINS_NUMERIC:
            expected.append(
                {
                    "MetricName": f"feature_data_{name}",
                    **common,
                    "StatisticValues": {
                        "SampleCount": float(len(values)),
                        "Sum": pytest.approx(float(values.sum())),
                        "Minimum": float(values.min()),
                        "Maximum": float(values.max()),
                    },
                }
            )
        expected.append(
            {"MetricName": f"feature_non_null_{name}", **common, "Value": len(values) / len(frame)}
        )
        expected.append({"MetricName": f"feature_baseline_drift_{name}", **common, "Value": ANY})
    stubber.add_response(
        "put_metric_data",
        {},
        {"Namespace": "aws/sagemaker/Endpoints/data-metrics", "MetricData": expected},
    )

    assert module.main(["--base_dir", str(base)]) == 0


def test_model_quality_metrics_are_published(
    monitor: tuple[ModuleType, Stubber], mq_job: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, stubber = monitor
    events = [
        ground_truth.Event(f"c-{i:04d}", truth=t)
        for i, t in enumerate(["Adelie", "Adelie", "Gentoo"])
    ]
    write_ground_truth(mq_job, events, penguins_project(()))
    for name, value in {**MQ_ENV, **PUBLISH_ENV}.items():
        monkeypatch.setenv(name, value)
    captured: list[dict[str, Any]] = []
    stubber.add_response(
        "put_metric_data",
        {},
        {"Namespace": "aws/sagemaker/Endpoints/model-metrics", "MetricData": ANY},
    )
    client = module._client("cloudwatch")
    client.meta.events.register(
        "provide-client-params.cloudwatch.PutMetricData",
        lambda params, **_: captured.extend(params["MetricData"]),
    )

    assert module.main(["--base_dir", str(mq_job)]) == 0

    values = {datum["MetricName"]: datum["Value"] for datum in captured}
    # Every answer says Adelie; the truth is Adelie, Adelie, Gentoo.
    assert values["accuracy"] == pytest.approx(
        accuracy_score(["Adelie", "Adelie", "Gentoo"], ["Adelie"] * 3)
    )
    assert all(d["Dimensions"] == DIMENSIONS and d["Timestamp"] == END for d in captured)
    assert all(np.isfinite(v) for v in values.values())


def test_refused_metrics_fail_the_job_after_the_report(
    monitor: tuple[ModuleType, Stubber],
    mq_job: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    module, stubber = monitor
    write_ground_truth(mq_job, [ground_truth.Event("c-0000", truth="Adelie")], penguins_project(()))
    for name, value in {**MQ_ENV, **PUBLISH_ENV}.items():
        monkeypatch.setenv(name, value)
    stubber.add_client_error(
        "put_metric_data",
        "AccessDenied",
        "not authorized to perform: cloudwatch:PutMetricData",
        403,
    )

    assert module.main(["--base_dir", str(mq_job)]) == 1

    assert capsys.readouterr().err == message(
        "CloudWatch PutMetricData (namespace aws/sagemaker/Endpoints/model-metrics)",
        "AccessDenied: not authorized to perform: cloudwatch:PutMetricData",
        "the report and result.json are written, but the metrics were not published",
        "allow cloudwatch:PutMetricData in the monitoring job's execution role",
    )
    assert json.loads((mq_job / "report/result.json").read_text())["records"] == 1


def test_batches_keep_within_put_metric_data_limits() -> None:
    module = load_monitor()
    small = [{"MetricName": f"m{i}", "Value": 1.0} for i in range(2500)]
    large = [
        {
            "MetricName": f"m{i}",
            "Value": 1.0,
            "Dimensions": [{"Name": "d", "Value": "x" * 1000}] * 30,
        }
        for i in range(20)
    ]

    assert [len(b) for b in module.batches(small)] == [1000, 1000, 500]
    sizes = [len(json.dumps(b)) for b in module.batches(large)]
    assert len(sizes) > 1 and max(sizes) <= module.BYTES_PER_CALL
    assert [d for b in module.batches(large) for d in b] == large


def test_non_finite_metric_values_are_left_out(tmp_path: Path) -> None:
    module = load_monitor()
    path = tmp_path / "cloudwatch_metrics.jsonl"
    stamp = "2026-12-01T12:00:00Z"
    path.write_text(
        json.dumps({"MetricName": "auc", "Timestamp": stamp, "Value": float("nan")})
        + "\n"
        + json.dumps({"MetricName": "accuracy", "Timestamp": stamp, "Value": 0.5})
        + "\n"
    )

    assert module.metric_data(path) == [{"MetricName": "accuracy", "Timestamp": END, "Value": 0.5}]


def test_runs_on_python_3_9_with_the_standard_library() -> None:
    modules = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        # the job, its own modules and the capture module it ships with
        for path in (*MONITOR.parent.glob("*.py"), PREPROCESSOR)
        for node in ast.walk(ast.parse(path.read_text(), feature_version=(3, 9)))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        and not (isinstance(node, ast.ImportFrom) and node.level)
        for alias in node.names
    }
    imported = {module.split(".")[0] for module in modules}
    assert imported - set(sys.stdlib_module_names) == {"boto3", "botocore", "jobkit", "components"}
    assert {m for m in modules if m.startswith("components")} == {
        "components.monitor.scripts.isotime"
    }

"""The quality-check analyzer, run as SageMaker runs it (a separate process) on real data.

Its numbers are checked against pandas, numpy and scikit-learn computed directly; every file it
writes is validated against the committed schemas (components/quality_check/schemas/).
"""

from __future__ import annotations

import ast
import base64
import importlib
import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ks_2samp
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from components.model.contract import record_contract
from tests.components.fixtures_data import penguins_train_records
from tests.components.runner import REPO, run_script
from tests.components.runner import load_serving as load_package

ANALYZER = REPO / "components/quality_check/scripts/analyzer.py"
SCHEMAS = REPO / "components/quality_check/schemas"
NUMERIC = ["culmen_length_mm", "culmen_depth_mm", "flipper_length_mm", "body_mass_g"]
JSON_LINES = '{"json": {"lines": true}}'
CSV_HEADER = '{"csv": {"header": true}}'

Records = list[dict[str, Any]]


def schema(name: str) -> jsonschema.Draft202012Validator:
    document = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(document)
    return jsonschema.Draft202012Validator(document)


def write_jsonl(path: Path, records: Records) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> Records:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def analyze(dataset: Path, output: Path, **env: str) -> dict[str, Any]:
    """Run the analyzer; validate every file it wrote; return them by name (without .json)."""
    run_script(
        ANALYZER,
        env={
            "dataset_format": JSON_LINES,
            "dataset_source": str(dataset),
            "output_path": str(output),
            **env,
        },
    )
    written = {path.stem: json.loads(path.read_text()) for path in sorted(output.glob("*.json"))}
    assert set(written) >= {"statistics", "constraints"}
    for name, document in written.items():
        errors = [e.message for e in schema(name).iter_errors(document)]
        assert errors == [], f"{output / name}.json: {errors}"
    return written


def baseline(penguins_processed: Path) -> Path:
    return penguins_processed / "baseline/data-quality.csv"


@pytest.fixture(scope="module")
def penguins_baseline(penguins_processed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The DataQualityBaseline step's output for the real preprocess output."""
    output = tmp_path_factory.mktemp("dq_baseline")
    analyze(baseline(penguins_processed), output, dataset_format=CSV_HEADER)
    return output


def traffic(penguins_processed: Path) -> Records:
    """Clean requests: the test split's records as live requests carry them (no ground truth)."""
    records = read_jsonl(penguins_processed / "baseline/test.jsonl")
    return [{k: v for k, v in r.items() if k != "ground_truth"} for r in records]


def features(statistics: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in statistics["features"]}


# --- data quality -----------------------------------------------------------------------------


def test_data_quality_statistics_match_pandas(
    penguins_processed: Path, penguins_baseline: Path
) -> None:
    frame = pd.read_csv(baseline(penguins_processed))
    statistics = json.loads((penguins_baseline / "statistics.json").read_text())
    constraints = json.loads((penguins_baseline / "constraints.json").read_text())
    assert statistics["dataset"]["item_count"] == len(frame) == 240
    found = features(statistics)
    assert list(found) == list(frame.columns)
    for name in NUMERIC:
        column = frame[name].dropna().to_numpy(float)
        stats = found[name]["numerical_statistics"]
        assert found[name]["inferred_type"] == "Fractional"
        assert stats["common"] == {
            "num_present": len(column),
            "num_missing": int(frame[name].isna().sum()),
        }
        assert stats["mean"] == pytest.approx(column.mean(), rel=1e-12)
        assert stats["sum"] == pytest.approx(column.sum(), rel=1e-12)
        assert stats["std_dev"] == pytest.approx(column.std(ddof=0), rel=1e-12)
        assert (stats["min"], stats["max"]) == (column.min(), column.max())
        kll = stats["distribution"]["kll"]
        assert kll["sketch"]["data"] == [sorted(column.tolist())]  # below k=2048: exact
        counts, _ = np.histogram(column, bins=10, range=(column.min(), column.max()))
        assert [b["count"] for b in kll["buckets"]] == counts.tolist()
    island = found["island"]["string_statistics"]
    counts = frame["island"].value_counts()
    assert found["island"]["inferred_type"] == "String"
    assert island["distinct_count"] == frame["island"].nunique() == 3
    assert {
        b["value"]: b["count"] for b in island["distribution"]["categorical"]["buckets"]
    } == counts.to_dict()
    suggested = {f["name"]: f for f in constraints["features"]}
    for name in frame.columns:
        assert suggested[name]["completeness"] == pytest.approx(
            frame[name].notna().mean(), rel=1e-12
        )
    assert suggested["island"]["string_constraints"]["domains"] == sorted(counts.index)
    assert suggested["body_mass_g"]["num_constraints"] == {"is_non_negative": True}


def test_json_lines_of_the_train_records_give_the_csv_baseline_statistics(
    penguins_processed: Path, penguins_baseline: Path, tmp_path: Path
) -> None:
    """The baseline's CSV holds the train records as requests carry them: as JSON lines (typed
    JSON values, not text) they give the very same statistics."""
    path = write_jsonl(tmp_path / "train.jsonl", penguins_train_records(penguins_processed))
    written = analyze(path, tmp_path / "out")
    assert written["statistics"] == json.loads((penguins_baseline / "statistics.json").read_text())


def shift_culmen_length(records: Records) -> Records:
    values = np.array([r["culmen_length_mm"] for r in records], dtype=float)
    return [{**r, "culmen_length_mm": r["culmen_length_mm"] + 5 * values.std()} for r in records]


def rename_biscoe(records: Records) -> Records:
    return [
        {**r, "island": "Atlantis" if r["island"] == "Biscoe" else r["island"]} for r in records
    ]


def drop_body_mass(records: Records) -> Records:
    return [{k: v for k, v in r.items() if k != "body_mass_g"} for r in records]


def add_column(records: Records) -> Records:
    return [{**r, "sex": "FEMALE"} for r in records]


def text_depth(records: Records) -> Records:
    return [
        {**r, "culmen_depth_mm": "n/a" if i % 4 == 0 else r["culmen_depth_mm"]}
        for i, r in enumerate(records)
    ]


def blank_flipper(records: Records) -> Records:
    return [
        {**r, "flipper_length_mm": None if i % 5 == 0 else r["flipper_length_mm"]}
        for i, r in enumerate(records)
    ]


@pytest.mark.parametrize(
    ("perturb", "expected"),
    [
        pytest.param(lambda r: r, set(), id="clean-traffic"),
        pytest.param(
            shift_culmen_length, {("culmen_length_mm", "baseline_drift_check")}, id="numeric-shift"
        ),
        pytest.param(
            rename_biscoe,
            {("island", "categorical_values_check"), ("island", "baseline_drift_check")},
            id="categorical-value-replaced",
        ),
        pytest.param(
            drop_body_mass, {("body_mass_g", "missing_column_check")}, id="missing-column"
        ),
        pytest.param(add_column, {("sex", "extra_column_check")}, id="extra-column"),
        pytest.param(
            text_depth,
            {("culmen_depth_mm", "data_type_check")},  # drift needs the same type
            id="text-in-numeric-column",
        ),
        pytest.param(
            blank_flipper, {("flipper_length_mm", "completeness_check")}, id="missing-values"
        ),
    ],
)
def test_violations_name_exactly_the_perturbed_features(
    penguins_processed: Path,
    penguins_baseline: Path,
    tmp_path: Path,
    perturb: Callable[[Records], Records],
    expected: set[tuple[str, str]],
) -> None:
    dataset = write_jsonl(tmp_path / "traffic.jsonl", perturb(traffic(penguins_processed)))
    written = analyze(
        dataset,
        tmp_path / "out",
        baseline_statistics=str(penguins_baseline / "statistics.json"),
        baseline_constraints=str(penguins_baseline / "constraints.json"),
    )
    found = {
        (v["feature_name"], v["constraint_check_type"])
        for v in written["constraint_violations"]["violations"]
    }
    assert found == expected


def test_drift_description_gives_the_distance(
    penguins_processed: Path, penguins_baseline: Path, tmp_path: Path
) -> None:
    dataset = write_jsonl(
        tmp_path / "traffic.jsonl", shift_culmen_length(traffic(penguins_processed))
    )
    written = analyze(
        dataset,
        tmp_path / "out",
        baseline_statistics=str(penguins_baseline / "statistics.json"),
        baseline_constraints=str(penguins_baseline / "constraints.json"),
    )
    [violation] = written["constraint_violations"]["violations"]
    baseline_values = pd.read_csv(baseline(penguins_processed))["culmen_length_mm"]
    shifted = [r["culmen_length_mm"] for r in read_jsonl(dataset)]
    distance = ks_2samp(baseline_values.dropna(), shifted).statistic  # exact: both below k
    # Robust: the distance must also beat the two-sample KS critical value at alpha = 0.001
    floor = np.sqrt(-np.log(0.001 / 2) / 2) * np.sqrt((239 + 52) / (239 * 52))
    assert violation["description"] == (
        f"Baseline drift distance: {distance:.6g} exceeds threshold: 0.1 "
        f"(and the Robust sample-size floor {floor:.6g})"
    )


def test_cloudwatch_metric_records(
    penguins_processed: Path, penguins_baseline: Path, tmp_path: Path
) -> None:
    dataset = write_jsonl(tmp_path / "traffic.jsonl", traffic(penguins_processed))
    metrics_dir = tmp_path / "cloudwatch"
    analyze(
        dataset,
        tmp_path / "out",
        baseline_statistics=str(penguins_baseline / "statistics.json"),
        baseline_constraints=str(penguins_baseline / "constraints.json"),
        publish_cloudwatch_metrics="Enabled",
        cloudwatch_metrics_directory=str(metrics_dir),
        sagemaker_endpoint_name="penguins",
        sagemaker_monitoring_schedule_name="penguins-data-quality",
        end_time="2026-12-01T10:00:00Z",
    )
    records = {r["MetricName"]: r for r in read_jsonl(metrics_dir / "cloudwatch_metrics.jsonl")}
    values = np.array([r["body_mass_g"] for r in traffic(penguins_processed)], dtype=float)
    assert records["feature_data_body_mass_g"]["StatisticValues"] == {
        "SampleCount": 52.0,
        "Sum": pytest.approx(values.sum()),
        "Minimum": values.min(),
        "Maximum": values.max(),
    }
    assert records["feature_non_null_island"]["Value"] == 1.0
    assert 0 <= records["feature_baseline_drift_island"]["Value"] < 0.3
    assert records["feature_data_body_mass_g"]["Dimensions"] == [
        {"Name": "Endpoint", "Value": "penguins"},
        {"Name": "MonitoringSchedule", "Value": "penguins-data-quality"},
    ]
    assert {r["Timestamp"] for r in records.values()} == {"2026-12-01T10:00:00Z"}


# --- data capture -----------------------------------------------------------------------------

CAPTURE = '{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}'


def capture_event(
    index: int, body: str, content_type: str, base64_body: bool = False
) -> dict[str, Any]:
    """One line of an endpoint's data-capture file, as SageMaker writes it."""
    data = base64.b64encode(body.encode()).decode() if base64_body else body
    return {
        "captureData": {
            "endpointInput": {
                "observedContentType": content_type,
                "mode": "INPUT",
                "data": data,
                "encoding": "BASE64" if base64_body else "JSON",
            },
            "endpointOutput": {
                "observedContentType": "application/json",
                "mode": "OUTPUT",
                "data": json.dumps([{"prediction": 0, "label": "Adelie", "confidence": 0.9}]),
                "encoding": "JSON",
            },
        },
        "eventMetadata": {
            "eventId": f"event-{index}",
            "inferenceId": f"id-{index}",
            "inferenceTime": "2026-12-01T09:00:00Z",
        },
        "eventVersion": "0",
    }


def captured(records: Records) -> Records:
    """Requests as clients send them: single objects, a base64 one, a JSON lines batch of 2."""
    events = [capture_event(0, json.dumps(records[0]), "application/json", base64_body=True)]
    events.append(
        capture_event(1, "\n".join(json.dumps(r) for r in records[1:3]), "application/jsonlines")
    )
    events += [
        capture_event(i, json.dumps(r), "application/json") for i, r in enumerate(records[3:], 3)
    ]
    return events


def test_captured_requests_give_the_statistics_of_the_requests(
    penguins_processed: Path, penguins_baseline: Path, tmp_path: Path
) -> None:
    requests = traffic(penguins_processed)
    direct = analyze(write_jsonl(tmp_path / "requests.jsonl", requests), tmp_path / "direct")
    capture = tmp_path / "capture/penguins/AllTraffic/2026/12/01/09"
    capture.mkdir(parents=True)
    write_jsonl(capture / "09-00-00-000-abc.jsonl", captured(requests))
    written = analyze(
        tmp_path / "capture",
        tmp_path / "out",
        dataset_format=CAPTURE,
        baseline_statistics=str(penguins_baseline / "statistics.json"),
        baseline_constraints=str(penguins_baseline / "constraints.json"),
    )
    assert written["statistics"] == direct["statistics"]
    assert written["constraint_violations"] == {"violations": []}


def test_record_preprocessor_keeps_the_baseline_features(
    penguins_processed: Path, penguins_baseline: Path, tmp_path: Path
) -> None:
    preprocessor = REPO / "jobkit/capture.py"  # the record preprocessor Model Monitor loads
    requests = [{**r, "sex": "MALE", "id": i} for i, r in enumerate(traffic(penguins_processed))]
    dataset = write_jsonl(tmp_path / "capture.jsonl", captured(requests))
    check = {
        "dataset_format": CAPTURE,
        "baseline_statistics": str(penguins_baseline / "statistics.json"),
        "baseline_constraints": str(penguins_baseline / "constraints.json"),
    }
    raw = analyze(dataset, tmp_path / "raw", **check)
    extra = {v["feature_name"] for v in raw["constraint_violations"]["violations"]}
    assert extra == {"sex", "id"}
    kept = analyze(
        dataset,
        tmp_path / "kept",
        **check,
        record_preprocessor_script=str(preprocessor),
        # what the penguins schedule puts in its job's environment for the preprocessor
        MONITOR_NUMERIC_FEATURES="culmen_length_mm,culmen_depth_mm,flipper_length_mm,body_mass_g",
        MONITOR_CATEGORICAL_FEATURES="island",
    )
    assert kept["constraint_violations"] == {"violations": []}
    baseline_names = json.loads((penguins_baseline / "statistics.json").read_text())["features"]
    assert {f["name"] for f in kept["statistics"]["features"]} == {
        f["name"] for f in baseline_names
    }


# --- model quality ----------------------------------------------------------------------------


def load_serving() -> ModuleType:
    return load_package("serving_for_analyzer")


def transform_records(processed: Path) -> Records:
    """What TransformTestSet writes for the preprocess output in `processed`: each test record
    joined with the real inference handler's answer, from a logistic regression trained on the
    real train split."""
    train = pd.read_csv(processed / "train/train.csv")
    model = LogisticRegression(max_iter=1000).fit(train.iloc[:, 1:].to_numpy(), train["label"])
    serving = load_serving()
    artifacts = serving.load_artifacts(processed / "artifacts")
    validator = jsonschema.Draft202012Validator(record_contract())
    joined = []
    for line in (processed / "baseline/test.jsonl").read_text().splitlines():
        status, body, _ = serving.invoke(
            model.predict_proba, artifacts, line, "application/jsonlines", "application/jsonlines"
        )
        assert status == 200
        record = {**json.loads(line), "SageMakerOutput": json.loads(body)}  # JoinSource=Input
        assert list(validator.iter_errors(record)) == []
        joined.append(record)
    return joined


@pytest.fixture(scope="module")
def penguins_transform_output(
    penguins_processed: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("transform") / "test.jsonl.out"
    return write_jsonl(path, transform_records(penguins_processed))


MODEL_QUALITY = {
    "analysis_type": "MODEL_QUALITY",
    "problem_type": "MulticlassClassification",
    "inference_attribute": "SageMakerOutput.label",
    "probability_attribute": "SageMakerOutput.confidence",
    "ground_truth_attribute": "ground_truth",
}


def assert_multiclass(found: dict[str, Any], actual: list[str], predicted: list[str]) -> None:
    assert found["accuracy"]["value"] == pytest.approx(skm.accuracy_score(actual, predicted))
    for name, score in [
        ("weighted_precision", skm.precision_score),
        ("weighted_recall", skm.recall_score),
        ("weighted_f1", skm.f1_score),
    ]:
        assert found[name]["value"] == pytest.approx(
            score(actual, predicted, average="weighted", zero_division=0)
        )
    for name, beta in [("weighted_f0_5", 0.5), ("weighted_f2", 2.0)]:
        expected = skm.fbeta_score(
            actual, predicted, beta=beta, average="weighted", zero_division=0
        )
        assert found[name]["value"] == pytest.approx(expected)
    labels = sorted(set(actual) | set(predicted))
    matrix = skm.confusion_matrix(actual, predicted, labels=labels)
    assert found["confusion_matrix"] == {
        a: {p: float(matrix[i, j]) for j, p in enumerate(labels)} for i, a in enumerate(labels)
    }
    majority = max(set(actual), key=lambda label: (actual.count(label), -labels.index(label)))
    assert found["accuracy_best_constant_classifier"]["value"] == pytest.approx(
        actual.count(majority) / len(actual)
    )


def test_multiclass_metrics_match_sklearn_on_penguins(
    penguins_transform_output: Path, tmp_path: Path
) -> None:
    written = analyze(penguins_transform_output, tmp_path / "out", **MODEL_QUALITY)
    records = read_jsonl(penguins_transform_output)
    actual = [r["ground_truth"] for r in records]
    predicted = [r["SageMakerOutput"]["label"] for r in records]
    found = written["statistics"]["multiclass_classification_metrics"]
    assert written["statistics"]["dataset"]["item_count"] == 52
    assert_multiclass(found, actual, predicted)
    assert found["accuracy"]["standard_deviation"] == "NaN"  # fewer than 200 records
    constraints = written["constraints"]["multiclass_classification_constraints"]
    assert constraints["accuracy"] == {
        "threshold": found["accuracy"]["value"],
        "comparison_operator": "LessThanThreshold",
    }
    assert set(constraints) == {
        "accuracy",
        "weighted_recall",
        "weighted_precision",
        "weighted_f0_5",
        "weighted_f1",
        "weighted_f2",
    }


def test_multiclass_metrics_match_sklearn_on_digits(tmp_path: Path) -> None:
    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.data, digits.target, test_size=0.3, random_state=0
    )
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    predicted = model.fit(x_train, y_train).predict(x_test)
    records = [
        {
            "ground_truth": str(t),
            "SageMakerOutput": {"prediction": int(p), "label": str(p), "confidence": 0.9},
        }
        for t, p in zip(y_test, predicted, strict=True)
    ]
    written = analyze(
        write_jsonl(tmp_path / "digits.jsonl", records), tmp_path / "out", **MODEL_QUALITY
    )
    found = written["statistics"]["multiclass_classification_metrics"]
    assert_multiclass(found, [str(t) for t in y_test], [str(p) for p in predicted])
    deviation = found["weighted_f1"]["standard_deviation"]  # 540 records: 5 samples of 80%
    assert isinstance(deviation, float) and 0 < deviation < 0.05


@pytest.fixture(scope="module")
def breast_cancer_records() -> Records:
    data = load_breast_cancer()
    x_train, x_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.4, random_state=0, stratify=data.target
    )
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(x_train, y_train)
    names = list(data.target_names)  # 0 = malignant, 1 = benign
    malignant = model.predict_proba(x_test)[:, names.index("malignant")]
    return [
        {"ground_truth": names[t], "SageMakerOutput": {"label": names[p], "probability": float(m)}}
        for t, p, m in zip(y_test, model.predict(x_test), malignant, strict=True)
    ]


BINARY = {
    "analysis_type": "MODEL_QUALITY",
    "problem_type": "BinaryClassification",
    "inference_attribute": "SageMakerOutput.label",
    "probability_attribute": "SageMakerOutput.probability",
    "ground_truth_attribute": "ground_truth",
    "positive_label": "malignant",
}


def test_binary_metrics_match_sklearn_on_breast_cancer(
    breast_cancer_records: Records, tmp_path: Path
) -> None:
    dataset = write_jsonl(tmp_path / "cancer.jsonl", breast_cancer_records)
    found = analyze(dataset, tmp_path / "out", **BINARY)["statistics"][
        "binary_classification_metrics"
    ]
    actual = np.array([r["ground_truth"] == "malignant" for r in breast_cancer_records], dtype=int)
    predicted = np.array(
        [r["SageMakerOutput"]["label"] == "malignant" for r in breast_cancer_records], dtype=int
    )
    scores = np.array([r["SageMakerOutput"]["probability"] for r in breast_cancer_records])
    tn, fp, fn, tp = skm.confusion_matrix(actual, predicted).ravel()
    expected = {
        "accuracy": skm.accuracy_score(actual, predicted),
        "precision": skm.precision_score(actual, predicted),
        "recall": skm.recall_score(actual, predicted),
        "f1": skm.f1_score(actual, predicted),
        "f0_5": skm.fbeta_score(actual, predicted, beta=0.5),
        "f2": skm.fbeta_score(actual, predicted, beta=2),
        "auc": skm.roc_auc_score(actual, scores),
        "true_negative_rate": tn / (tn + fp),
        "false_positive_rate": fp / (fp + tn),
        "false_negative_rate": fn / (fn + tp),
        "accuracy_best_constant_classifier": actual.mean(),  # always the positive class
        "recall_best_constant_classifier": 1.0,
    }
    assert {name: found[name]["value"] for name in expected} == pytest.approx(expected)
    assert found["confusion_matrix"] == {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}}
    fpr, tpr, _ = skm.roc_curve(actual, scores, drop_intermediate=False)
    curve = found["receiver_operating_characteristic_curve"]
    assert curve == {
        "false_positive_rates": pytest.approx(fpr.tolist()),
        "true_positive_rates": pytest.approx(tpr.tolist()),
    }


def test_binary_precision_recall_curve_matches_sklearn(
    breast_cancer_records: Records, tmp_path: Path
) -> None:
    dataset = write_jsonl(tmp_path / "cancer.jsonl", breast_cancer_records)
    found = analyze(dataset, tmp_path / "out", **BINARY)["statistics"][
        "binary_classification_metrics"
    ]
    actual = [int(r["ground_truth"] == "malignant") for r in breast_cancer_records]
    scores = [r["SageMakerOutput"]["probability"] for r in breast_cancer_records]
    precision, recall, _ = skm.precision_recall_curve(actual, scores, drop_intermediate=False)
    curve = found["precision_recall_curve"]
    # sklearn lists thresholds rising (and ends with precision 1, recall 0); Model Monitor's
    # curve, like the ROC curve, runs from the highest threshold down.
    assert curve["precisions"] == pytest.approx(precision[::-1].tolist())
    assert curve["recalls"] == pytest.approx(recall[::-1].tolist())


def flip_binary(records: Records, every: int) -> Records:
    """Every `every`-th answer turned into the other class, its probability mirrored."""
    out = json.loads(json.dumps(records))
    for i, record in enumerate(out):
        if i % every == 0:
            answer = record["SageMakerOutput"]
            answer["label"] = "benign" if answer["label"] == "malignant" else "malignant"
            answer["probability"] = 1.0 - answer["probability"]
    return out


def test_binary_check_against_a_baseline(breast_cancer_records: Records, tmp_path: Path) -> None:
    dataset = write_jsonl(tmp_path / "cancer.jsonl", breast_cancer_records)
    analyze(dataset, tmp_path / "base", **BINARY)
    check = {**BINARY, "baseline_constraints": str(tmp_path / "base/constraints.json")}
    assert analyze(dataset, tmp_path / "same", **check)["constraint_violations"] == {
        "violations": []
    }
    worse = write_jsonl(tmp_path / "worse.jsonl", flip_binary(breast_cancer_records, every=4))
    written = analyze(worse, tmp_path / "worse", **check)
    violations = {v["metric_name"]: v["constraint_check_type"] for v in
                  written["constraint_violations"]["violations"]}  # fmt: skip
    assert violations["auc"] == "LessThanThreshold"
    assert violations["accuracy"] == "LessThanThreshold"
    assert {violations[r] for r in ("false_positive_rate", "false_negative_rate")} == {
        "GreaterThanThreshold"
    }


def analyze_binary_capture(records: Records, folder: Path, **env: str) -> dict[str, Any]:
    """The schedule's case for a binary endpoint: each record's answer captured, its ground
    truth written by inference id; analyzed over `0.label`, `0.probability`, class names."""
    events, truths = [], []
    for i, record in enumerate(records):
        event = capture_event(i, json.dumps({"mean_radius": 1.0}), "application/json")
        event["captureData"]["endpointOutput"]["data"] = json.dumps([record["SageMakerOutput"]])
        events.append(event)
        truths.append({
            "eventMetadata": {"eventId": f"id-{i}"},
            "eventVersion": "0",
            "groundTruthData": {"data": record["ground_truth"], "encoding": "CSV"},
        })  # fmt: skip
    write_jsonl(folder / "capture.jsonl", events)
    (folder / "ground-truth").mkdir()
    write_jsonl(folder / "ground-truth/labels.jsonl", truths)
    return analyze(
        folder / "capture.jsonl",
        folder / "out",
        **{**BINARY, "inference_attribute": "0.label", "probability_attribute": "0.probability"},
        dataset_format=CAPTURE,
        ground_truth_source=str(folder / "ground-truth"),
        **env,
    )


def test_binary_model_quality_over_capture_reads_the_positive_probability(
    breast_cancer_records: Records, tmp_path: Path
) -> None:
    written = analyze_binary_capture(breast_cancer_records, tmp_path)
    found = written["statistics"]["binary_classification_metrics"]
    actual = [int(r["ground_truth"] == "malignant") for r in breast_cancer_records]
    scores = [r["SageMakerOutput"]["probability"] for r in breast_cancer_records]
    assert found["auc"]["value"] == pytest.approx(skm.roc_auc_score(actual, scores))


# (probability of malignant, true class): the model's label is its class at 0.5
HAND_MADE = [
    (0.95, "malignant"),
    (0.7, "malignant"),
    (0.55, "benign"),
    (0.3, "benign"),
    (0.92, "benign"),
    (0.6, "malignant"),
]


@pytest.mark.parametrize(
    ("threshold", "matrix"),
    [
        # at 0.5 the threshold agrees with the labels: 1 true negative, 2 false positives, 3 hits
        ("0.5", {"0": {"0": 1.0, "1": 2.0}, "1": {"0": 0.0, "1": 3.0}}),
        # at 0.9 only 0.95 and 0.92 are malignant: 0.7 and 0.6 are missed, 0.55 and 0.3 right
        ("0.9", {"0": {"0": 2.0, "1": 1.0}, "1": {"0": 2.0, "1": 1.0}}),
    ],
)
def test_the_probability_threshold_decides_the_binary_class(
    tmp_path: Path, threshold: str, matrix: dict[str, dict[str, float]]
) -> None:
    """As Model Monitor pairs them: probability >= threshold is the positive class, whatever
    the answer's label says (the compiled checks pass both)."""
    records = [
        {
            "ground_truth": truth,
            "SageMakerOutput": {
                "label": "malignant" if p >= 0.5 else "benign",
                "probability": p,
            },
        }
        for p, truth in HAND_MADE
    ]
    written = analyze_binary_capture(records, tmp_path, probability_threshold_attribute=threshold)
    found = written["statistics"]["binary_classification_metrics"]
    assert written["statistics"]["dataset"]["item_count"] == len(HAND_MADE)
    assert found["confusion_matrix"] == matrix
    predicted = [int(p >= float(threshold)) for p, _ in HAND_MADE]
    actual = [int(t == "malignant") for _, t in HAND_MADE]
    assert found["recall"]["value"] == pytest.approx(skm.recall_score(actual, predicted))


def test_binary_csv_with_zero_one_labels(breast_cancer_records: Records, tmp_path: Path) -> None:
    path = tmp_path / "cancer.csv"
    rows = [
        (int(r["ground_truth"] == "malignant"), int(r["SageMakerOutput"]["label"] == "malignant"))
        for r in breast_cancer_records
    ]
    path.write_text("label,prediction\n" + "".join(f"{a},{p}\n" for a, p in rows))
    env = {**BINARY, "inference_attribute": "prediction", "ground_truth_attribute": "label"}
    del env["probability_attribute"], env["positive_label"]
    written = analyze(path, tmp_path / "out", **env, dataset_format='{"csv": {"header": true}}')
    found = written["statistics"]["binary_classification_metrics"]
    actual, predicted = zip(*rows, strict=True)
    assert found["f1"]["value"] == pytest.approx(skm.f1_score(actual, predicted))
    assert "auc" not in found  # no probabilities
    assert "auc" not in written["constraints"]["binary_classification_constraints"]


def test_model_quality_over_capture_joined_with_ground_truth(
    penguins_transform_output: Path, tmp_path: Path
) -> None:
    """The monitoring job's case: captured answers, ground truth written later by inference id."""
    records = read_jsonl(penguins_transform_output)
    events, truths = [], []
    for i, record in enumerate(records):
        request = {k: v for k, v in record.items() if k not in ("ground_truth", "SageMakerOutput")}
        event = capture_event(i, json.dumps(request), "application/json")
        event["captureData"]["endpointOutput"]["data"] = json.dumps([record["SageMakerOutput"]])
        events.append(event)
        if i % 5:  # some inferences never get ground truth: left out, as Model Monitor does
            truths.append({
                "eventMetadata": {"eventId": f"id-{i}"},
                "eventVersion": "0",
                "groundTruthData": {"data": record["ground_truth"], "encoding": "CSV"},
            })  # fmt: skip
    write_jsonl(tmp_path / "capture.jsonl", events)
    (tmp_path / "ground-truth/2026/12/01/10").mkdir(parents=True)
    write_jsonl(tmp_path / "ground-truth/2026/12/01/10/labels.jsonl", truths)
    written = analyze(
        tmp_path / "capture.jsonl",
        tmp_path / "out",
        **{
            **MODEL_QUALITY,
            "inference_attribute": "0.label",
            "probability_attribute": "0.confidence",
        },
        dataset_format=CAPTURE,
        ground_truth_source=str(tmp_path / "ground-truth"),
    )
    labelled = [r for i, r in enumerate(records) if i % 5]
    actual = [r["ground_truth"] for r in labelled]
    predicted = [r["SageMakerOutput"]["label"] for r in labelled]
    found = written["statistics"]["multiclass_classification_metrics"]
    assert written["statistics"]["dataset"]["item_count"] == len(labelled)
    assert_multiclass(found, actual, predicted)


def degrade(records: Records, every: int) -> Records:
    """Every `every`-th prediction replaced by another class."""
    out = json.loads(json.dumps(records))
    for i, record in enumerate(out):
        if i % every == 0:
            record["SageMakerOutput"]["label"] = (
                "Gentoo" if record["ground_truth"] != "Gentoo" else "Adelie"
            )
    return out


def test_model_quality_check_against_a_baseline(
    penguins_transform_output: Path, tmp_path: Path
) -> None:
    analyze(penguins_transform_output, tmp_path / "base", **MODEL_QUALITY)
    check = {**MODEL_QUALITY, "baseline_constraints": str(tmp_path / "base/constraints.json")}
    same = analyze(penguins_transform_output, tmp_path / "same", **check)
    assert same["constraint_violations"] == {"violations": []}
    worse = write_jsonl(
        tmp_path / "worse.jsonl", degrade(read_jsonl(penguins_transform_output), every=3)
    )
    written = analyze(worse, tmp_path / "worse", **check)
    violations = {v["metric_name"]: v for v in written["constraint_violations"]["violations"]}
    assert set(violations) == {
        "accuracy",
        "weighted_recall",
        "weighted_precision",
        "weighted_f0_5",
        "weighted_f1",
        "weighted_f2",
    }
    accuracy = written["statistics"]["multiclass_classification_metrics"]["accuracy"]["value"]
    baseline_accuracy = json.loads((tmp_path / "base/constraints.json").read_text())[
        "multiclass_classification_constraints"
    ]["accuracy"]["threshold"]
    assert violations["accuracy"] == {
        "constraint_check_type": "LessThanThreshold",
        "description": (
            f"Metric accuracy with {accuracy:.6g} was LessThanThreshold '{baseline_accuracy}'"
        ),
        "metric_name": "accuracy",
    }


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("records", "env", "message"),
    [
        pytest.param(
            None, {"dataset_source": ""}, "setting dataset_source is missing", id="no-dataset"
        ),
        pytest.param(
            [{"a": 1}],
            {"dataset_format": '{"parquet": {}}'},
            "dataset_format='{\"parquet\": {}}': "
            "expected one key, json, csv or sagemakerCaptureJson",
            id="bad-format",
        ),
        pytest.param(
            [{"captureData": {}}],
            {**MODEL_QUALITY, "dataset_format": CAPTURE},
            "setting ground_truth_source is missing\n"
            "  why: model quality over data capture joins each captured answer with its ground",
            id="model-quality-capture-without-ground-truth",
        ),
        pytest.param(
            [{"captureData": {}}],
            {"dataset_format": CAPTURE},
            "no record left after preprocessing\n  why: statistics need at least one record",
            id="capture-without-input",  # a bad record is skipped (and counted), not fatal
        ),
        pytest.param(
            [{"a": 1}],
            {"record_preprocessor_script": "pre.py"},
            "setting record_preprocessor_script is given for a dataset that is not data capture",
            id="preprocessor-without-capture",
        ),
        pytest.param(
            "pixels",
            {},
            "data.jsonl:1: feature 'pixels' holds a list of 64 items\n"
            "  why: data-quality analysis takes flat records",
            id="digits-pixel-list",
        ),
        pytest.param(
            [
                {"ground_truth": "Adelie", "SageMakerOutput": {"label": "Adelie"}},
                {"ground_truth": "Adelie"},
            ],
            MODEL_QUALITY,
            "data.jsonl:2: inference_attribute='SageMakerOutput.label' finds nothing "
            "(no 'SageMakerOutput' there)",
            id="record-without-prediction",
        ),
        pytest.param(
            [
                {
                    "ground_truth": "benign",
                    "SageMakerOutput": {"label": "benign", "probability": 0.1},
                }
            ],
            {**BINARY, "positive_label": ""},
            "data.jsonl:1: ground_truth_attribute value 'benign' is not a binary label\n"
            "  why: BinaryClassification takes labels 0/1 or true/false\n"
            "  fix: set positive_label",
            id="binary-without-positive-label",
        ),
        pytest.param(
            [{"a": 1}],
            {**MODEL_QUALITY, "problem_type": "Ranking"},
            "setting problem_type='Ranking'",
            id="bad-problem-type",
        ),
    ],
)
def test_bad_input_is_refused_with_where_what_fix(
    tmp_path: Path, digits_processed: Path, records: Any, env: dict[str, str], message: str
) -> None:
    path = tmp_path / "data.jsonl"
    if records == "pixels":  # an image as a request carries it: a list of pixels
        path.write_text((digits_processed / "baseline/test.jsonl").read_text())
    elif records is not None:
        write_jsonl(path, records)
    output = tmp_path / "out"
    proc = run_script(
        ANALYZER,
        env={
            "dataset_format": JSON_LINES,
            "dataset_source": str(path),
            "output_path": str(output),
            **env,
        },
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not output.exists() or not any(output.iterdir())  # nothing half-written


def test_malformed_baseline_is_refused(
    penguins_processed: Path, penguins_baseline: Path, tmp_path: Path
) -> None:
    statistics = json.loads((penguins_baseline / "statistics.json").read_text())
    del statistics["features"][1]["numerical_statistics"]["common"]
    broken = tmp_path / "statistics.json"
    broken.write_text(json.dumps(statistics))
    dataset = write_jsonl(tmp_path / "traffic.jsonl", traffic(penguins_processed))
    proc = run_script(
        ANALYZER,
        env={
            "dataset_source": str(dataset),
            "output_path": str(tmp_path / "out"),
            "baseline_statistics": str(broken),
            "baseline_constraints": str(penguins_baseline / "constraints.json"),
        },
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr == (
        f"error: settings baseline_statistics={broken} and baseline_constraints="
        f"{penguins_baseline / 'constraints.json'}: not in Model Monitor's format "
        "(KeyError: 'common')\n"
        "  fix: give the statistics.json and constraints.json of a DATA_QUALITY baseline job\n"
    )
    assert not (tmp_path / "out").exists()


def test_broken_json_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text('{"a": 1}\n{"a": \n')
    arguments = ["--dataset_source", str(path), "--output_path", str(tmp_path / "out")]
    proc = run_script(ANALYZER, *arguments, "--base_dir", str(tmp_path), check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: {path}:2: not JSON (")
    assert "fix: fix the line, or set dataset_format to the data's real format" in proc.stderr


# --- the schemas ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checked_traffic(
    penguins_processed: Path, penguins_baseline: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The three files of a check that finds violations (valid against the schemas)."""
    folder = tmp_path_factory.mktemp("checked")
    dataset = write_jsonl(folder / "traffic.jsonl", rename_biscoe(traffic(penguins_processed)))
    return analyze(
        dataset,
        folder / "out",
        baseline_statistics=str(penguins_baseline / "statistics.json"),
        baseline_constraints=str(penguins_baseline / "constraints.json"),
    )


@pytest.fixture(scope="module")
def model_quality_statistics(
    penguins_transform_output: Path, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    folder = tmp_path_factory.mktemp("model_quality")
    return analyze(penguins_transform_output, folder, **MODEL_QUALITY)["statistics"]


def broken(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `document` with the value at the dotted `path` replaced (or removed: None)."""
    copy = json.loads(json.dumps(document))
    *parents, last = path.split(".")
    node: Any = copy
    for step in parents:
        node = node[int(step)] if step.isdigit() else node[step]
    if value is None:
        del node[int(last) if last.isdigit() else last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return copy


@pytest.mark.parametrize(
    ("name", "path", "value"),
    [
        pytest.param("statistics", "features.1.inferred_type", "Float", id="unknown-type"),
        pytest.param("statistics", "features.1.numerical_statistics.mean", None, id="no-mean"),
        pytest.param(
            "statistics", "features.0.string_statistics.common.num_present", -1, id="negative-count"
        ),
        pytest.param("statistics", "dataset", None, id="no-dataset"),
        pytest.param("constraints", "features.0.completeness", 1.5, id="completeness-above-1"),
        pytest.param(
            "constraints",
            "monitoring_config.distribution_constraints.comparison_method",
            "Fuzzy",
            id="unknown-method",
        ),
        pytest.param(
            "constraints",
            "multiclass_classification_constraints",
            {"accuracy": {"threshold": 0.9, "comparison_operator": "LessThanThreshold"}},
            id="constraints-of-both-forms",
        ),
        pytest.param(
            "constraint_violations",
            "violations.0.constraint_check_type",
            "drift_check",
            id="unknown-check",
        ),
        pytest.param(
            "constraint_violations", "violations.0.feature_name", None, id="no-feature-name"
        ),
    ],
)
def test_schemas_reject_what_aws_does_not_define(
    checked_traffic: dict[str, Any], name: str, path: str, value: Any
) -> None:
    assert list(schema(name).iter_errors(checked_traffic[name])) == []
    assert list(schema(name).iter_errors(broken(checked_traffic[name], path, value))) != []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        pytest.param(
            "multiclass_classification_metrics.accuracy.standard_deviation", None, id="no-deviation"
        ),
        pytest.param(
            "multiclass_classification_metrics.weighted_f1.standard_deviation",
            "n/a",
            id="bad-deviation",
        ),
        pytest.param(
            "multiclass_classification_metrics.confusion_matrix.Adelie.Adelie", "3", id="text-count"
        ),
        pytest.param("features", [], id="both-forms"),
    ],
)
def test_model_quality_statistics_schema_rejects(
    model_quality_statistics: Any, path: str, value: Any
) -> None:
    assert list(schema("statistics").iter_errors(model_quality_statistics)) == []
    assert (
        list(schema("statistics").iter_errors(broken(model_quality_statistics, path, value))) != []
    )


# --- the script itself ------------------------------------------------------------------------


def load_analyzer() -> ModuleType:
    """The analyzer's data-quality module (where its statistics and checks live)."""
    return importlib.import_module("components.quality_check.scripts.data_quality")


def test_runs_on_python_3_9_with_numpy_only() -> None:
    shipped = [*ANALYZER.parent.glob("*.py"), REPO / "jobkit/capture.py"]
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for path in shipped
        for node in ast.walk(ast.parse(path.read_text(), feature_version=(3, 9)))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert imported - set(sys.stdlib_module_names) == {"numpy", "components", "jobkit"}


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=60,
    ),
    st.integers(min_value=0, max_value=5),
)
def test_statistics_of_any_numeric_column_match_numpy(values: list[float], missing: int) -> None:
    analyzer = load_analyzer()
    records = [("x", {"v": v}) for v in values] + [("x", {"v": None})] * missing
    _, statistics, constraints = analyzer.data_quality(records)
    [feature] = statistics["features"]
    stats, column = feature["numerical_statistics"], np.array(values)
    assert stats["common"] == {"num_present": len(values), "num_missing": missing}
    assert stats["mean"] == pytest.approx(column.mean(), rel=1e-9, abs=1e-6)
    assert stats["std_dev"] == pytest.approx(column.std(), rel=1e-9, abs=1e-6)
    assert (stats["min"], stats["max"]) == (column.min(), column.max())
    assert sum(b["count"] for b in stats["distribution"]["kll"]["buckets"]) == len(values)
    assert constraints["features"][0]["completeness"] == pytest.approx(
        len(values) / (len(values) + missing)
    )


def test_kll_sketch_of_many_values_keeps_quantiles_close() -> None:
    analyzer = load_analyzer()
    values = np.random.default_rng(1).normal(size=20_000)
    levels = analyzer.kll_sketch(values)
    items = sum(len(level) for level in levels)
    assert len(levels) > 1 and items < 6000  # compacted
    assert sum(len(level) * 2**h for h, level in enumerate(levels)) == pytest.approx(
        len(values), rel=0.01
    )
    exact = {
        "numerical_statistics": {
            "distribution": {"kll": {"sketch": {"data": [sorted(values.tolist())]}}}
        }
    }
    sketched = {"numerical_statistics": {"distribution": {"kll": {"sketch": {"data": levels}}}}}
    distance = analyzer.cdf_distance(
        exact["numerical_statistics"], sketched["numerical_statistics"]
    )
    assert distance < 0.01


def drift_violations(method: str, drift_method: str = "LInfinity") -> tuple[float, list[Any]]:
    """A small shift of a numeric feature and a small change of a categorical one, checked with
    comparison_method `method` (and categorical_drift_method `drift_method`)."""
    analyzer = load_analyzer()
    rng = np.random.default_rng(7)
    base = [("b", {"x": float(v), "c": "ab"[i % 2]}) for i, v in enumerate(rng.normal(size=200))]
    now = [
        ("n", {"x": float(v), "c": "ab"[i % 3 > 0]})
        for i, v in enumerate(rng.normal(0.4, 1, size=30))
    ]
    _, base_statistics, constraints = analyzer.data_quality(base)
    columns, statistics, _ = analyzer.data_quality(now)
    options = constraints["monitoring_config"]["distribution_constraints"]
    options.update(comparison_method=method, categorical_drift_method=drift_method)
    violations, distances = analyzer.check_data_quality(
        columns, statistics, constraints, base_statistics
    )
    return distances["x"], violations


def test_simple_comparison_flags_what_robust_calls_sampling_noise() -> None:
    distance, simple = drift_violations("Simple")
    assert 0.1 < distance < 0.38  # above the threshold, below the KS floor for 200 and 30 values
    assert {v["feature_name"] for v in simple} == {"x", "c"}
    assert drift_violations("Robust")[1] == []


def test_chi_squared_drift_is_refused() -> None:
    analyzer = load_analyzer()
    with pytest.raises(analyzer.InputError, match="this analyzer implements LInfinity only"):
        drift_violations("Robust", drift_method="ChiSquared")


def bad_capture_events(first: int) -> Records:
    """Captured requests that give no record: not JSON, not BASE64, no JSON object."""
    events = [
        capture_event(first, "not json {", "application/json"),
        capture_event(first + 1, "%%%", "application/json"),
        capture_event(first + 2, "42", "application/json"),
    ]
    events[1]["captureData"]["endpointInput"]["encoding"] = "BASE64"
    return events


def test_bad_captured_records_are_skipped_and_counted(
    penguins_processed: Path, tmp_path: Path
) -> None:
    """The one bad-record rule (jobkit/capture.py), as the monitoring job applies it too."""
    requests = traffic(penguins_processed)[:10]
    events = captured(requests)
    dataset = write_jsonl(tmp_path / "capture.jsonl", events + bad_capture_events(len(events)))
    proc = run_script(
        ANALYZER,
        env={
            "dataset_format": CAPTURE,
            "dataset_source": str(dataset),
            "output_path": str(tmp_path / "out"),
        },
    )
    statistics = json.loads((tmp_path / "out/statistics.json").read_text())
    assert statistics["dataset"]["item_count"] == len(requests)
    assert f"analyzer: skipped 3 of {len(events) + 3} captured requests" in proc.stdout
    for line in range(len(events) + 1, len(events) + 4):
        assert f"capture.jsonl:{line}: skipped a captured request" in proc.stderr

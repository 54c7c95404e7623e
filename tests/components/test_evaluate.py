"""The evaluate script on real trained models, and its report against the declared schema."""

from __future__ import annotations

import importlib.util
import io
import json
import re
import shutil
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import numpy as np
import pytest
from sklearn import metrics as skm

from tests.components.fixtures_models import PROJECTS, TrainedModel, cases
from tests.components.runner import REPO, load_serving, run_script

EVALUATE = REPO / "components/evaluate/scripts/evaluate.py"
TRAIN_COMMON = REPO / "components/train/scripts/common.py"
SCHEMA = json.loads((REPO / "components/evaluate/report.schema.json").read_text())
CASES = cases(PROJECTS)
SCORES = {"precision": skm.precision_score, "recall": skm.recall_score, "f1": skm.f1_score}

TrainedModelFactory = Callable[[str, str], TrainedModel]


def processing_dir(base: Path, tarball: Path | None, test_csv: Path | None) -> Path:
    """A processing base_dir with `model/model.tar.gz` and `test/test.csv` where given."""
    for name, source, target in (
        ("model", tarball, "model.tar.gz"),
        ("test", test_csv, "test.csv"),
    ):
        (base / name).mkdir(parents=True, exist_ok=True)
        if source is not None:
            shutil.copyfile(source, base / name / target)
    return base


def load_evaluate_module() -> ModuleType:
    """evaluate.py imports only numpy at module level, so its functions can be called here."""
    spec = importlib.util.spec_from_file_location("evaluate_script", EVALUATE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_matches_sklearn(
    report: dict[str, Any], y_true: np.ndarray, y_pred: np.ndarray, classes: list[str]
) -> None:
    labels = list(range(len(classes)))
    metrics = report["metrics"]
    assert metrics["confusion_matrix"]["labels"] == classes
    np.testing.assert_array_equal(
        metrics["confusion_matrix"]["matrix"], skm.confusion_matrix(y_true, y_pred, labels=labels)
    )
    assert metrics["accuracy"]["value"] == pytest.approx(skm.accuracy_score(y_true, y_pred))
    assert metrics["support"]["per_class"] == dict(
        zip(classes, np.bincount(y_true, minlength=len(classes)).tolist(), strict=True)
    )
    for name, score in SCORES.items():
        for average in ("macro", "weighted"):
            expected = score(y_true, y_pred, labels=labels, average=average, zero_division=0)
            assert metrics[name][average] == pytest.approx(expected), (name, average)
        per_class = score(y_true, y_pred, labels=labels, average=None, zero_division=0)
        assert metrics[name]["per_class"] == pytest.approx(
            dict(zip(classes, per_class.tolist(), strict=True))
        ), name


@pytest.mark.parametrize(("project", "framework"), CASES)
def test_report_follows_schema_and_agrees_with_sklearn(
    trained_model: TrainedModelFactory, tmp_path: Path, project: str, framework: str
) -> None:
    model = trained_model(project, framework)
    test_csv = model.data_dir / "test/test.csv"
    base = processing_dir(tmp_path, model.tarball, test_csv)
    proc = run_script(EVALUATE, "--base_dir", str(base))
    assert "evaluated the model on" in proc.stdout

    report = json.loads((base / "evaluation/evaluation.json").read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    metrics = report["metrics"]
    y_true = np.loadtxt(test_csv, delimiter=",", skiprows=1, usecols=0).astype(np.int64)
    matrix = np.asarray(metrics["confusion_matrix"]["matrix"])
    assert metrics["support"]["value"] == len(y_true)
    assert matrix.sum() == len(y_true)
    assert metrics["accuracy"]["value"] == pytest.approx(np.trace(matrix) / len(y_true))
    classes = json.loads((model.data_dir / "artifacts/classes.json").read_text())
    assert_matches_sklearn(report, y_true, model.test_probabilities.argmax(axis=1), classes)


def test_metrics_handle_unpredicted_and_absent_classes() -> None:
    # Class "c" is never predicted (precision 0/0) and class "d" never occurs (recall 0/0).
    classes = ["a", "b", "c", "d"]
    y_true = np.array([0, 0, 1, 1, 1, 2, 2, 0, 1, 2])
    y_pred = np.array([0, 1, 1, 1, 0, 0, 1, 0, 3, 1])
    report = load_evaluate_module().compute_metrics(y_true, y_pred, classes)
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    assert report["metrics"]["support"]["value"] == 10
    assert_matches_sklearn(report, y_true, y_pred, classes)


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("metrics.accuracy.value", id="accuracy"),
        pytest.param("metrics.precision.macro", id="precision-macro"),
        pytest.param("metrics.recall.weighted", id="recall-weighted"),
        pytest.param("metrics.f1.macro", id="f1-macro"),
        pytest.param("metrics.support.value", id="support"),
    ],
)
def test_schema_declares_condition_paths(path: str) -> None:
    # The compiler checks a condition's JSON path by walking `properties`; no $ref on the way.
    node = SCHEMA
    for key in path.split("."):
        assert key in node["properties"], path
        assert node.get("additionalProperties") is False, path
        node = node["properties"][key]
    assert node["type"] in ("number", "integer")


def test_schema_rejects_unknown_keys() -> None:
    report = load_evaluate_module().compute_metrics(np.array([0, 1]), np.array([0, 1]), ["a", "b"])
    report["metrics"]["accuracy"]["values"] = 1.0
    with pytest.raises(jsonschema.ValidationError, match="'values' was unexpected"):
        jsonschema.Draft202012Validator(SCHEMA).validate(report)


def _tarball(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return path


def _garbage(path: Path) -> Path:
    path.write_bytes(b"not gzip")
    return path


BAD_INPUTS = [
    pytest.param(
        lambda tmp: None,
        True,
        r"\S+/model/model\.tar\.gz not found \(the training job's model\.tar\.gz\)",
        id="missing-model",
    ),
    pytest.param(
        lambda tmp: _tarball(tmp / "m.tar.gz", {"model.pt": b"x"}),
        True,
        r"model\.tar\.gz has no code/inference\.py \(the model's inference handler\)",
        id="no-handler-in-archive",
    ),
    pytest.param(
        lambda tmp: _tarball(tmp / "m.tar.gz", {"code/inference.py": b"# handler\n"}),
        True,
        r"\S+/code/inference\.py defines no predictor\(model_dir\), which evaluation calls",
        id="handler-without-predictor",
    ),
    pytest.param(
        lambda tmp: _tarball(tmp / "m.tar.gz", {"../model.pt": b"x"}),
        True,
        r"\S+/model\.tar\.gz: unsafe member '\.\./model\.pt'",
        id="unsafe-archive-member",
    ),
    pytest.param(
        lambda tmp: _garbage(tmp / "m.tar.gz"),
        True,
        r"\S+/model\.tar\.gz: not a readable tar\.gz \(.+\)",
        id="not-a-tarball",
    ),
    pytest.param(
        lambda tmp: _tarball(tmp / "m.tar.gz", {"model.pt": b"x"}),
        False,
        r"\S+/test/test\.csv not found \(the preprocess output 'test'\)",
        id="missing-test-csv",
    ),
]


@pytest.mark.parametrize(("make_tarball", "with_test", "message"), BAD_INPUTS)
def test_bad_input_exits_2_with_one_line(
    penguins_processed: Path,
    tmp_path: Path,
    make_tarball: Callable[[Path], Path | None],
    with_test: bool,
    message: str,
) -> None:
    test_csv = penguins_processed / "test/test.csv" if with_test else None
    base = processing_dir(tmp_path / "processing", make_tarball(tmp_path), test_csv)
    proc = run_script(EVALUATE, "--base_dir", str(base), check=False)
    assert proc.returncode == 2, proc.stderr
    assert re.fullmatch(rf"evaluate\.py: error: {message}\n", proc.stderr), proc.stderr
    assert not (base / "evaluation").exists()


def test_unknown_argument_exits_2(tmp_path: Path) -> None:
    proc = run_script(EVALUATE, "--base_dir", str(tmp_path), "--model", "x", check=False)
    assert proc.returncode == 2
    assert proc.stderr == "evaluate.py: error: bad argument: unrecognized arguments: --model x\n"


RANKINGS = [
    pytest.param(0, 200, 0, id="distinct-scores"),
    pytest.param(1, 50, 4, id="ties-on-a-coarse-grid"),
    pytest.param(2, 7, 1, id="few-samples-two-scores"),
]


@pytest.mark.parametrize(("seed", "n", "decimals"), RANKINGS)
def test_binary_metrics_agree_with_sklearn(seed: int, n: int, decimals: int) -> None:
    rng = np.random.default_rng(seed)
    y_true = np.r_[0, 1, rng.integers(0, 2, n - 2)]  # both classes present
    positive = rng.random(n) * 0.6 + 0.4 * (y_true == 0)  # class 0 ("malignant") scores higher
    if decimals:
        positive = np.round(positive, decimals)  # many ties
    probabilities = np.c_[positive, 1 - positive]
    metrics = load_evaluate_module().binary_metrics(
        y_true, probabilities, ["malignant", "benign"], "malignant"
    )
    is_positive = (y_true == 0).astype(int)
    assert metrics["roc_auc"] == {
        "value": pytest.approx(skm.roc_auc_score(is_positive, positive)),
        "positive_class": "malignant",
    }
    assert metrics["pr_auc"] == {
        "value": pytest.approx(skm.average_precision_score(is_positive, positive)),
        "positive_class": "malignant",
    }


def test_binary_report_follows_schema() -> None:
    module = load_evaluate_module()
    y_true = np.array([0, 1, 1, 0, 1])
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3], [0.1, 0.9]])
    report = module.compute_metrics(y_true, probabilities.argmax(axis=1), ["yes", "no"])
    report["metrics"].update(module.binary_metrics(y_true, probabilities, ["yes", "no"], "no"))
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    assert report["metrics"]["roc_auc"]["value"] == pytest.approx(
        skm.roc_auc_score(y_true, probabilities[:, 1])
    )


BAD_POSITIVE = [
    pytest.param(
        ["a", "b"],
        "c",
        [0, 1],
        r"--positive_class 'c': the model's classes are \['a', 'b'\]; "
        r"a positive class is one of exactly two classes",
        id="not-a-class",
    ),
    pytest.param(
        ["a", "b", "c"],
        "a",
        [0, 1],
        r"--positive_class 'a': the model's classes are "
        r"\['a', 'b', 'c'\]; a positive class is one of exactly two classes",
        id="three-classes",
    ),
    pytest.param(
        ["a", "b"],
        "a",
        [1, 1],
        r"test\.csv: every sample is not 'a', so ROC and PR AUC are "
        r"undefined; the test split needs samples of both classes",
        id="one-class-test-set",
    ),
]


@pytest.mark.parametrize(("classes", "positive", "labels", "message"), BAD_POSITIVE)
def test_binary_metrics_refuse_what_has_no_positive_class(
    classes: list[str], positive: str, labels: list[int], message: str
) -> None:
    module = load_evaluate_module()
    probabilities = np.full((len(labels), len(classes)), 1 / len(classes))
    with pytest.raises(module.InputError, match=f"^{message}$"):
        module.binary_metrics(np.array(labels), probabilities, classes, positive)


def test_every_reader_computes_the_same_image_features(digits_processed: Path) -> None:
    """test.csv holds raw 0..255 pixels: the evaluate job, the training scripts' reader and the
    serving code (on the test records the batch transform sends) all divide them by the scale
    into the same float32 features, to the last bit."""
    transformer = json.loads((digits_processed / "artifacts/transformer.json").read_text())
    x_evaluate, y_evaluate = load_evaluate_module().read_test(
        digits_processed / "test/test.csv", transformer
    )
    spec = importlib.util.spec_from_file_location("common", TRAIN_COMMON)
    assert spec and spec.loader
    common = importlib.util.module_from_spec(spec)
    sys.modules["common"] = common  # its dataclasses look their module up
    spec.loader.exec_module(common)
    x_train_reader, y_train_reader = common.read_split(
        digits_processed / "test", "test", transformer, 10
    )
    serving = load_serving("serving_for_readers")
    records = (digits_processed / "baseline/test.jsonl").read_text()
    artifacts = serving.load_artifacts(digits_processed / "artifacts")
    x_serving = serving.parse_request(records, "application/jsonlines", artifacts)
    raw = np.loadtxt(digits_processed / "input/mnist_test.csv", delimiter=",", skiprows=1)
    expected = raw[:, 1:].astype(np.float32) / np.float32(255)
    for x in (x_evaluate, x_train_reader, x_serving):
        assert x.dtype == np.float32
        np.testing.assert_array_equal(x, expected)
    np.testing.assert_array_equal(y_evaluate, raw[:, 0].astype(np.int64))
    np.testing.assert_array_equal(y_train_reader, y_evaluate)

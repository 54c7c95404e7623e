"""One chain per (project, framework), each step a separate process as in the pipeline.

preprocess -> train -> package model.tar.gz (the shared fixtures) -> evaluate -> a fresh process
that loads the handler from the artifact and answers the test set. The row counts must add up,
and the evaluation report must agree with what the endpoint would answer.
"""

from __future__ import annotations

import csv
import json
import shutil
import tarfile
import textwrap
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest

from tests.components.fixtures_models import TrainedModel
from tests.components.runner import REPO, run_script

EVALUATE = "components/evaluate/scripts/evaluate.py"
REPORT_SCHEMA = REPO / "components" / "evaluate" / "report.schema.json"

# A model server of its own: loads <model>/code/inference.py by path (its folder on sys.path),
# then answers requests as the container would. For TensorFlow it also plays TF Serving: the
# SavedModel answers the JSON that input_handler produced.
_SERVE = textwrap.dedent(
    """
    import importlib.util, io, json, sys, types
    from pathlib import Path

    model_dir, requests_file, answers_file = map(Path, sys.argv[1:4])
    code = model_dir / "code"
    sys.path.insert(0, str(code))
    spec = importlib.util.spec_from_file_location("inference", code / "inference.py")
    handler = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(handler)

    def refused(error):
        return {"status": error.status, "body": str(error), "content_type": "error"}

    answers = []
    requests = json.loads(requests_file.read_text())
    if (model_dir / "model.pt").is_file():
        model = handler.model_fn(str(model_dir))
        for r in requests:
            try:
                data = handler.input_fn(r["body"].encode(), r["content_type"])
                body, kind = handler.output_fn(handler.predict_fn(data, model), r["accept"])
            except handler.InferenceRequestError as error:
                answers.append(refused(error))
                continue
            answers.append({"status": 200, "body": body, "content_type": kind})
    else:
        import tensorflow as tf

        signature = tf.saved_model.load(str(model_dir / "1")).signatures["serving_default"]
        (name,) = signature.structured_input_signature[1]
        for r in requests:
            context = types.SimpleNamespace(
                request_content_type=r["content_type"], accept_header=r["accept"]
            )
            try:
                payload = handler.input_handler(io.BytesIO(r["body"].encode()), context)
            except handler.serving.RequestError as error:
                answers.append(refused(error))
                continue
            x = tf.constant(json.loads(payload)["instances"], dtype=tf.float32)
            (value,) = signature(**{name: x}).values()
            predictions = json.dumps({"predictions": value.numpy().tolist()}).encode()
            response = types.SimpleNamespace(status_code=200, content=predictions)
            body, kind = handler.output_handler(response, context)
            answers.append({"status": 200, "body": body, "content_type": kind})
    answers_file.write_text(json.dumps(answers))
    """
)

COMBOS = [
    pytest.param("penguins", "tensorflow", id="penguins-tensorflow"),
    pytest.param("penguins", "pytorch", id="penguins-pytorch"),
    pytest.param("digits", "tensorflow", id="digits-tensorflow"),
    pytest.param("digits", "pytorch", id="digits-pytorch"),
]


def extract(tarball: Path, target: Path) -> Path:
    target.mkdir(parents=True)
    with tarfile.open(tarball) as archive:
        archive.extractall(target, filter="data")
    return target


def csv_rows(path: Path) -> int:
    with path.open(newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def serve(model_dir: Path, work: Path, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Answer `requests` ({"body", "content_type", "accept"}) from the artifact in a new process."""
    script, asked, answered = work / "serve.py", work / "requests.json", work / "answers.json"
    script.write_text(_SERVE)
    asked.write_text(json.dumps(requests))
    run_script(script, str(model_dir), str(asked), str(answered))
    answers: list[dict[str, Any]] = json.loads(answered.read_text())
    return answers


def check_row_counts(project: str, raw_dir: Path, data_dir: Path) -> int:
    """Every raw row lands in exactly one split; the baselines mirror their splits."""
    splits = {
        name: csv_rows(data_dir / name / f"{name}.csv") for name in ("train", "validation", "test")
    }
    if project == "penguins":
        assert sum(splits.values()) == csv_rows(raw_dir / "penguins.csv"), splits
    else:
        assert splits["train"] + splits["validation"] == csv_rows(raw_dir / "mnist_train.csv")
        assert splits["test"] == csv_rows(raw_dir / "mnist_test.csv")
    assert len(jsonl(data_dir / "baseline" / "test.jsonl")) == splits["test"]
    assert len(jsonl(data_dir / "baseline" / "train.jsonl")) == splits["train"]
    return splits["test"]


def run_evaluate(trained: TrainedModel, work: Path) -> dict[str, Any]:
    base = work / "processing"
    (base / "model").mkdir(parents=True)
    (base / "test").mkdir()
    shutil.copy2(trained.tarball, base / "model" / "model.tar.gz")
    shutil.copy2(trained.data_dir / "test" / "test.csv", base / "test" / "test.csv")
    run_script(EVALUATE, "--base_dir", str(base))
    report: dict[str, Any] = json.loads((base / "evaluation" / "evaluation.json").read_text())
    return report


@pytest.mark.parametrize(("project", "framework"), COMBOS)
def test_chain_report_agrees_with_the_endpoint(
    request: pytest.FixtureRequest,
    trained_model: Callable[[str, str], TrainedModel],
    tmp_path: Path,
    project: str,
    framework: str,
) -> None:
    trained = trained_model(project, framework)  # preprocess, train, package: subprocesses
    raw_dir = Path(request.getfixturevalue(f"{project}_raw"))
    n_test = check_row_counts(project, raw_dir, trained.data_dir)

    report = run_evaluate(trained, tmp_path)
    jsonschema.validate(report, json.loads(REPORT_SCHEMA.read_text()))
    metrics = report["metrics"]
    classes = json.loads((trained.data_dir / "artifacts" / "classes.json").read_text())
    records = jsonl(trained.data_dir / "baseline" / "test.jsonl")
    truth = Counter(r["ground_truth"] for r in records)
    assert metrics["support"]["value"] == n_test
    assert metrics["support"]["per_class"] == {c: truth[c] for c in classes}
    assert metrics["confusion_matrix"]["labels"] == classes
    matrix = np.asarray(metrics["confusion_matrix"]["matrix"])
    assert matrix.sum() == n_test
    assert metrics["accuracy"]["value"] == pytest.approx(np.trace(matrix) / n_test)

    model_dir = extract(trained.tarball, tmp_path / "endpoint")
    batch, bad = serve(
        model_dir,
        tmp_path,
        [
            {"body": json.dumps(records), "content_type": "application/json", "accept": None},
            {"body": "[]", "content_type": "application/json", "accept": None},
        ],
    )
    assert (batch["status"], batch["content_type"]) == (200, "application/json"), batch
    answers = json.loads(batch["body"])
    assert len(answers) == n_test
    served = np.zeros_like(matrix)
    for record, answer in zip(records, answers, strict=True):
        served[classes.index(record["ground_truth"]), answer["prediction"]] += 1
        assert answer["label"] == classes[answer["prediction"]]
    # The endpoint, fed raw records, predicts what evaluate found on the preprocessed test split.
    accuracy = np.mean(
        [a["label"] == r["ground_truth"] for a, r in zip(answers, records, strict=True)]
    )
    assert accuracy == pytest.approx(metrics["accuracy"]["value"], abs=1e-12)
    np.testing.assert_array_equal(served, matrix)
    for name in ("precision", "recall", "f1"):
        for label, value in metrics[name]["per_class"].items():
            i = classes.index(label)
            tp, predicted, actual = served[i, i], served[:, i].sum(), served[i].sum()
            expected = {
                "precision": tp / predicted if predicted else 0.0,
                "recall": tp / actual if actual else 0.0,
                "f1": 2 * tp / (predicted + actual) if predicted + actual else 0.0,
            }[name]
            assert value == pytest.approx(expected, abs=1e-12), (name, label)
    assert bad["status"] == 400 and "empty list" in bad["body"] and "Traceback" not in bad["body"]

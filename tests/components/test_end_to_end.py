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

from kernel.frameworks import FRAMEWORKS
from tests.components.fixtures_models import TrainedModel, cases
from tests.components.runner import REPO, run_script

EVALUATE = "components/evaluate/scripts/evaluate.py"
REPORT_SCHEMA = REPO / "components" / "evaluate" / "report.schema.json"

# A model server of its own: the local engine's player of the framework's serving container
# (engine/serving.py: it loads <model>/code/inference.py by path and calls it as the container
# would) answers the requests in a fresh process.
_SERVE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path

    repo, model_dir, protocol, requests_file, answers_file = sys.argv[1:6]
    sys.path.insert(0, repo)
    from engine.serving import load_model

    model = load_model(Path(model_dir), protocol)
    answers = []
    for r in json.loads(Path(requests_file).read_text()):
        answer = model.invoke(r["body"].encode(), r["content_type"], r["accept"], None)
        body = answer.body.decode()
        answers.append({"status": answer.status, "body": body, "content_type": answer.content_type})
    Path(answers_file).write_text(json.dumps(answers))
    """
)

COMBOS = cases(("penguins", "digits"))


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


def serve(
    model_dir: Path, protocol: str, work: Path, requests: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Answer `requests` ({"body", "content_type", "accept"}) from the artifact in a new process."""
    script, asked, answered = work / "serve.py", work / "requests.json", work / "answers.json"
    script.write_text(_SERVE)
    asked.write_text(json.dumps(requests))
    run_script(script, str(REPO), str(model_dir), protocol, str(asked), str(answered))
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
    assert csv_rows(data_dir / "baseline" / "data-quality.csv") == splits["train"]
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
    protocol = FRAMEWORKS[framework].protocol
    batch, bad = serve(
        model_dir,
        protocol,
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
    # TensorFlow Serving's container answers a handler's refusal 500, its message leading with
    # the status the request deserves; the others answer the status itself.
    if protocol == "tensorflow-serving":
        assert (bad["status"], json.loads(bad["body"])["error"][:16]) == (500, "400 Bad Request:")
    else:
        assert bad["status"] == 400
    assert "empty list" in bad["body"] and "Traceback" not in bad["body"]

"""The binary project (cancer) end to end on the local engine, every stage on.

What makes it binary, checked on what the run wrote: the model-quality baseline is the
analyzer's BinaryClassification statistics of the positive class's probability; the evaluation
report's ROC AUC and PR AUC are scikit-learn's on the same model's test predictions; the deployed
endpoint answers with the positive class's probability, and the model-quality schedule's job
scores its captured answers as BinaryClassification against the ground truth.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
from sklearn import metrics as skm

from components.model.contract import record_contract
from endpoint import ground_truth, traffic
from engine import endpoint
from engine import schedule as monitoring
from tests.aws_env import isolate_from_aws
from tests.engine.conftest import FullRun, serve_again

pytestmark = pytest.mark.integration
POSITIVE = "malignant"


def s3_path(root: Path, uri: str) -> Path:
    return root / "s3" / uri.removeprefix("s3://")


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "root"
    endpoint.stop_all(tmp_path / "root")  # the deployed endpoint lives as long as the engine


def transformed(root: Path, records: dict[str, Any]) -> list[dict[str, Any]]:
    """TransformTestSet's joined records: each test record beside the model's answer."""
    uri = records["TransformTestSet"]["Properties"]["TransformOutput"]["S3OutputPath"]
    (predictions,) = s3_path(root, uri).glob("*.out")
    return [json.loads(line) for line in predictions.read_text().splitlines()]


def test_the_binary_project_runs_end_to_end(
    full_run: FullRun, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = full_run("project=cancer", "framework=pytorch", "monitoring.backend=model_monitor")
    run = shared.first_in(shared.copy_root(root))
    records = run.records
    failed = {
        n: r.get("FailureReason") for n, r in records.items() if r["StepStatus"] != "Succeeded"
    }
    assert run.code == 0 and not failed, (run.out[-2000:], failed)
    joined = transformed(root, records)
    truth = [int(r["ground_truth"] == POSITIVE) for r in joined]
    scores = [r["SageMakerOutput"]["probability"] for r in joined]
    labels = [r["SageMakerOutput"]["label"] for r in joined]
    roc_auc = skm.roc_auc_score(truth, scores)
    assert 0.5 < roc_auc < 1.0, "a perfect or useless model would make the comparisons weak"

    # The batch transform's answers carry the positive class's probability beside the predicted
    # class's confidence, as the binary record contract the compiler checked requires.
    validator = jsonschema.Draft202012Validator(record_contract(binary=True))
    for record in joined:
        validator.validate(record)
        answer = record["SageMakerOutput"]
        expected = answer["confidence"] if answer["label"] == POSITIVE else 1 - answer["confidence"]
        assert answer["probability"] == pytest.approx(expected, abs=1e-6)

    # ModelQualityBaseline: the analyzer's BinaryClassification statistics of those records.
    properties = records["ModelQualityBaseline"]["Properties"]
    statistics = json.loads(s3_path(root, properties["CalculatedBaselineStatistics"]).read_text())
    binary = statistics["binary_classification_metrics"]
    predicted = [int(label == POSITIVE) for label in labels]
    assert statistics["dataset"]["item_count"] == len(joined)
    assert binary["auc"]["value"] == pytest.approx(roc_auc)
    assert binary["accuracy"]["value"] == pytest.approx(skm.accuracy_score(truth, predicted))
    assert binary["recall"]["value"] == pytest.approx(skm.recall_score(truth, predicted))
    constraints = json.loads(s3_path(root, properties["CalculatedBaselineConstraints"]).read_text())
    assert constraints["binary_classification_constraints"]["auc"] == {
        "threshold": binary["auc"]["value"],
        "comparison_operator": "LessThanThreshold",
    }

    # The evaluation report: ROC AUC and PR AUC of the positive class, as scikit-learn's on the
    # same model's predictions of the same test split (Evaluate runs the model itself).
    evaluation = records["Evaluate"]["Properties"]["ProcessingOutputConfig"]["Outputs"][
        "evaluation"
    ]
    report = json.loads(
        (s3_path(root, evaluation["S3Output"]["S3Uri"]) / "evaluation.json").read_text()
    )["metrics"]
    assert report["roc_auc"] == {
        "value": pytest.approx(roc_auc, abs=1e-9),
        "positive_class": POSITIVE,
    }
    assert report["pr_auc"] == {
        "value": pytest.approx(skm.average_precision_score(truth, scores), abs=1e-9),
        "positive_class": POSITIVE,
    }
    assert report["recall"]["per_class"][POSITIVE] == pytest.approx(
        skm.recall_score(truth, predicted)
    )
    for average in ("macro", "weighted"):  # as for every problem
        assert report["f1"][average] == pytest.approx(
            skm.f1_score(truth, predicted, average=average)
        )

    # The deployed endpoint (created from the registered package) answers with it too.
    isolate_from_aws(monkeypatch, tmp_path, "us-east-1")
    url = serve_again(root)["cancer-endpoint"]
    client = boto3.client("sagemaker-runtime", endpoint_url=url)
    samples = [
        {k: v for k, v in r.items() if k not in ("ground_truth", "SageMakerOutput")}
        for r in joined[:5]
    ]
    answer = client.invoke_endpoint(
        EndpointName="cancer-endpoint", Body=json.dumps(samples), ContentType="application/json"
    )
    answers = json.loads(answer["Body"].read())
    assert [a["probability"] for a in answers] == pytest.approx(scores[:5], abs=1e-6)
    assert [a["label"] for a in answers] == labels[:5]

    # The model-quality schedule's job over captured traffic and its ground truth.
    bundle = ["--bundle", str(shared.bundle)]
    outputs = records["Preprocess"]["Properties"]["ProcessingOutputConfig"]["Outputs"]
    test_set = str(s3_path(root, outputs["baseline"]["S3Output"]["S3Uri"]) / "test.jsonl")
    ids = tmp_path / "ids.jsonl"
    argv = [*bundle, "--endpoint-url", url, "--test-set", test_set, "--rate", "200"]
    assert traffic.main([*argv, "--max-requests", "40", "--ids-out", str(ids)]) == 0
    recorded = json.loads((root / "schedules" / "cancer-endpoint-model-quality.json").read_text())
    settings = monitoring.job(recorded)  # what the shipped handler's job definition sets
    truth_dir = str(s3_path(root, settings["ground_truth_uri"]))
    assert ground_truth.main([*bundle, "--ids", str(ids), "--ground-truth-uri", truth_dir]) == 0
    assert monitoring.main(["--root", str(root), "run", "cancer-endpoint-model-quality"]) == 0
    (window_statistics,) = s3_path(root, settings["output_uri"]).rglob("statistics.json")
    window = json.loads(window_statistics.read_text())["binary_classification_metrics"]
    sent = [json.loads(line) for line in ids.read_text().splitlines()]
    direct = sum(r["prediction"] == r["ground_truth"] for r in sent) / len(sent)
    assert window["accuracy"]["value"] == pytest.approx(direct)
    assert 0.5 < window["auc"]["value"] <= 1.0  # read from the answers' "probability"

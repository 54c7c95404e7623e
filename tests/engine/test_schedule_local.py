"""`python -m engine.schedule run`: a recorded schedule's monitoring job over captured traffic.

The first tests pin what this command hands the analyzer (Model Monitor's settings, the dataset
built from data capture and ground truth) with a recording stand-in for the analyzer process; the
last runs the real QualityCheck analyzer over real traffic from `endpoint.traffic`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from compiler.compile import compile_overrides, write_bundle
from components.schedule.scripts import schedule as handler
from endpoint import ground_truth, traffic
from engine import endpoint
from engine.records import write_json
from engine.schedule import build_dataset, main, run_schedule
from kernel.manifest import FORMAT_VERSION
from tests.aws_env import isolate_from_aws
from tests.components.fixtures_data import penguins_train_records
from tests.components.fixtures_models import TrainedModel
from tests.engine.serve_fixtures import BUCKET, Root, container, expected_labels, models, root
from tests.engine.serve_fixtures import baseline as baseline_records
from tests.manifests import write_test_bundle

__all__ = ["models", "root"]
REPO = Path(__file__).resolve().parents[2]
PREPROCESSOR = REPO / "jobkit" / "capture.py"  # the record preprocessor Model Monitor loads
ANALYZER = REPO / "components" / "quality_check" / "scripts" / "analyzer.py"
PENGUINS_FEATURES = {
    "numeric_features": ["culmen_length_mm", "culmen_depth_mm", "flipper_length_mm", "body_mass_g"],
    "categorical_features": ["island"],
}
ENDPOINT = "penguins-endpoint"
CAPTURE = f"s3://{BUCKET}/capture"
TRUTH = f"s3://{BUCKET}/ground-truth"
FEATURES = ("island", "culmen_length_mm", "culmen_depth_mm", "flipper_length_mm", "body_mass_g")

# Stands in for the analyzer process: records what it was given, writes a one-violation report.
RECORDING_ANALYZER = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    out = Path(os.environ["output_path"])
    out.mkdir(parents=True)
    keys = [k for k in os.environ if k.islower() or k.startswith("MONITOR_")]
    (out / "given.json").write_text(json.dumps({k: os.environ[k] for k in keys}))
    (out / "statistics.json").write_text("{}")
    violation = {"feature_name": "body_mass_g", "constraint_check_type": "baseline_drift_check",
                 "description": "drifted"}
    (out / "constraint_violations.json").write_text(json.dumps({"violations": [violation]}))
    """
)


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_from_aws(monkeypatch, tmp_path, "us-east-1")


def capture_line(request: Any, answer: Any, inference_id: str | None) -> dict[str, Any]:
    metadata = {"eventId": "e", "inferenceTime": "2026-12-01T09:00:00Z"}
    if inference_id:
        metadata["inferenceId"] = inference_id
    part = {"observedContentType": "application/json", "encoding": "JSON"}
    return {
        "captureData": {
            "endpointInput": {**part, "mode": "INPUT", "data": json.dumps(request)},
            "endpointOutput": {**part, "mode": "OUTPUT", "data": json.dumps(answer)},
        },
        "eventMetadata": metadata,
        "eventVersion": "0",
    }


def record_schedule(root: Root, name: str, kind: str, **settings: Any) -> None:
    """A schedule as a Schedule step records it: the shipped handler's job definition."""
    write_json(
        endpoint.record_path(root.path, ENDPOINT),
        {
            "EndpointName": ENDPOINT,
            "DataCaptureConfig": {"DestinationS3Uri": CAPTURE, "InitialSamplingPercentage": 100},
        },
    )
    event = {
        "monitor_type": kind,
        "endpoint_name": ENDPOINT,
        "schedule_name": name,
        "baseline_constraints_uri": f"s3://{BUCKET}/baseline/constraints.json",
        "baseline_statistics_uri": f"s3://{BUCKET}/baseline/statistics.json",
        "output_uri": f"s3://{BUCKET}/monitoring/{kind}",
        "role_arn": "arn:aws:iam::111122223333:role/Monitor",
        "cron": "daily",
        "instance_type": "ml.m5.xlarge",
        "image_uri": "156813124566.dkr.ecr.us-east-1.amazonaws.com/model-monitor-analyzer",
        # What the compiled penguins schedule passes its job (conf/project/penguins.yaml).
        **(PENGUINS_FEATURES if kind == "data_quality" else {}),
        **settings,
    }
    write_json(
        root.path / "schedules" / f"{name}.json",
        {
            "MonitoringScheduleName": name,
            "MonitoringType": "DataQuality" if kind == "data_quality" else "ModelQuality",
            "EndpointName": ENDPOINT,
            "JobDefinition": handler.build_job_definition(handler.parse_event(event)),
            "AnalyzerUri": root.put_file(ANALYZER, "assets/analyzer.py"),
        },
    )


def record_mq_schedule(root: Root, **settings: Any) -> None:
    """The golden model-quality schedule's settings (without its record preprocessor)."""
    record_schedule(
        root,
        "mq",
        "model_quality",
        ground_truth_uri=TRUTH,
        problem_type="MulticlassClassification",
        inference_attribute="0.label",
        **settings,
    )


def put_lines(root: Root, uri: str, lines: list[dict[str, Any]]) -> None:
    root.s3.put_bytes(uri, "".join(json.dumps(line) + "\n" for line in lines).encode())


SAMPLE = {"island": "Dream", "culmen_length_mm": 40.0, "body_mass_g": 3700, "species": "x"}
ANSWER = [{"prediction": 0, "label": "Adelie", "confidence": 0.9}]


def test_a_data_quality_run_hands_the_analyzer_preprocessed_capture(
    root: Root, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    preprocessor = root.put_file(PREPROCESSOR, "assets/record_preprocessor.py")
    record_schedule(root, "dq", "data_quality", record_preprocessor_uri=preprocessor)
    put_lines(
        root,
        f"{CAPTURE}/{ENDPOINT}/AllTraffic/2026/12/01/09/a.jsonl",
        [capture_line(SAMPLE, ANSWER, "id-1"), capture_line([SAMPLE, SAMPLE], ANSWER * 2, None)],
    )
    analyzer = tmp_path / "analyzer.py"
    analyzer.write_text(RECORDING_ANALYZER)
    assert run_schedule(root.path, "dq", analyzer) == 0
    out = capsys.readouterr().out
    assert out.startswith("schedule dq: CompletedWithViolations over 3 records; report at ")
    assert "  body_mass_g: baseline_drift_check: drifted\n" in out
    (report,) = root.s3.path(f"s3://{BUCKET}/monitoring/data_quality/{ENDPOINT}/dq").glob("*/*/*/*")
    given = json.loads((report / "given.json").read_text())
    assert sorted(p.name for p in report.iterdir()) == [
        "constraint_violations.json",
        "given.json",
        "statistics.json",
    ]
    assert {k: v for k, v in given.items() if k not in ("dataset_source", "output_path")} == {
        "analysis_type": "DATA_QUALITY",
        "dataset_format": '{"json": {"lines": true}}',
        "baseline_constraints": str(root.s3.path(f"s3://{BUCKET}/baseline/constraints.json")),
        "baseline_statistics": str(root.s3.path(f"s3://{BUCKET}/baseline/statistics.json")),
        "publish_cloudwatch_metrics": "Disabled",
        "sagemaker_endpoint_name": ENDPOINT,
        "sagemaker_monitoring_schedule_name": "dq",
        # the record preprocessor's features, in the job's environment as on AWS
        "MONITOR_NUMERIC_FEATURES": ",".join(PENGUINS_FEATURES["numeric_features"]),
        "MONITOR_CATEGORICAL_FEATURES": "island",
    }
    dataset = [json.loads(line) for line in Path(given["dataset_source"]).read_text().splitlines()]
    expected = {
        "island": "Dream",
        "culmen_length_mm": 40.0,
        "culmen_depth_mm": None,
        "flipper_length_mm": None,
        "body_mass_g": 3700.0,
    }
    assert dataset == [expected] * 3


def test_model_quality_joins_capture_and_ground_truth_on_the_inference_id(root: Root) -> None:
    record_mq_schedule(root)
    put_lines(
        root,
        f"{CAPTURE}/{ENDPOINT}/AllTraffic/2026/12/01/09/a.jsonl",
        [capture_line(SAMPLE, ANSWER, f"id-{n}") for n in range(3)]
        + [capture_line(SAMPLE, ANSWER, None)],
    )
    truth = [
        {
            "eventMetadata": {"eventId": f"id-{n}"},
            "groundTruthData": {"data": label, "encoding": "CSV"},
        }
        for n, label in ((0, "Adelie"), (2, "Gentoo"))
    ]
    put_lines(root, f"{TRUTH}/2026/12/01/09/truth.jsonl", truth)
    schedule = json.loads((root.path / "schedules" / "mq.json").read_text())
    capture = root.s3.path(f"{CAPTURE}/{ENDPOINT}/AllTraffic")
    records = build_dataset(root.s3, schedule, capture)
    assert records == [
        {"0": ANSWER[0], "groundTruthData": "Adelie"},
        {"0": ANSWER[0], "groundTruthData": "Gentoo"},
    ]


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("none", "error: schedule 'nope'\n  no {root}/schedules/nope.json\n"),
        ("no-capture", "error: schedule 'dq'\n  nothing captured at " + CAPTURE),
        ("no-truth", "error: schedule 'mq'\n  no records to analyse in the capture at "),
    ],
    ids=["unknown-schedule", "nothing-captured", "no-ground-truth"],
)
def test_bad_runs_exit_2(
    root: Root, capsys: pytest.CaptureFixture[str], setup: str, expected: str
) -> None:
    name = "nope"
    if setup == "no-capture":
        record_schedule(root, "dq", "data_quality")
        name = "dq"
    if setup == "no-truth":
        record_mq_schedule(root)
        put_lines(
            root, f"{CAPTURE}/{ENDPOINT}/AllTraffic/a.jsonl", [capture_line(SAMPLE, ANSWER, "i")]
        )
        name = "mq"
    assert main(["--root", str(root.path), "run", name]) == 2
    assert capsys.readouterr().err.startswith(expected.format(root=root.path))


PIPELINE_ARN = "arn:aws:sagemaker:us-east-1:111122223333:pipeline/p-data-quality-monitor"


def record_pipeline_schedule(root: Root) -> None:
    """A builtin schedule as the engine records it: a pipeline target and its parameters."""
    write_json(
        root.path / "schedules" / "dq.json",
        {
            "Name": "dq",
            "ScheduleExpression": "rate(1 hour)",
            "Target": {
                "Arn": PIPELINE_ARN,
                "RoleArn": "arn:aws:iam::111122223333:role/SchedulerRole",
                "SageMakerPipelineParameters": {
                    "PipelineParameterList": [{"Name": "EndpointName", "Value": ENDPOINT}]
                },
            },
        },
    )


@pytest.mark.parametrize("published", ["nothing", "not-a-bundle", "newer-format"])
def test_a_builtin_schedule_whose_pipeline_cannot_run_exits_2(
    root: Root, capsys: pytest.CaptureFixture[str], published: str
) -> None:
    record_pipeline_schedule(root)
    folder = root.path / "pipelines" / "p-data-quality-monitor"
    if published == "not-a-bundle":
        folder.mkdir(parents=True)
    if published == "newer-format":
        write_test_bundle(folder, "p-data-quality-monitor", {"Parameters": [], "Steps": []})
        written = json.loads((folder / "assets.json").read_text())
        (folder / "assets.json").write_text(json.dumps(written | {"format_version": 99}))
    assert main(["--root", str(root.path), "run", "dq"]) == 2
    err = capsys.readouterr().err
    if published == "nothing":
        assert err.startswith(
            f"error: schedule 'dq'\n  its target pipeline {PIPELINE_ARN} is not published under "
            f"{root.path / 'pipelines'}\n"
        )
        assert "fix: run that bundle again (python -m engine run BUNDLE)" in err
    elif published == "not-a-bundle":
        assert err.startswith("error: schedule 'dq': its published pipeline cannot run: ")
        assert "pipeline.json\n  missing" in err
    else:
        assert err == (
            "error: schedule 'dq': its published pipeline cannot run: "
            f"{folder / 'assets.json'}\n  format_version = 99\n"
            "  why: it was compiled by a newer version of the compiler (bundle format 99); this "
            f"version reads bundle format {FORMAT_VERSION}\n"
            "  fix: recompile the bundle with this version's compiler (`python -m compiler ...`)\n"
        )


# --------------------------------------------------------------------------- the real analyzer


@pytest.fixture
def served(
    root: Root, models: Callable[[str, str], TrainedModel]
) -> Iterator[tuple[str, TrainedModel]]:
    trained = models("penguins", "pytorch")
    model_uri = root.put_model(trained, "m/model.tar.gz")
    write_json(
        endpoint.record_path(root.path, ENDPOINT),
        {
            "EndpointName": ENDPOINT,
            "PrimaryContainer": container("pytorch", model_uri),
            "DataCaptureConfig": {
                "EnableCapture": True,
                "InitialSamplingPercentage": 100,
                "DestinationS3Uri": CAPTURE,
            },
        },
    )
    url = endpoint.launch(root.path, ENDPOINT, 0)
    yield url, trained
    endpoint.stop(root.path, ENDPOINT)


def analyze(env: dict[str, str]) -> None:
    """Run the analyzer as a job would (a baseline when no baseline_constraints is given)."""
    subprocess.run([sys.executable, str(ANALYZER)], env={**os.environ, **env}, check=True)


def test_monitoring_runs_over_real_traffic_report_what_was_perturbed(
    root: Root, served: tuple[str, TrainedModel], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, trained = served
    # The data-quality baseline, as the DataQualityBaseline step computes it from the train records.
    rows = penguins_train_records(trained.data_dir)
    features = tmp_path / "train.jsonl"
    features.write_text("".join(json.dumps({k: r[k] for k in FEATURES}) + "\n" for r in rows))
    analyze(
        {
            "dataset_source": str(features),
            "output_path": str(root.s3.path(f"s3://{BUCKET}/baseline")),
        }
    )
    preprocessor = root.put_file(PREPROCESSOR, "assets/record_preprocessor.py")
    test_set = str(trained.data_dir / "baseline" / "test.jsonl")
    bundle = compile_overrides(["project=penguins", f"output_dir={tmp_path}/bundle"])
    bundle_args = ["--bundle", str(write_bundle(bundle))]

    def send(perturb: float) -> None:
        argv = [*bundle_args, "--endpoint-url", url, "--test-set", test_set]
        argv += ["--rate", "200", "--max-requests", "60", "--perturb", str(perturb), "--seed", "1"]
        argv += ["--ids-out", str(tmp_path / "ids.jsonl")]
        assert traffic.main(argv) == 0

    record_schedule(root, "dq", "data_quality", record_preprocessor_uri=preprocessor)
    send(0.0)
    assert main(["--root", str(root.path), "run", "dq"]) == 0
    assert "schedule dq: Completed over 60 records" in capsys.readouterr().out

    # The model-quality baseline, from the model's own answers on the test set.
    answers = tmp_path / "answers.jsonl"
    labels = zip(expected_labels(trained), baseline_records(trained), strict=True)
    answers.write_text(
        "".join(
            json.dumps({"0": {"label": a}, "groundTruthData": r["ground_truth"]}) + "\n"
            for a, r in labels
        )
    )
    analyze(
        {
            "dataset_source": str(answers),
            "output_path": str(root.s3.path(f"s3://{BUCKET}/mq-baseline")),
            "analysis_type": "MODEL_QUALITY",
            "problem_type": "MulticlassClassification",
            "inference_attribute": "0.label",
            "ground_truth_attribute": "groundTruthData",
        }
    )
    record_mq_schedule(root, baseline_constraints_uri=f"s3://{BUCKET}/mq-baseline/constraints.json")
    truth_dir = root.s3.path(TRUTH)
    assert (
        ground_truth.main(
            [
                *bundle_args,
                "--ids",
                str(tmp_path / "ids.jsonl"),
                "--ground-truth-uri",
                str(truth_dir),
            ]
        )
        == 0
    )
    assert main(["--root", str(root.path), "run", "mq"]) == 0
    assert "schedule mq: Completed" in capsys.readouterr().out

    send(1.0)
    assert main(["--root", str(root.path), "run", "dq"]) == 0
    out = capsys.readouterr().out
    assert "schedule dq: CompletedWithViolations over 120 records" in out
    for name in ("culmen_length_mm", "flipper_length_mm", "body_mass_g"):
        assert f"  {name}: " in out

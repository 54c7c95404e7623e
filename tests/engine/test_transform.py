"""Model and Transform steps: the golden definitions' steps run with real models and handlers."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from engine import batch
from engine.batch import JobFailed, Spec, check_path, select, transform_file
from engine.executors import model as model_step
from engine.executors import transform as transform_step
from engine.executors.base import StepFailed
from engine.serving import load_model, unpack_model
from kernel.frameworks import FRAMEWORKS
from tests.components.fixtures_models import TrainedModel
from tests.engine.serve_fixtures import (
    BUCKET,
    IMAGES,
    Root,
    baseline,
    container,
    context,
    expected_labels,
    golden_step,
    models,
    resolve,
    root,
)

__all__ = ["models", "root"]

pytestmark = pytest.mark.filterwarnings(
    r"ignore:`torch\.jit\.load` is deprecated:DeprecationWarning"
)
REPO = Path(__file__).resolve().parents[2]
RECORD_SCHEMA = json.loads((REPO / "components/model/record.schema.json").read_text())


def model_and_transform(
    root: Root, trained: TrainedModel, framework: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the golden CreateModel and TransformTestSet steps; return their properties."""
    case = f"penguins-{framework}-train"
    model_uri = root.put_model(trained, "penguins/exec0001/Train/output/model.tar.gz")
    baseline_uri = f"s3://{BUCKET}/penguins/exec0001/Preprocess/baseline"
    root.put_file(
        trained.data_dir / "baseline" / "test.jsonl",
        "penguins/exec0001/Preprocess/baseline/test.jsonl",
    )
    known: dict[str, Any] = {
        "Steps.Train.ModelArtifacts.S3ModelArtifacts": model_uri,
        "Execution.PipelineExecutionId": "exec0001",
        "Steps.Preprocess.ProcessingOutputConfig.Outputs['baseline'].S3Output.S3Uri": baseline_uri,
    }
    create = golden_step(case, "CreateModel")
    model_properties = model_step.run(
        context(root, "CreateModel", "Model", resolve(create["Arguments"], known))
    )
    known["Steps.CreateModel.ModelName"] = model_properties["ModelName"]
    transform = golden_step(case, "TransformTestSet")
    ctx = context(root, "TransformTestSet", "Transform", resolve(transform["Arguments"], known))
    return model_properties, transform_step.run(ctx)


def create_model(root: Root, step: str, model_uri: str) -> str:
    """Run a Model step for the PyTorch image; its ModelName."""
    arguments = {"PrimaryContainer": container("pytorch", model_uri)}
    return str(model_step.run(context(root, step, "Model", arguments))["ModelName"])


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_golden_transform_joins_each_prediction_to_its_record(
    models: Callable[[str, str], TrainedModel], root: Root, framework: str
) -> None:
    trained = models("penguins", framework)
    model_properties, properties = model_and_transform(root, trained, framework)
    assert model_properties["ModelName"] == "pipelines-exec0001-CreateModel"
    record = json.loads((root.path / "models" / "pipelines-exec0001-CreateModel.json").read_text())
    assert record["PrimaryContainer"]["Image"] == IMAGES[framework]
    assert properties["TransformJobName"] == "pipelines-exec0001-TransformTestSet"
    output = properties["TransformOutput"]["S3OutputPath"]
    assert output == f"s3://{BUCKET}/ml-pipelines/penguins/exec0001/TransformTestSet/predictions"
    assert [p.name for p in root.s3.path(output).iterdir()] == ["test.jsonl.out"]
    lines = root.s3.get_bytes(f"{output}/test.jsonl.out").decode().splitlines()
    records = baseline(trained)
    assert len(lines) == len(records)
    joined = [json.loads(line) for line in lines]
    for row, source in zip(joined, records, strict=True):
        jsonschema.validate(row, RECORD_SCHEMA)
        assert {k: v for k, v in row.items() if k != "SageMakerOutput"} == source
    assert [row["SageMakerOutput"]["label"] for row in joined] == expected_labels(trained)


def test_a_refused_record_fails_the_job_and_writes_nothing(
    models: Callable[[str, str], TrainedModel], root: Root, tmp_path: Path
) -> None:
    trained = models("penguins", "pytorch")
    broken = tmp_path / "test.jsonl"
    lines = (trained.data_dir / "baseline" / "test.jsonl").read_text().splitlines()
    bad = json.loads(lines[2])
    bad["body_mass_g"] = "heavy"
    broken.write_text("\n".join([*lines[:2], json.dumps(bad), *lines[3:]]) + "\n")
    root.put_file(broken, "penguins/exec0001/Preprocess/baseline/test.jsonl")
    model_uri = root.put_model(trained, "penguins/exec0001/Train/output/model.tar.gz")
    arguments = {
        "ModelName": create_model(root, "CreateModel", model_uri),
        "BatchStrategy": "SingleRecord",
        "TransformInput": {
            "ContentType": "application/jsonlines",
            "SplitType": "Line",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": f"s3://{BUCKET}/penguins/exec0001/Preprocess/baseline/",
                }
            },
        },
        "TransformOutput": {
            "S3OutputPath": f"s3://{BUCKET}/out",
            "Accept": "application/jsonlines",
        },
    }
    ctx = context(root, "Transform", "Transform", arguments)
    with pytest.raises(StepFailed) as caught:
        transform_step.run(ctx)
    message = str(caught.value)
    assert message.startswith(
        "step Transform: transform job pipelines-exec0001-Transform failed: test.jsonl, "
        "records 3-3: ClientError: Bad HTTP status received from algorithm: 400: "
    )
    assert "'body_mass_g' must be a number" in message
    assert message.endswith(f"\n  log: {ctx.log_path}")
    assert not root.s3.path(f"s3://{BUCKET}/out").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"ModelName": "nope"},
            "step T: ValidationException: Could not find model 'nope'\n",
        ),
        (
            {"DataProcessing": {"OutputFilter": "$..label"}},
            "step T: DataProcessing.OutputFilter: JSONPath '$..label' is not supported; use $, ",
        ),
        ({"BatchStrategy": "Everything"}, "step T: BatchStrategy = 'Everything'\n"),
        (
            {
                "TransformInput": {
                    "DataSource": {"S3DataSource": {"S3Uri": "s3://missing-bucket/none/"}}
                }
            },
            "step T: ClientError: no objects at s3://missing-bucket/none/\n",
        ),
    ],
    ids=["unknown-model", "unsupported-jsonpath", "unknown-batch-strategy", "no-input"],
)
def test_bad_transform_arguments_fail_with_a_clear_reason(
    models: Callable[[str, str], TrainedModel],
    root: Root,
    change: dict[str, Any],
    message: str,
) -> None:
    trained = models("penguins", "pytorch")
    model_uri = root.put_model(trained, "m/model.tar.gz")
    data_uri = root.put_file(trained.data_dir / "baseline" / "test.jsonl", "data/test.jsonl")
    name = create_model(root, "M", model_uri)
    arguments: dict[str, Any] = {
        "ModelName": name,
        "TransformInput": {"DataSource": {"S3DataSource": {"S3Uri": data_uri}}},
        "TransformOutput": {"S3OutputPath": f"s3://{BUCKET}/out"},
    }
    arguments.update(change)
    with pytest.raises(StepFailed) as caught:
        transform_step.run(context(root, "T", "Transform", arguments))
    assert str(caught.value).startswith(message)


def test_model_step_needs_existing_model_data(root: Root) -> None:
    arguments = {"PrimaryContainer": container("pytorch", "s3://missing-bucket/none")}
    with pytest.raises(StepFailed, match=r"Could not find model data at s3://missing-bucket/none"):
        model_step.run(context(root, "M", "Model", arguments))
    assert not (root.path / "models").exists()


# --------------------------------------------------------------------------- the job's rules


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("$", {"a": 1}, {"a": 1}),
        ("$.a.b", {"a": {"b": 2}}, 2),
        ("$['a']", {"a": 1, "b": 2}, 1),
        ("$['a','c']", {"a": 1, "b": 2, "c": 3}, {"a": 1, "c": 3}),
        ("$[0]", ["x", "y", "z"], "x"),
        ("$[1:]", ["x", "y", "z"], ["y", "z"]),
        ("$[0,2:]", ["w", "x", "y", "z"], ["w", "y", "z"]),
        ("$[-1]", ["x", "y"], "y"),
    ],
    ids=["root", "dotted", "one-key", "keys", "index", "slice", "index-and-slice", "negative"],
)
def test_jsonpath_subset(path: str, value: Any, expected: Any) -> None:
    check_path(path)
    assert select(value, path) == expected


@pytest.mark.parametrize("path", ["$..a", "$.a[*]", "a", "$[?(@.a)]"], ids=str)
def test_jsonpath_outside_the_subset_is_refused(path: str) -> None:
    with pytest.raises(ValueError, match="is not supported"):
        check_path(path)


def test_jsonpath_on_a_missing_key_fails_the_record() -> None:
    with pytest.raises(JobFailed, match=r"the record has no \$\.missing \(KeyError"):
        select({"a": 1}, "$.missing")


@pytest.fixture(scope="module")
def penguin_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, TrainedModel]:
    from tests.engine.serve_fixtures import trained

    model = trained("penguins", "pytorch", tmp_path_factory)
    model_dir = unpack_model(model.tarball, tmp_path_factory.mktemp("job-model"))
    return load_model(model_dir, "pytorch-toolkit"), model


BASE = Spec(
    model_dir="",
    protocol="pytorch-toolkit",
    files=[],
    content_type="application/jsonlines",
    accept="application/jsonlines",
    split_type="Line",
    batch_strategy="MultiRecord",
    max_payload_mb=6,
    assemble_with="Line",
    input_filter="$",
    join_source="Input",
    output_filter="$",
)


def run_spec(model: Any, source: Path, **changes: Any) -> str:
    spec = dataclasses.replace(BASE, **changes)
    return transform_file(model, spec, source, source.name)


def test_single_and_multi_record_give_the_same_output(
    penguin_model: tuple[Any, TrainedModel],
) -> None:
    model, trained = penguin_model
    source = trained.data_dir / "baseline" / "test.jsonl"
    multi = run_spec(model, source)
    single = run_spec(model, source, batch_strategy="SingleRecord")
    tiny_batches = run_spec(model, source, max_payload_mb=0.001)
    # Batched matrix products round differently in the last digits; predictions are the same.
    outputs = [
        [json.loads(line) for line in text.splitlines()] for text in (multi, single, tiny_batches)
    ]
    for rows in outputs[1:]:
        for row, reference in zip(rows, outputs[0], strict=True):
            assert row["SageMakerOutput"]["label"] == reference["SageMakerOutput"]["label"]
            confidence = reference["SageMakerOutput"]["confidence"]
            assert row["SageMakerOutput"]["confidence"] == pytest.approx(confidence, abs=1e-5)
    assert len(outputs[0]) == len(baseline(trained))


def test_batches_respect_the_payload_limit() -> None:
    records = ["a" * 10] * 5
    assert [len(b) for _, b in batch.batches(records, "MultiRecord", 23)] == [2, 2, 1]
    assert [first for first, _ in batch.batches(records, "MultiRecord", 23)] == [0, 2, 4]
    with pytest.raises(JobFailed, match="record 1 has 10 bytes"):
        list(batch.batches(records, "MultiRecord", 5))


def test_filters_and_joins(penguin_model: tuple[Any, TrainedModel]) -> None:
    model, trained = penguin_model
    source = trained.data_dir / "baseline" / "test.jsonl"
    labels = expected_labels(trained)
    records = baseline(trained)

    picked = run_spec(model, source, output_filter="$['ground_truth','SageMakerOutput']")
    rows = [json.loads(line) for line in picked.splitlines()]
    assert [set(r) for r in rows] == [{"ground_truth", "SageMakerOutput"}] * len(records)

    label_only = run_spec(model, source, output_filter="$.SageMakerOutput.label")
    assert [json.loads(line) for line in label_only.splitlines()] == labels

    features = "$['island','culmen_length_mm','culmen_depth_mm','flipper_length_mm','body_mass_g']"
    filtered = run_spec(model, source, input_filter=features)
    assert filtered == run_spec(model, source)

    not_joined = run_spec(model, source, join_source="None")
    assert [json.loads(line)["label"] for line in not_joined.splitlines()] == labels

    assembled = run_spec(
        model, source, join_source="None", assemble_with="None", output_filter="$.label"
    )
    assert assembled == "".join(json.dumps(label) for label in labels)


def test_whole_file_as_one_request(penguin_model: tuple[Any, TrainedModel], tmp_path: Path) -> None:
    model, trained = penguin_model
    source = trained.data_dir / "baseline" / "test.jsonl"
    whole = run_spec(model, source, split_type="None", join_source="None", assemble_with="None")
    assert [json.loads(line)["label"] for line in whole.splitlines()] == expected_labels(trained)


def test_csv_records_get_the_prediction_appended(
    penguin_model: tuple[Any, TrainedModel], tmp_path: Path
) -> None:
    model, _ = penguin_model
    # CSV records go as CSV; these handlers read JSON only and refuse them (415): the job fails.
    source = tmp_path / "rows.csv"
    source.write_text("1,2\n3,4\n")
    with pytest.raises(JobFailed, match=r"rows\.csv, records 1-2: ClientError: .*: 415: "):
        run_spec(model, source, content_type="text/csv")
    joined = batch.join(["1", "2"], "Adelie", "text/csv", "text/csv")
    assert batch.render_record(joined, "text/csv") == "1,2,Adelie"
    # A JSON answer joined to a CSV row: its cells are JSON text, not Python's repr.
    answer = '{"label":"Adelie","confidence":0.9}'
    joined = batch.join(["1", "2"], answer, "text/csv", "application/json")
    assert (
        batch.render_record(joined, "text/csv") == '1,2,"{""label"":""Adelie"",""confidence"":0.9}"'
    )
    joined = batch.join(["1", "2"], "[0.9,true,null]", "text/csv", "application/json")
    assert batch.render_record(joined, "text/csv") == "1,2,0.9,true,null"


@pytest.mark.parametrize("content_type", ["application/json", "application/jsonlines"])
def test_a_json_record_that_is_not_an_object_goes_under_sagemaker_input(content_type: str) -> None:
    # The API reference (DataProcessing, JoinSource): "The joined result for JSON must be a
    # key-value pair object. If the input is not a key-value pair object, SageMaker creates a new
    # JSON file [...] the input data is stored under the SageMakerInput key".
    prediction = '{"label":"Adelie"}'
    assert batch.join({"id": 7}, prediction, content_type, content_type) == {
        "id": 7,
        "SageMakerOutput": {"label": "Adelie"},
    }
    for record in ([39.1, 18.7], 3, "text"):
        joined = batch.join(record, prediction, content_type, content_type)
        assert joined == {"SageMakerInput": record, "SageMakerOutput": {"label": "Adelie"}}
    spec = dataclasses.replace(BASE, content_type=content_type, output_filter="$.SageMakerInput")
    assert batch.assemble([[39.1, 18.7]], prediction, content_type, spec) == ["[39.1,18.7]\n"]

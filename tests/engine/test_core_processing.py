"""The Processing container contract on a hand-written definition: paths, data, outputs."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from engine.container_fs import MODE_VARIABLE
from engine.s3 import S3
from tests.engine.conftest import RunEngine
from tests.manifests import ACCOUNT, write_test_bundle

# Copies the input file named by argv[1] to the output folder argv[2], with $GREETING and the
# arguments it was given, so the test sees what the container saw.
JOB = (
    "import json, os, pathlib, sys; "
    "src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]); "
    "(out / 'seen.json').write_text(json.dumps({'argv': sys.argv[1:], "
    "'text': src.read_text(), 'greeting': os.environ['GREETING'], 'cwd': os.getcwd()}))"
)


def copy_step(source: str, output_uri: object) -> dict[str, Any]:
    """A Processing step that runs JOB on the input file `source` (a container path)."""
    return {
        "Name": "Copy",
        "Type": "Processing",
        "Arguments": {
            "AppSpecification": {
                "ContainerEntrypoint": ["python3", "-c", JOB],
                "ContainerArguments": [
                    source,
                    "/opt/ml/processing/result",
                ],
                "ImageUri": "x",
            },
            "Environment": {"GREETING": "hello"},
            "ProcessingInputs": [
                {
                    "InputName": "raw",
                    "S3Input": {
                        "LocalPath": "/opt/ml/processing/input",
                        "S3Uri": {"Get": "Parameters.InputDataUri"},
                        "S3DataType": "S3Prefix",
                    },
                }
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "result",
                        "S3Output": {
                            "LocalPath": "/opt/ml/processing/result",
                            "S3Uri": output_uri,
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
        },
    }


@pytest.mark.parametrize("mode", ["namespace", "rewrite"])
def test_inputs_outputs_arguments_and_environment_follow_the_contract(
    engine: RunEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """In a namespace the job sees the definition's container paths as they are; rewritten,
    they point into its work folder, with the `--base_dir` the component scripts take."""
    monkeypatch.setenv(MODE_VARIABLE, mode)
    data = tmp_path / "data"
    data.mkdir()
    (data / "raw.csv").write_text("a,b\n1,2\n")
    output_uri = {
        "Std:Join": {
            "On": "/",
            "Values": ["s3://bucket/out", {"Get": "Execution.PipelineExecutionId"}],
        }
    }
    step = copy_step("/opt/ml/processing/input/raw.csv", output_uri)
    parameters = [{"Name": "InputDataUri", "Type": "String", "DefaultValue": "s3://bucket/raw/"}]
    definition = {"Version": "2020-12-01", "Parameters": parameters, "Steps": [step]}
    bundle = write_test_bundle(tmp_path / "bundle", "contract", definition)
    ran = engine(bundle, tmp_path / "root", "--data", str(data))
    assert ran.code == 0, ran.out
    record = ran.records["Copy"]
    output = record["Properties"]["ProcessingOutputConfig"]["Outputs"]["result"]["S3Output"]
    assert output["S3Uri"] == f"s3://bucket/out/{ran.execution['PipelineExecutionId']}"
    seen = json.loads((S3(tmp_path / "root/s3").path(output["S3Uri"]) / "seen.json").read_text())
    work = ran.folder / "steps/Copy/work"  # type: ignore[operator]
    rewritten = f"{work}/opt/ml" if mode == "rewrite" else "/opt/ml"
    assert seen == {
        "argv": [
            f"{rewritten}/processing/input/raw.csv",
            f"{rewritten}/processing/result",
            *(["--base_dir", f"{work}/opt/ml/processing"] if mode == "rewrite" else []),
        ],
        "text": "a,b\n1,2\n",
        "greeting": "hello",
        "cwd": str(work),
    }
    assert record["Metadata"] == {
        "ProcessingJob": {"Arn": record["Properties"]["ProcessingJobArn"]}
    }


@pytest.mark.parametrize("mode", ["namespace", "rewrite"])
def test_data_are_placed_without_a_copy_where_jobs_cannot_change_them(
    engine: RunEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """--data's files become the InputDataUri objects as hard links when jobs see their inputs
    through read-only mounts; where paths are rewritten (inputs made read-only hard links) they
    are copied, so the user's own files keep their permissions."""
    monkeypatch.setenv(MODE_VARIABLE, mode)
    data = tmp_path / "data"
    data.mkdir()
    raw = data / "raw.csv"
    raw.write_text("a,b\n1,2\n")
    step = copy_step("/opt/ml/processing/input/raw.csv", "s3://bucket/out")
    parameters = [{"Name": "InputDataUri", "Type": "String", "DefaultValue": "s3://bucket/raw/"}]
    definition = {"Version": "2020-12-01", "Parameters": parameters, "Steps": [step]}
    bundle = write_test_bundle(tmp_path / "bundle", "contract", definition)
    ran = engine(bundle, tmp_path / "root", "--data", str(data))
    assert ran.code == 0, ran.out
    placed = S3(tmp_path / "root/s3").path("s3://bucket/raw/raw.csv")
    assert placed.read_text() == "a,b\n1,2\n"
    assert placed.samefile(raw) == (mode == "namespace")
    assert raw.stat().st_mode & stat.S_IWUSR, "the user's file was made read-only"
    seen = json.loads((S3(tmp_path / "root/s3").path("s3://bucket/out") / "seen.json").read_text())
    assert seen["text"] == "a,b\n1,2\n"


def test_project_region_and_account_come_from_the_manifest(
    engine: RunEngine, tmp_path: Path
) -> None:
    """The engine takes the project whose sample data it places, and the region and account of
    its ARNs, from the bundle's manifest: here neither the folder nor the pipeline is named after
    the project, and no image or role in the definition names eu-west-1."""
    step = copy_step("/opt/ml/processing/input/penguins.csv", "s3://bucket/out")
    parameters = [{"Name": "InputDataUri", "Type": "String", "DefaultValue": "s3://bucket/raw/"}]
    definition = {"Version": "2020-12-01", "Parameters": parameters, "Steps": [step]}
    bundle = write_test_bundle(
        tmp_path / "renamed-copy", "acme-churn", definition, project="penguins", region="eu-west-1"
    )
    ran = engine(bundle, tmp_path / "root")  # no --data: the project's sample data
    assert ran.code == 0, ran.err
    seen = json.loads((S3(tmp_path / "root/s3").path("s3://bucket/out") / "seen.json").read_text())
    assert seen["text"].startswith("species,island,culmen_length_mm,")  # penguins.csv
    job = ran.records["Copy"]["Properties"]["ProcessingJobArn"]
    assert job.startswith(f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:processing-job/")
    execution = ran.execution
    assert execution["PipelineArn"] == f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:pipeline/acme-churn"
    assert execution["PipelineExecutionArn"] == (
        f"{execution['PipelineArn']}/execution/{execution['PipelineExecutionId']}"
    )

"""The Processing container contract on a hand-written definition: paths, data, outputs."""

from __future__ import annotations

import json
from pathlib import Path

from engine.s3 import S3
from tests.engine.conftest import RunEngine

# Copies the input file named by argv[1] to the output folder argv[2], with $GREETING and the
# arguments it was given, so the test sees what the container saw.
JOB = (
    "import json, os, pathlib, sys; "
    "src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]); "
    "(out / 'seen.json').write_text(json.dumps({'argv': sys.argv[1:], "
    "'text': src.read_text(), 'greeting': os.environ['GREETING'], 'cwd': os.getcwd()}))"
)


def test_inputs_outputs_arguments_and_environment_follow_the_contract(
    engine: RunEngine, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "raw.csv").write_text("a,b\n1,2\n")
    output_uri = {
        "Std:Join": {
            "On": "/",
            "Values": ["s3://bucket/out", {"Get": "Execution.PipelineExecutionId"}],
        }
    }
    step = {
        "Name": "Copy",
        "Type": "Processing",
        "Arguments": {
            "AppSpecification": {
                "ContainerEntrypoint": ["python3", "-c", JOB],
                "ContainerArguments": [
                    "/opt/ml/processing/input/raw.csv",
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
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    parameters = [{"Name": "InputDataUri", "Type": "String", "DefaultValue": "s3://bucket/raw/"}]
    (bundle / "pipeline.json").write_text(
        json.dumps({"Version": "2020-12-01", "Parameters": parameters, "Steps": [step]})
    )
    (bundle / "assets.json").write_text(json.dumps({"pipeline": "contract", "assets": []}))
    ran = engine(bundle, tmp_path / "root", "--data", str(data))
    assert ran.code == 0, ran.out
    record = ran.records["Copy"]
    output = record["Properties"]["ProcessingOutputConfig"]["Outputs"]["result"]["S3Output"]
    assert output["S3Uri"] == f"s3://bucket/out/{ran.execution['PipelineExecutionId']}"
    seen = json.loads((S3(tmp_path / "root/s3").path(output["S3Uri"]) / "seen.json").read_text())
    work = ran.folder / "steps/Copy/work"  # type: ignore[operator]
    assert seen == {
        "argv": [
            f"{work}/opt/ml/processing/input/raw.csv",
            f"{work}/opt/ml/processing/result",
            "--base_dir",
            f"{work}/opt/ml/processing",
        ],
        "text": "a,b\n1,2\n",
        "greeting": "hello",
        "cwd": str(work),
    }
    assert record["Metadata"] == {
        "ProcessingJob": {"Arn": record["Properties"]["ProcessingJobArn"]}
    }

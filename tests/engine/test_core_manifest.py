"""The engine takes the bundle's facts from its manifest: the project whose sample data it places,
and the region and account of its ARNs; never from the folder's or the pipeline's name."""

from __future__ import annotations

import json
from pathlib import Path

from engine.s3 import S3
from tests.engine.conftest import RunEngine
from tests.manifests import ACCOUNT, write_test_bundle

# Lists the files of the input folder argv[1] into the output folder argv[2].
JOB = (
    "import json, os, pathlib, sys; seen = sorted(os.listdir(sys.argv[1])); "
    "(pathlib.Path(sys.argv[2]) / 'seen.json').write_text(json.dumps(seen))"
)


def listing_step() -> dict[str, object]:
    return {
        "Name": "List",
        "Type": "Processing",
        "Arguments": {
            "AppSpecification": {
                "ContainerEntrypoint": ["python3", "-c", JOB],
                "ContainerArguments": ["/opt/ml/processing/input", "/opt/ml/processing/seen"],
                "ImageUri": "x",
            },
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
                        "OutputName": "seen",
                        "S3Output": {
                            "LocalPath": "/opt/ml/processing/seen",
                            "S3Uri": "s3://bucket/seen",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                    "VolumeSizeInGB": 1,
                }
            },
            "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/R",
        },
    }


def test_project_region_and_account_come_from_the_manifest(
    engine: RunEngine, tmp_path: Path
) -> None:
    """The folder and the pipeline are named after no project; the manifest says penguins, in
    eu-west-1 (no image or role in the definition says either)."""
    parameters = [{"Name": "InputDataUri", "Type": "String", "DefaultValue": "s3://bucket/raw/"}]
    definition = {"Version": "2020-12-01", "Parameters": parameters, "Steps": [listing_step()]}
    bundle = write_test_bundle(
        tmp_path / "renamed-copy", "acme-churn", definition, project="penguins", region="eu-west-1"
    )
    ran = engine(bundle, tmp_path / "root")
    assert ran.code == 0, ran.err
    seen = S3(tmp_path / "root/s3").path("s3://bucket/seen") / "seen.json"
    assert json.loads(seen.read_text()) == ["penguins.csv"]  # the penguins sample data
    execution = ran.execution
    assert execution["PipelineArn"] == f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:pipeline/acme-churn"
    assert execution["PipelineExecutionArn"] == (
        f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:pipeline/acme-churn/execution/"
        f"{execution['PipelineExecutionId']}"
    )

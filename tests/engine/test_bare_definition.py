"""A definition our compiler did not write, run with a local map (engine/localmap.py).

The definitions are written here, shaped as the SageMaker SDK writes them: fixed S3 keys for
code, a parameter naming one data file (the course's `dataset_location`), a source dir packed
as the SDK packs it, a property file read by a Condition, a Fail branch.
"""

from __future__ import annotations

import dataclasses
import io
import json
import sys
import tarfile
import textwrap
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from bundle.assets import asset_objects
from bundle.diff import main as diff_main
from bundle.graph import main as graph_main
from bundle.read import read_definition
from engine.cli import main
from engine.environments import Interpreters
from engine.executions import list_executions
from engine.localmap import (
    MapError,
    from_options,
    lambda_functions,
    map_assets,
    read_map,
    unmapped_reads,
    with_map,
)
from engine.stand_ins import stand_in_notes
from kernel.picture import mermaid
from tests.bundle.test_diff import PAIRS
from ui.sources import Sources

SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
TENSORFLOW = "763104351884.dkr.ecr.us-east-1.amazonaws.com/tensorflow-training:2.6-cpu-py38"
ROLE = "arn:aws:iam::111122223333:role/SageMakerRole"
DATA = "s3://course-bucket/penguins/data.csv"
PREPARE = "s3://course-bucket/pipeline/code/prepare.py"
SOURCE_DIR = "s3://course-bucket/pipeline/code/sourcedir.tar.gz"
DEPLOY = "arn:aws:lambda:us-east-1:111122223333:function:deploy-model"

PREPARE_PY = """\
import argparse, json, os
parser = argparse.ArgumentParser()
parser.add_argument("--base_dir", default="/opt/ml/processing")
base = parser.parse_known_args()[0].base_dir
rows = open(os.path.join(base, "input", "data", "data.csv")).read().splitlines()[1:]
os.makedirs(os.path.join(base, "train"), exist_ok=True)
open(os.path.join(base, "train", "train.csv"), "w").write("\\n".join(rows) + "\\n")
report = {"rows": len(rows), "marker": "MARKER"}
os.makedirs(os.path.join(base, "report"), exist_ok=True)
json.dump(report, open(os.path.join(base, "report", "report.json"), "w"))
"""
TRAIN_PY = """\
import os
from helper import summary
rows = open(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "train.csv")).read().split()
open(os.path.join(os.environ["SM_MODEL_DIR"], "model.txt"), "w").write(summary(rows))
"""
HELPER_PY = 'def summary(rows):\n    return "trained on %d rows" % len(rows)\n'
DATA_CSV = "species,bill\nAdelie,39.1\nGentoo,46.5\nChinstrap,49.3\n"


def processing(name: str) -> dict[str, Any]:
    return {
        "Name": name,
        "Type": "Processing",
        "Arguments": {
            "AppSpecification": {
                "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/prepare.py"],
                "ImageUri": SKLEARN,
            },
            "ProcessingInputs": [
                {
                    "InputName": "input-1",
                    "AppManaged": False,
                    "S3Input": {
                        "LocalPath": "/opt/ml/processing/input/data",
                        "S3Uri": {"Get": "Parameters.dataset_location"},
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                        "S3DataDistributionType": "FullyReplicated",
                        "S3CompressionType": "None",
                    },
                },
                {
                    "InputName": "code",
                    "AppManaged": False,
                    "S3Input": {
                        "LocalPath": "/opt/ml/processing/input/code",
                        "S3Uri": PREPARE,
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                        "S3DataDistributionType": "FullyReplicated",
                        "S3CompressionType": "None",
                    },
                },
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": output,
                        "AppManaged": False,
                        "S3Output": {
                            "LocalPath": f"/opt/ml/processing/{output}",
                            "S3Uri": f"s3://course-bucket/pipeline/{output}",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                    for output in ("train", "report")
                ]
            },
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": "ml.m5.xlarge",
                    "VolumeSizeInGB": 30,
                }
            },
            "RoleArn": ROLE,
        },
        "PropertyFiles": [
            {"PropertyFileName": "Report", "OutputName": "report", "FilePath": "report.json"}
        ],
    }


def training() -> dict[str, Any]:
    return {
        "Name": "Train",
        "Type": "Training",
        "Arguments": {
            "AlgorithmSpecification": {"TrainingImage": TENSORFLOW, "TrainingInputMode": "File"},
            "HyperParameters": {
                "sagemaker_program": '"train.py"',
                "sagemaker_submit_directory": f'"{SOURCE_DIR}"',
            },
            "InputDataConfig": [
                {
                    "ChannelName": "train",
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3DataDistributionType": "FullyReplicated",
                            "S3Uri": {
                                "Get": "Steps.Prepare.ProcessingOutputConfig.Outputs['train']"
                                ".S3Output.S3Uri"
                            },
                        }
                    },
                }
            ],
            "OutputDataConfig": {"S3OutputPath": "s3://course-bucket/pipeline/models"},
            "ResourceConfig": {
                "InstanceCount": 1,
                "InstanceType": "ml.m5.xlarge",
                "VolumeSizeInGB": 30,
            },
            "RoleArn": ROLE,
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        },
    }


def gate() -> dict[str, Any]:
    return {
        "Name": "CheckRows",
        "Type": "Condition",
        "Arguments": {
            "Conditions": [
                {
                    "Type": "GreaterThanOrEqualTo",
                    "LeftValue": {
                        "Std:JsonGet": {
                            "PropertyFile": {"Get": "Steps.Prepare.PropertyFiles.Report"},
                            "Path": "rows",
                        }
                    },
                    "RightValue": {"Get": "Parameters.MinRows"},
                }
            ],
            "IfSteps": [training()],
            "ElseSteps": [
                {"Name": "TooFew", "Type": "Fail", "Arguments": {"ErrorMessage": "too few rows"}}
            ],
        },
    }


def definition(*extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "Version": "2020-12-01",
        "Metadata": {},
        "Parameters": [
            {"Name": "dataset_location", "Type": "String", "DefaultValue": "s3://nowhere/x.csv"},
            {"Name": "MinRows", "Type": "Integer", "DefaultValue": 2},
        ],
        "PipelineExperimentConfig": {
            "ExperimentName": {"Get": "Execution.PipelineName"},
            "TrialName": {"Get": "Execution.PipelineExecutionId"},
        },
        "Steps": [processing("Prepare"), gate(), *extra],
    }


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A folder as a user has it: the definition, the map beside it, code and data."""
    (tmp_path / "code" / "train").mkdir(parents=True)
    (tmp_path / "code" / "prepare.py").write_text(PREPARE_PY)
    (tmp_path / "code" / "train" / "train.py").write_text(TRAIN_PY)
    (tmp_path / "code" / "train" / "helper.py").write_text(HELPER_PY)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "penguins.csv").write_text(DATA_CSV)
    (tmp_path / "course.json").write_text(json.dumps(definition()))
    (tmp_path / "course.map.yaml").write_text(
        textwrap.dedent(
            f"""\
            s3:
              {DATA}: data/penguins.csv
              {PREPARE}: code/prepare.py
              {SOURCE_DIR}: code/train
            parameters:
              dataset_location: {DATA}
            """
        )
    )
    return tmp_path


def run(root: Path, target: Path, *args: str) -> int:
    return main(["run", str(target), "--root", str(root), *args])


def records(root: Path, pipeline: str) -> dict[str, dict[str, Any]]:
    (execution,) = list_executions(root, pipeline)[-1:]
    return {r["StepName"]: r for r in execution.records()}


def model_text(root: Path, pipeline: str) -> str:
    record = records(root, pipeline)["Train"]
    artifacts = record["Properties"]["ModelArtifacts"]["S3ModelArtifacts"]
    path = root / "s3" / artifacts.removeprefix("s3://")
    with tarfile.open(path) as tar:
        member = tar.extractfile("model.txt")
        assert member is not None
        return member.read().decode()


@pytest.mark.integration
def test_a_bare_definition_runs_with_the_map_beside_it(
    course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "root"
    assert run(root, course / "course.json") == 0, capsys.readouterr().err
    found = records(root, "course")
    assert {n: r["StepStatus"] for n, r in found.items()} == {
        "Prepare": "Succeeded",
        "CheckRows": "Succeeded",
        "Train": "Succeeded",
    }
    # the one data file, the condition on its property file, the source dir at the archive root
    report = json.loads((root / "s3/course-bucket/pipeline/report/report.json").read_text())
    assert report == {"rows": 3, "marker": "MARKER"}
    assert model_text(root, "course") == "trained on 3 rows"
    # -p overrides the map's parameters: the Fail branch
    assert run(root, course / "course.json", "-p", "MinRows=4") == 1
    assert "too few rows" in capsys.readouterr().out


@pytest.mark.integration
def test_a_changed_script_runs_its_new_bytes(
    course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The SDK's code keys are fixed: a script changed since the last run is put again."""
    root = tmp_path / "root"
    assert run(root, course / "course.json", "-p", "MinRows=9") == 1
    script = course / "code" / "prepare.py"
    script.write_text(script.read_text().replace("MARKER", "CHANGED"))
    assert run(root, course / "course.json", "-p", "MinRows=9") == 1
    report = json.loads((root / "s3/course-bucket/pipeline/report/report.json").read_text())
    assert report["marker"] == "CHANGED"


@pytest.mark.integration
def test_describe_pipeline_output_runs_under_its_name_and_place(
    course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    described = {
        "PipelineName": "CoursePipeline",
        "PipelineArn": "arn:aws:sagemaker:eu-west-1:123456789012:pipeline/CoursePipeline",
        "PipelineDefinition": json.dumps(definition()),
        "PipelineStatus": "Active",
    }
    (course / "described.json").write_text(json.dumps(described))
    root = tmp_path / "root"
    code = run(root, course / "described.json", "--map", str(course / "course.map.yaml"))
    assert code == 0, capsys.readouterr().err
    (execution,) = list_executions(root, "CoursePipeline")
    assert execution.describe()["PipelineExecutionArn"].startswith(
        "arn:aws:sagemaker:eu-west-1:123456789012:pipeline/CoursePipeline/execution/"
    )
    # the web view finds the definition an execution of a bare definition ran
    assert Sources(tmp_path / "build", root).definition_of(execution) == definition()


def test_unmapped_reads_are_listed_before_anything_runs(
    course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (course / "course.map.yaml").unlink()
    root = tmp_path / "root"
    assert run(root, course / "course.json", "--s3", f"{PREPARE}={course / 'code/prepare.py'}") == 2
    err = capsys.readouterr().err
    assert err == (
        "error: 2 S3 URIs the local map does not cover; nothing ran\n\n"
        f"{course / 'course.json'}, step Prepare, "
        "Arguments.ProcessingInputs[0].S3Input.S3Uri\n"
        "  reads s3://nowhere/x.csv (the value of parameter dataset_location), which the local "
        "map does not cover\n"
        "  why: the engine's S3 holds only what the map puts there and what the steps write; the "
        "step would find nothing there\n"
        "  fix: map s3://nowhere/x.csv to a local path with --s3 s3://nowhere/x.csv=PATH or in "
        "the map's s3: (a file course.map.yaml beside the definition, or --map FILE)\n\n"
        f"{course / 'course.json'}, step Train, "
        "Arguments.HyperParameters.sagemaker_submit_directory\n"
        f"  reads {SOURCE_DIR}, which the local map does not cover\n"
        "  why: the engine's S3 holds only what the map puts there and what the steps write; the "
        "step would find nothing there\n"
        f"  fix: map {SOURCE_DIR} to a local path with --s3 {SOURCE_DIR}=PATH or in the map's "
        "s3: (a file course.map.yaml beside the definition, or --map FILE)\n"
    )
    assert not root.exists()  # nothing written


def test_an_unmapped_lambda_is_refused_up_front(
    course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy = {
        "Name": "Deploy",
        "Type": "Lambda",
        "FunctionArn": DEPLOY,
        "Arguments": {"model": "m"},
        "OutputParameters": [{"OutputName": "endpoint", "OutputType": "String"}],
    }
    (course / "course.json").write_text(json.dumps(definition(deploy)))
    root = tmp_path / "root"
    assert run(root, course / "course.json") == 2
    assert capsys.readouterr().err == (
        "error: 1 Lambda functions the local map does not cover; nothing ran\n\n"
        f"{course / 'course.json'}, step Deploy\n"
        f"  FunctionArn {DEPLOY}: no handler mapped\n"
        "  why: the engine runs a Lambda step's function from its code; it never plays a "
        "function it does not have\n"
        f"  fix: map it with --lambda {DEPLOY}=FILE.py:FUNCTION or in the map's lambdas:\n"
    )
    assert not root.exists()


def test_a_definition_sagemaker_refuses_says_so_without_recompile(
    course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = definition()
    broken["Steps"][1]["Arguments"]["Conditions"][0]["RightValue"] = {"Get": "Parameters.Nope"}
    (course / "course.json").write_text(json.dumps(broken))
    assert run(tmp_path / "root", course / "course.json") == 2
    assert capsys.readouterr().err == (
        "error: 1 problem in the definition; nothing ran\n\n"
        f"{course / 'course.json'}, step CheckRows\n"
        "  Arguments.Conditions[0].RightValue: Get Parameters.Nope\n"
        "  why: no such parameter\n"
        "  fix: name an existing step, property, parameter or execution variable\n"
    )
    bad_arn = {"Name": "Deploy", "Type": "Lambda", "FunctionArn": "deploy", "Arguments": {}}
    (course / "course.json").write_text(json.dumps(definition(bad_arn)))
    assert run(tmp_path / "root", course / "course.json") == 2
    err = capsys.readouterr().err
    assert "fix: correct the definition (SageMaker would refuse it too)" in err
    assert "recompile" not in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2", "not valid JSON"),
        ('{"PipelineDefinition": "{oops"}', "PipelineDefinition is not a JSON definition"),
        ('{"Version": "2020-12-01"}', "holds no pipeline definition (no Steps list, and no"),
    ],
)
def test_a_file_that_is_no_definition_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    (tmp_path / "x.json").write_text(text)
    assert run(tmp_path / "root", tmp_path / "x.json") == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'x.json'}\n  {message}")
    assert "Traceback" not in err


def test_map_file_problems_are_listed_together(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(
        "s3:\n  s3://bucket/data.csv: missing.csv\n  http://bucket/x: m.yaml\n"
        "parameter: {}\nlambdas:\n  arn:aws:lambda:us-east-1:111122223333:function:f: m.yaml\n"
    )
    with pytest.raises(MapError) as caught:
        read_map(tmp_path / "m.yaml")
    where = tmp_path / "m.yaml"
    assert str(caught.value) == (
        "4 problems in the local map\n\n"
        f"{where}\n  unknown key 'parameter' (did you mean 'parameters'?)\n"
        "  why: a map has the keys 'lambdas', 'parameters', 's3'\n  fix: rename or remove it\n\n"
        f"{where}, s3.s3://bucket/data.csv\n  local path 'missing.csv' does not exist "
        f"({tmp_path / 'missing.csv'})\n"
        "  why: the engine puts that file's or folder's bytes at the URI\n"
        "  fix: give an existing file or folder (relative to the map file)\n\n"
        f"{where}, s3.http://bucket/x\n  'http://bucket/x': not an s3:// URI\n"
        "  why: a map's s3 keys are S3 URIs\n"
        "  fix: write s3://bucket/key (an object) or s3://bucket/prefix/ (a folder)\n\n"
        f"{where}, lambdas.arn:aws:lambda:us-east-1:111122223333:function:f\n"
        "  handler 'm.yaml'\n"
        "  why: a handler is a Python file and a function in it: FILE.py:FUNCTION\n"
        "  fix: map it as ARN: path/to/file.py:function (in lambdas:, or --lambda "
        "ARN=FILE:FUNCTION)"
    )


def test_a_bad_option_exits_2_naming_it(
    course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tmp_path / "root", course / "course.json", "--s3", "s3://bucket/x") == 2
    assert capsys.readouterr().err == (
        "error: 1 problem in the local map\n\n--s3 s3://bucket/x\n  not URI=PATH\n"
        "  why: --s3 maps one S3 URI to a local file or folder\n"
        "  fix: write --s3 s3://bucket/key=local/path\n"
    )
    assert run(tmp_path / "root", course / "course.json", "--lambda", DEPLOY) == 2
    assert capsys.readouterr().err == (
        f"error: 1 problem in the local map\n\n--lambda {DEPLOY}\n  not ARN=FILE:FUNCTION\n"
        "  why: --lambda maps one Lambda function ARN to its handler\n"
        "  fix: write --lambda ARN=path/file.py:function\n"
    )
    assert not (tmp_path / "root").exists()


def test_options_override_the_map_file(course: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.csv"
    other.write_text("species\n")
    local = read_map(course / "course.map.yaml").overridden(
        from_options(s3=[f"{DATA}={other}"], parameters=["MinRows=5"])
    )
    assert local.s3[DATA] == other
    assert local.s3[PREPARE] == course / "code" / "prepare.py"
    assert local.parameters == {"dataset_location": DATA, "MinRows": "5"}


def test_a_folder_mapped_to_a_tarball_is_packed_as_the_sdk_packs_it(course: Path) -> None:
    local = read_map(course / "course.map.yaml")
    (packed,) = [o for o in asset_objects(map_assets(local)) if o.uri == SOURCE_DIR]
    with tarfile.open(fileobj=io.BytesIO(packed.body)) as tar:
        assert sorted(tar.getnames()) == ["helper.py", "train.py"]  # at the root


def test_mapped_lambdas_become_functions_with_their_code_zipped(tmp_path: Path) -> None:
    (tmp_path / "lambdas").mkdir()
    (tmp_path / "lambdas" / "deploy.py").write_text("def handler(event, context):\n    return {}\n")
    (tmp_path / "lambdas" / "common.py").write_text("X = 1\n")
    local = from_options(lambdas=[f"{DEPLOY}={tmp_path / 'lambdas/deploy.py'}:handler"])
    (function,) = lambda_functions(local)
    assert (function.function_arn, function.function_name, function.handler) == (
        DEPLOY,
        "deploy-model",
        "deploy.handler",
    )
    bundle = with_map(read_definition(_written(tmp_path, definition())), local)
    assert bundle.manifest.functions == (function,)
    (asset,) = [a for a in bundle.assets if a.name == function.asset]
    (obj,) = asset_objects([asset])
    with zipfile.ZipFile(io.BytesIO(obj.body)) as archive:
        assert sorted(archive.namelist()) == ["common.py", "deploy.py"]


def _written(folder: Path, value: dict[str, Any]) -> Path:
    path = folder / "pipeline.json"
    path.write_text(json.dumps(value))
    return path


def test_a_script_mapped_to_a_tarball_is_packed_alone_and_an_archive_is_put_as_is(
    course: Path,
) -> None:
    archive = course / "given.tar.gz"
    archive.write_bytes(b"archive bytes")
    local = from_options(
        s3=[
            f"s3://bucket/a/sourcedir.tar.gz={course / 'code/prepare.py'}",
            f"s3://bucket/b/sourcedir.tar.gz={archive}",
        ]
    )
    objects = {o.uri: o.body for o in asset_objects(map_assets(local))}
    with tarfile.open(fileobj=io.BytesIO(objects["s3://bucket/a/sourcedir.tar.gz"])) as tar:
        assert tar.getnames() == ["prepare.py"]
    assert objects["s3://bucket/b/sourcedir.tar.gz"] == b"archive bytes"


def test_the_picture_of_a_bare_definition_is_that_of_its_steps(
    course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert graph_main([str(course / "course.json")]) == 0
    picture = capsys.readouterr().out
    assert picture == mermaid(definition())
    described = course / "described.json"
    described.write_text(json.dumps({"PipelineDefinition": json.dumps(definition())}))
    assert graph_main([str(described)]) == 0
    assert capsys.readouterr().out == picture


def test_a_bundle_and_its_definition_alone_do_not_differ(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A notebook's pipeline is compared with ours step by step; assets and publish settings,
    which a bare definition has none of, are left out."""
    ours = PAIRS / "threshold" / "a"
    notebook = tmp_path / "notebook.json"
    notebook.write_text((ours / "pipeline.json").read_text())
    assert diff_main([str(notebook), str(ours), "--exit-code"]) == 0
    assert capsys.readouterr().out.endswith("\nno changes\n")
    changed = json.loads(notebook.read_text())
    (threshold,) = [p for p in changed["Parameters"] if p["Name"] == "ApproveThreshold"]
    threshold["DefaultValue"] = 0.9
    notebook.write_text(json.dumps(changed))
    assert diff_main([str(notebook), str(ours), "--exit-code"]) == 1
    out = capsys.readouterr().out
    assert "ApproveThreshold" in out
    assert out.endswith(
        "assets: not compared: only two bundles' assets.json are compared (changed S3 URIs "
        "above name their assets)\npublish: not compared: only two bundles' schedule, tags "
        "and functions are compared\n"
    )


def test_each_image_says_once_which_local_versions_stand_in(
    course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    here = f"this machine's Python {sys.version_info.major}.{sys.version_info.minor}"
    tensorflow = metadata.version("tensorflow-cpu")
    assert stand_in_notes([TENSORFLOW, TENSORFLOW, "1.dkr.ecr.x/img:latest"], Interpreters()) == [
        "image img:latest: versions not known here; running on " + here,
        f"image tensorflow-training:2.6 (Python 3.8, tensorflow 2.6): running on {here}, "
        f"tensorflow {tensorflow}",
    ]
    local = {name: metadata.version(name) for name in ("numpy", "pandas", "scikit-learn", "scipy")}
    assert stand_in_notes([SKLEARN], Interpreters()) == [
        "image sagemaker-scikit-learn:1.2-1 (Python 3.9, numpy 1.24.1, pandas 1.1.3, "
        f"scikit-learn 1.2.1, scipy 1.8.0): running on {here}, "
        + ", ".join(f"{name} {version}" for name, version in local.items())
        + " (--containers-only sagemaker-scikit-learn runs its jobs on that stack)"
    ]
    # a job that runs on its image's own stack needs no note
    chosen = Interpreters(frozenset({"sagemaker-scikit-learn"}))
    assert stand_in_notes([SKLEARN], chosen) == []
    # a run says it before its steps, once per image, and records it with the execution
    root = tmp_path / "root"
    assert run(root, course / "course.json", "-p", "MinRows=9") == 1
    out = capsys.readouterr().out
    notes = stand_in_notes([SKLEARN, TENSORFLOW], Interpreters())
    assert out.startswith("\n".join(notes) + "\nPrepare: ")
    (execution,) = list_executions(root, "course")
    assert execution.describe()["ImageStandIns"] == notes
    # input the engine refuses: nothing runs, so nothing stands in
    assert run(root, course / "course.json", "-p", "Nope=1") == 2
    assert capsys.readouterr().out == ""


def test_what_the_job_interprets_itself_is_not_taken_for_a_read(
    course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The TensorFlow estimator's model_dir hyperparameter is where the script writes; the
    Environment and ContainerArguments are the script's to read: the engine fetches neither."""
    changed = definition()
    train = changed["Steps"][1]["Arguments"]["IfSteps"][0]["Arguments"]
    train["HyperParameters"]["model_dir"] = '"s3://course-bucket/models/job/model"'
    train["Environment"] = {"EXTRA": "s3://course-bucket/elsewhere/x.csv"}
    (course / "course.json").write_text(json.dumps(changed))
    bundle = with_map(read_definition(course / "course.json"), read_map(course / "course.map.yaml"))
    parameters = {"dataset_location": DATA, "MinRows": 2}
    assert unmapped_reads(bundle, parameters) == []
    del train["HyperParameters"]["sagemaker_submit_directory"]
    train["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = "s3://course-bucket/x/"
    bundle = dataclasses.replace(bundle, definition=changed)
    (problem,) = unmapped_reads(bundle, parameters)
    assert (problem.where, problem.what) == (
        f"{course / 'course.json'}, step Train, "
        "Arguments.InputDataConfig[0].DataSource.S3DataSource.S3Uri",
        "reads s3://course-bucket/x/, which the local map does not cover",
    )


def test_files_and_folders_land_at_their_uris_and_cover_what_is_read_under_them(
    course: Path,
) -> None:
    local = from_options(
        s3=[
            f"s3://bucket/raw/={course / 'data/penguins.csv'}",  # a file under a prefix
            f"s3://bucket/code={course / 'code'}",  # a folder: one object per file
        ]
    )
    assert sorted(o.uri for o in asset_objects(map_assets(local))) == [
        "s3://bucket/code/prepare.py",
        "s3://bucket/code/train/helper.py",
        "s3://bucket/code/train/train.py",
        "s3://bucket/raw/penguins.csv",
    ]
    reads = definition()
    inputs = reads["Steps"][0]["Arguments"]["ProcessingInputs"]
    inputs[0]["S3Input"]["S3Uri"] = "s3://bucket/raw"  # a prefix holding a mapped object
    inputs[1]["S3Input"]["S3Uri"] = "s3://bucket/code/prepare.py"  # an object under one
    bundle = with_map(read_definition(_written(course, reads)), local)
    assert [p.what for p in unmapped_reads(bundle, {"MinRows": 2})] == [
        f"reads {SOURCE_DIR}, which the local map does not cover"
    ]


def test_a_step_type_the_engine_cannot_run_is_refused_up_front(
    course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emr = {
        "Name": "Spark",
        "Type": "EMR",
        "Arguments": {"ClusterId": "j-1", "StepConfig": {"HadoopJarStep": {"Jar": "x.jar"}}},
    }
    (course / "course.json").write_text(json.dumps(definition(emr)))
    assert run(tmp_path / "root", course / "course.json") == 2
    err = capsys.readouterr().err
    assert f"{course / 'course.json'}, step Spark\n  Type 'EMR'\n" in err
    assert err.endswith("  fix: run it on SageMaker, or drop the step\n")
    assert not (tmp_path / "root").exists()


def test_a_failing_mapped_script_is_named_by_its_local_path(
    course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = course / "code" / "prepare.py"
    script.write_text("raise SystemExit('no rows here')\n")
    root = tmp_path / "root"
    assert run(root, course / "course.json") == 1
    reason = records(root, "course")["Prepare"]["FailureReason"]
    assert "no rows here" in reason
    assert reason.endswith(f"\n  code: asset map {PREPARE}: {script}")


def test_a_map_parameter_the_definition_does_not_declare_names_its_entry(
    course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with (course / "course.map.yaml").open("a") as out:
        out.write("  MinRow: 3\n")
    assert run(tmp_path / "root", course / "course.json") == 2
    assert capsys.readouterr().err == (
        "error: 1 problem in the local map\n\n"
        f"{course / 'course.map.yaml'}, parameters.MinRow\n"
        "  no parameter 'MinRow' in this pipeline (did you mean 'MinRows'?)\n"
        "  why: the definition declares 'MinRows', 'dataset_location'\n"
        "  fix: use one of those names, or remove the entry\n"
    )


@pytest.mark.integration
def test_a_mapped_lambda_runs_its_code_with_the_modules_beside_it(
    course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (course / "lambdas").mkdir()
    (course / "lambdas" / "deploy.py").write_text(
        "from naming import endpoint\n\n"
        "def handler(event, context):\n"
        "    return {'statusCode': 200, 'endpoint': endpoint(event['model'])}\n"
    )
    (course / "lambdas" / "naming.py").write_text("def endpoint(m):\n    return 'ep-%s' % m\n")
    deploy = {
        "Name": "Deploy",
        "Type": "Lambda",
        "FunctionArn": DEPLOY,
        "Arguments": {"model": {"Get": "Parameters.MinRows"}},
        "OutputParameters": [{"OutputName": "endpoint", "OutputType": "String"}],
    }
    (course / "course.json").write_text(json.dumps(definition(deploy)))
    root = tmp_path / "root"
    handler = f"{DEPLOY}={course / 'lambdas' / 'deploy.py'}:handler"
    assert run(root, course / "course.json", "--lambda", handler, "-p", "MinRows=9") == 1
    found = records(root, "course")
    assert found["Deploy"]["StepStatus"] == "Succeeded", found["Deploy"].get("FailureReason")
    assert found["Deploy"]["Properties"]["OutputParameters"] == {"endpoint": "ep-9"}

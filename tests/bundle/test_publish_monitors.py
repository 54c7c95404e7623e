"""Publishing a builtin-monitoring bundle (against moto): its monitoring pipelines go with it.

The monitoring pipelines are bundles inside the bundle (monitors/<kind>/). Publishing creates
them before the main pipeline, whose schedule steps start them, uploads their assets with the
main ones, and leaves them alone when nothing changed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import boto3
import pytest

from bundle.assets import asset_objects
from bundle.publish import main
from bundle.read import monitor_bundles, read_bundle
from tests.bundle.conftest import REGION, compile_bundle

pytestmark = pytest.mark.usefixtures("aws_env")


@pytest.fixture(scope="module")
def builtin_compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("builtin") / "penguins-pytorch-train"
    return compile_bundle(
        "monitoring.backend=builtin",
        "~pipeline.schedule.parameters.SkipDataQualityCheck",  # builtin baselines skip nothing
        f"output_dir={out}",
    )


@pytest.fixture
def builtin_dir(builtin_compiled: Path, tmp_path: Path) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(builtin_compiled, target)
    return target


def test_publish_creates_the_monitoring_pipelines_first(
    builtin_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monitors = monitor_bundles(read_bundle(builtin_dir))
    assert [m.name for m in monitors] == [
        "penguins-pytorch-train-data-quality-monitor",
        "penguins-pytorch-train-model-quality-monitor",
    ]
    assert main([str(builtin_dir), "--yes"]) == 0
    out = capsys.readouterr().out
    done = [line.strip() for line in out.splitlines() if line.startswith("  pipeline ")]
    names = [m.name for m in monitors] + ["penguins-pytorch-train"]
    assert done == [f"pipeline {name}: create done" for name in names]

    sm = boto3.client("sagemaker", region_name=REGION)
    s3 = boto3.client("s3", region_name=REGION)
    for monitor in monitors:
        stored = sm.describe_pipeline(PipelineName=monitor.name)
        assert json.loads(stored["PipelineDefinition"]) == monitor.definition
        assert stored["RoleArn"] == monitor.manifest.publish.role_arn
        assert "monitoring of endpoint penguins-endpoint" in stored["PipelineDescription"]
        # the job's code, the analyzer's, the record preprocessor: every object of each
        for obj in asset_objects(monitor.assets):
            assert s3.get_object(Bucket=obj.bucket, Key=obj.key)["Body"].read() == obj.body
    receipt = json.loads((builtin_dir / "receipt.json").read_text())
    kinds = [(a["kind"], a["name"], a["result"]) for a in receipt["actions"]]
    assert ("pipeline", monitors[0].name, "done") in kinds


def test_a_second_publish_leaves_the_monitoring_pipelines_alone(
    builtin_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(builtin_dir), "--yes"]) == 0
    capsys.readouterr()
    assert main([str(builtin_dir), "--yes"]) == 0
    out = capsys.readouterr().out
    assert "nothing to change: AWS already matches the bundle" in out
    for monitor in monitor_bundles(read_bundle(builtin_dir)):
        assert f"│ pipeline │ {monitor.name}" in out


def test_a_monitor_folder_that_is_not_the_compiled_one_stops_publishing(
    builtin_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    definition = builtin_dir / "monitors/data-quality/pipeline.json"
    edited = json.loads(definition.read_text())
    edited["Steps"] = edited["Steps"][:1]
    definition.write_text(json.dumps(edited))
    assert main([str(builtin_dir), "--yes"]) == 2
    err = capsys.readouterr().err
    assert f"{builtin_dir / 'monitors/data-quality'}\n  is not the monitoring pipeline" in err
    assert "fix: recompile the bundle" in err and err.endswith("nothing was applied\n")
    assert boto3.client("sagemaker", region_name=REGION).list_pipelines()["PipelineSummaries"] == []

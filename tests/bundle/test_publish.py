"""Publishing against moto (in process): what lands in S3, Lambda, SageMaker and the Scheduler.

moto implements every call the plan and apply make (STS, S3 with SHA-256 checksums, Lambda
create/update without running code, SageMaker pipelines and tags, EventBridge Scheduler), so
these tests check the AWS side's state after `python -m bundle.publish`, not the calls made.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from bundle.assets import asset_bytes, asset_objects
from bundle.aws import sha256_b64
from bundle.publish import main
from bundle.read import read_bundle
from compiler.compile import compile_overrides
from tests.bundle.conftest import (
    ACCOUNT,
    PUBLISHED,
    REGION,
    bucket_of,
    change_asset,
    edit_manifest,
)

pytestmark = pytest.mark.usefixtures("aws_env")


def receipt_of(bundle_dir: Path) -> dict[str, Any]:
    return dict(json.loads((bundle_dir / "receipt.json").read_text()))


def results(receipt: dict[str, Any]) -> dict[str, str]:
    return {f"{a['kind']} {a['name']}": f"{a['action']}: {a['result']}" for a in receipt["actions"]}


def stored_keys(bucket: str) -> set[str]:
    listing = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=bucket)
    return {o["Key"] for o in listing.get("Contents", [])}


def test_plan_alone_applies_nothing(bundle_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(bundle_dir)]) == 0
    out = capsys.readouterr().out
    bundle = read_bundle(bundle_dir)
    objects = asset_objects(bundle.assets)  # a folder asset is one object per file
    for obj in objects:
        assert f"│ asset    │ {obj.name}" in out
    assert "│ pipeline │ penguins-pytorch-train " in out
    assert out.count("│ create ") == 4  # two functions, the pipeline, the schedule
    assert out.count("│ upload ") == len(objects)
    assert out.endswith(
        f"plan only ({len(objects) + 4} change(s)); nothing applied. To apply, run:\n"
        f"  python -m bundle.publish {bundle_dir} --yes\n"
    )
    assert stored_keys(bucket_of(bundle_dir)) == set()
    assert boto3.client("sagemaker", region_name=REGION).list_pipelines()["PipelineSummaries"] == []
    assert boto3.client("lambda", region_name=REGION).list_functions()["Functions"] == []
    assert not (bundle_dir / "receipt.json").exists()


def test_the_plan_counts_steps_as_the_compiler_does(
    bundle_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Steps inside the gate's branches count too, as the compiler's summary counts them."""
    counted = len(compile_overrides(["project=penguins", "framework=pytorch", *PUBLISHED]).order)
    top_level = len(read_bundle(bundle_dir).definition["Steps"])
    assert counted > top_level  # the pipeline has branch steps, so the two counts differ
    assert main([str(bundle_dir)]) == 0
    (row,) = [line for line in capsys.readouterr().out.splitlines() if "│ pipeline │" in line]
    assert f"│ {counted} steps " in row


def test_first_publish_puts_the_bundle_on_aws(bundle_dir: Path) -> None:
    assert main([str(bundle_dir), "--yes"]) == 0
    bundle = read_bundle(bundle_dir)
    s3 = boto3.client("s3", region_name=REGION)
    for obj in asset_objects(bundle.assets):
        stored = s3.get_object(Bucket=obj.bucket, Key=obj.key, ChecksumMode="ENABLED")
        assert stored["Body"].read() == obj.body, obj.name
        assert stored["ChecksumSHA256"] == sha256_b64(obj.body), obj.name

    lam = boto3.client("lambda", region_name=REGION)
    for function in bundle.manifest.functions:
        config = lam.get_function(FunctionName=function.function_name)["Configuration"]
        assert config["FunctionArn"] == function.function_arn
        assert config["CodeSha256"] == sha256_b64(asset_bytes(bundle.asset(function.asset)))
        assert (config["Handler"], config["Role"], config["Runtime"]) == (
            function.handler,
            function.role_arn,
            function.runtime,
        )
        assert (config["Timeout"], config["MemorySize"]) == (
            function.timeout_seconds,
            function.memory_mb,
        )

    sm = boto3.client("sagemaker", region_name=REGION)
    pipeline = sm.describe_pipeline(PipelineName="penguins-pytorch-train")
    assert json.loads(pipeline["PipelineDefinition"]) == bundle.definition
    assert pipeline["RoleArn"] == bundle.manifest.publish.role_arn
    assert pipeline["PipelineDescription"] == bundle.manifest.publish.description
    assert pipeline["ParallelismConfiguration"] == {"MaxParallelExecutionSteps": 10}
    tags = sm.list_tags(ResourceArn=pipeline["PipelineArn"])["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"project": "penguins", "owner": "ml-team"}

    schedule = boto3.client("scheduler", region_name=REGION).get_schedule(
        Name="penguins-pytorch-train-daily"
    )
    assert schedule["ScheduleExpression"] == "cron(0 6 * * ? *)"
    assert schedule["State"] == "ENABLED"
    assert schedule["Target"]["Arn"] == pipeline["PipelineArn"]
    assert schedule["Target"]["SageMakerPipelineParameters"]["PipelineParameterList"] == [
        {"Name": "ApproveThreshold", "Value": "0.8"},
        {"Name": "SkipDataQualityCheck", "Value": "true"},
    ]

    receipt = receipt_of(bundle_dir)
    assert receipt["status"] == "published"
    assert receipt["pipeline_arn"] == pipeline["PipelineArn"]
    assert (receipt["account"], receipt["region"]) == (ACCOUNT, REGION)
    assert set(results(receipt).values()) == {
        "upload: done",
        "create: done",
    }, results(receipt)
    objects = asset_objects(bundle.assets)
    assert len(receipt["actions"]) == len(objects) + 4
    resources = {f"{a['kind']} {a['name']}": a["resource"] for a in receipt["actions"]}
    for obj in objects:
        assert resources[f"asset {obj.name}"] == obj.uri
    for function in bundle.manifest.functions:
        assert resources[f"function {function.function_name}"] == function.function_arn


def test_second_publish_changes_nothing_and_says_so(
    bundle_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(bundle_dir), "--yes"]) == 0
    sm = boto3.client("sagemaker", region_name=REGION)
    before = sm.describe_pipeline(PipelineName="penguins-pytorch-train")["LastModifiedTime"]
    capsys.readouterr()

    assert main([str(bundle_dir), "--yes"]) == 0

    out = capsys.readouterr().out
    assert "nothing to change: AWS already matches the bundle" in out
    assert " done" not in out
    verbs = {a["action"] for a in receipt_of(bundle_dir)["actions"]}
    assert verbs == {"present", "unchanged"}
    assert {a["result"] for a in receipt_of(bundle_dir)["actions"]} == {"skipped"}
    after = sm.describe_pipeline(PipelineName="penguins-pytorch-train")["LastModifiedTime"]
    assert after == before


def test_a_changed_script_uploads_one_asset_and_updates_the_pipeline(
    bundle_dir: Path, repo_copy: Path
) -> None:
    assert main([str(bundle_dir), "--yes"], repo=repo_copy) == 0
    keys_before = stored_keys(bucket_of(bundle_dir))
    changed = next(a.name for a in read_bundle(bundle_dir).assets if a.kind == "file")
    new_uri = change_asset(bundle_dir, repo_copy, changed)

    assert main([str(bundle_dir), "--yes"], repo=repo_copy) == 0

    done = {k: v for k, v in results(receipt_of(bundle_dir)).items() if v.endswith(": done")}
    assert done == {
        f"asset {changed}": "upload: done",
        "pipeline penguins-pytorch-train": "update: done",
    }
    assert stored_keys(bucket_of(bundle_dir)) - keys_before == {new_uri.split("/", 3)[3]}
    stored = boto3.client("sagemaker", region_name=REGION).describe_pipeline(
        PipelineName="penguins-pytorch-train"
    )
    assert json.loads(stored["PipelineDefinition"]) == read_bundle(bundle_dir).definition
    assert new_uri in stored["PipelineDefinition"]
    users = [
        s["Name"] for s in read_bundle(bundle_dir).definition["Steps"] if new_uri in json.dumps(s)
    ]
    (pipeline_row,) = [a for a in receipt_of(bundle_dir)["actions"] if a["kind"] == "pipeline"]
    assert users and pipeline_row["detail"] == f"definition: steps {', '.join(sorted(users))}"


@pytest.mark.parametrize(
    ("timeout", "verb"),
    [(300, "update code"), (600, "update code and config")],
    ids=["code", "code-and-config"],
)
def test_a_changed_handler_updates_that_function(
    bundle_dir: Path, repo_copy: Path, timeout: int, verb: str
) -> None:
    assert main([str(bundle_dir), "--yes"], repo=repo_copy) == 0
    change_asset(bundle_dir, repo_copy, "deploy-function")

    def edit(manifest: dict[str, Any]) -> None:
        (deploy,) = [f for f in manifest["functions"] if f["asset"] == "deploy-function"]
        deploy["timeout_seconds"] = timeout

    edit_manifest(bundle_dir, edit)

    assert main([str(bundle_dir), "--yes"], repo=repo_copy) == 0

    bundle = read_bundle(bundle_dir)
    done = {k: v for k, v in results(receipt_of(bundle_dir)).items() if v.endswith(": done")}
    assert done == {
        "asset deploy-function": "upload: done",
        "function penguins-deploy": f"{verb}: done",
    }
    config = boto3.client("lambda", region_name=REGION).get_function(
        FunctionName="penguins-deploy"
    )["Configuration"]
    assert config["CodeSha256"] == sha256_b64(
        asset_bytes(bundle.asset("deploy-function"), repo_copy)
    )
    assert config["Timeout"] == timeout


def test_changed_settings_update_function_config_pipeline_schedule_and_tags(
    bundle_dir: Path,
) -> None:
    assert main([str(bundle_dir), "--yes"]) == 0

    def edit(manifest: dict[str, Any]) -> None:
        manifest["functions"][0].update(memory_mb=512, environment={"LOG_LEVEL": "DEBUG"})
        publish = manifest["publish"]
        publish["schedule"]["cron"] = "cron(0 7 * * ? *)"
        publish["tags"]["cost-center"] = "42"
        publish["parallelism"] = {"MaxParallelExecutionSteps": 4}

    functions = edit_manifest(bundle_dir, edit)["functions"]

    assert main([str(bundle_dir), "--yes"]) == 0

    receipt = receipt_of(bundle_dir)
    detail = {f"{a['kind']} {a['name']}": a["detail"] for a in receipt["actions"]}
    name = functions[0]["function_name"]
    assert results(receipt)[f"function {name}"] == "update config: done"
    assert detail[f"function {name}"] == "MemorySize, Environment"
    assert results(receipt)["pipeline penguins-pytorch-train"] == "update: done"
    assert detail["pipeline penguins-pytorch-train"] == "parallelism; tags cost-center"
    assert results(receipt)["schedule penguins-pytorch-train-daily"] == "update: done"
    assert detail["schedule penguins-pytorch-train-daily"] == "cron"

    lam = boto3.client("lambda", region_name=REGION)
    config = lam.get_function(FunctionName=name)["Configuration"]
    assert config["MemorySize"] == 512
    assert config["Environment"]["Variables"] == {"LOG_LEVEL": "DEBUG"}
    sm = boto3.client("sagemaker", region_name=REGION)
    arn = receipt["pipeline_arn"]
    assert {t["Key"] for t in sm.list_tags(ResourceArn=arn)["Tags"]} == {
        "project",
        "owner",
        "cost-center",
    }
    schedule = boto3.client("scheduler", region_name=REGION).get_schedule(
        Name="penguins-pytorch-train-daily"
    )
    assert schedule["ScheduleExpression"] == "cron(0 7 * * ? *)"


def test_no_schedule_in_the_config_plans_none(bundle_dir: Path) -> None:
    edit_manifest(bundle_dir, lambda manifest: manifest["publish"].update(schedule=None))
    assert main([str(bundle_dir), "--yes"]) == 0
    assert results(receipt_of(bundle_dir))["schedule -"] == "none: skipped"
    schedules = boto3.client("scheduler", region_name=REGION).list_schedules()["Schedules"]
    assert schedules == []


def test_start_passes_the_checked_parameter_values(bundle_dir: Path) -> None:
    args = [str(bundle_dir), "--yes", "--start", "-p", "ApproveThreshold=0.9"]
    assert main([*args, "-p", "SkipDataQualityCheck=false"]) == 0
    execution = receipt_of(bundle_dir)["execution"]
    assert execution["parameters"] == {"ApproveThreshold": "0.9", "SkipDataQualityCheck": "false"}
    sm = boto3.client("sagemaker", region_name=REGION)
    sent = sm.list_pipeline_parameters_for_execution(PipelineExecutionArn=execution["arn"])
    assert {p["Name"]: p["Value"] for p in sent["PipelineParameters"]} == {
        "ApproveThreshold": "0.9",
        "SkipDataQualityCheck": "false",
    }


def test_plan_names_the_command_that_applies_it(
    bundle_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--start", "-p", "InputDataUri=s3://my data/", "--watch", "--timeout", "60"]
    assert main([str(bundle_dir), *args]) == 0
    assert capsys.readouterr().out.endswith(
        "nothing applied. To apply and start an execution, run:\n"
        f"  python -m bundle.publish {bundle_dir} --yes --start -p 'InputDataUri=s3://my data/' "
        "--watch --timeout 60.0\n"
    )


def test_receipt_goes_where_asked(bundle_dir: Path, tmp_path: Path) -> None:
    receipt = tmp_path / "ci" / "publish.json"
    assert main([str(bundle_dir), "--yes", "--receipt", str(receipt)]) == 0
    assert json.loads(receipt.read_text())["status"] == "published"
    assert not (bundle_dir / "receipt.json").exists()


def test_an_object_with_other_bytes_under_its_address_is_replaced(bundle_dir: Path) -> None:
    asset = read_bundle(bundle_dir).assets[0]
    bucket, key = asset.s3_uri[5:].split("/", 1)
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket=bucket, Key=key, Body=b"cut short", ChecksumAlgorithm="SHA256")

    assert main([str(bundle_dir), "--yes"]) == 0

    assert results(receipt_of(bundle_dir))[f"asset {asset.name}"] == "replace: done"
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == asset_bytes(asset)

"""Bad input stops publishing before anything is applied, with where/what/why/fix.

No credentials, a bucket in another region, the wrong account or region, a bundle edited by
hand or older than its scripts, and bad `--start` parameter values: each exits 2, prints the
full message, and leaves AWS (moto) and the bundle folder untouched.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from bundle.publish import main
from tests.aws_env import isolate_from_aws
from tests.bundle.conftest import REGION, bucket_of, compile_bundle, edit_manifest

FIX = "  fix: recompile the bundle with this version's compiler (`python -m compiler ...`)"
MISSING = (
    "  why: every bundle of format 1 has it; the file was edited by hand or written by another "
    f"tool\n{FIX}"
)


def nothing_on_aws(bundle_dir: Path) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    assert s3.list_objects_v2(Bucket=bucket_of(bundle_dir)).get("Contents", []) == []
    assert boto3.client("sagemaker", region_name=REGION).list_pipelines()["PipelineSummaries"] == []
    assert boto3.client("lambda", region_name=REGION).list_functions()["Functions"] == []
    assert not (bundle_dir / "receipt.json").exists()


def test_no_credentials(
    bundle_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    isolate_from_aws(monkeypatch, tmp_path, REGION)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # were a request sent: refused
    assert main([str(bundle_dir), "--yes"]) == 2
    assert capsys.readouterr().err == (
        "error: AWS STS GetCallerIdentity\n"
        "  no AWS credentials found\n"
        "  why: boto3 looked in the environment, ~/.aws and the instance metadata and found none\n"
        "  fix: configure credentials (`aws configure`, `aws sso login`, or "
        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and run again\n"
        "\n"
        "nothing was applied\n"
    )
    assert not (bundle_dir / "receipt.json").exists()


@pytest.mark.usefixtures("aws_env")
def test_bucket_in_another_region(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bucket = "bucket-in-ireland"
    bundle_dir = compile_bundle(f"aws.bucket={bucket}", f"output_dir={tmp_path / 'elsewhere'}")
    eu = boto3.client("s3", region_name="eu-west-1")
    eu.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})

    assert main([str(bundle_dir), "--yes"]) == 2

    assert capsys.readouterr().err == (
        "error: 1 problem with the AWS target\n\n"
        f"s3://{bucket} (the bundle's asset bucket)\n"
        "  is in eu-west-1\n"
        "  why: SageMaker jobs in us-east-1 read their code from it; the bundle is for us-east-1\n"
        "  fix: use a bucket in us-east-1 (aws.bucket=...) and recompile\n"
        "\nnothing was applied\n"
    )
    assert eu.list_objects_v2(Bucket=bucket).get("Contents", []) == []
    assert boto3.client("sagemaker", region_name=REGION).list_pipelines()["PipelineSummaries"] == []


@pytest.mark.usefixtures("aws_env")
def test_function_arn_outside_the_publish_account(
    bundle_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = edit_manifest(bundle_dir, lambda m: m["publish"].update(account="999999999999"))
    assert main([str(bundle_dir), "--yes"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: 2 problems in the bundle\n\n")  # one per function
    deploy = next(f for f in manifest["functions"] if f["asset"] == "deploy-function")
    assert (
        f"{bundle_dir / 'assets.json'} functions[0].function_arn\n"
        f"  {deploy['function_arn']}\n"
        "  why: publishing creates arn:aws:lambda:us-east-1:999999999999:function:penguins-deploy "
        "(the function name in publish's region and account)\n"
        "  fix: set deployment's function ARNs to the configured aws account and region, then "
        "recompile\n"
    ) in err
    nothing_on_aws(bundle_dir)


@pytest.mark.usefixtures("aws_env")
def test_wrong_account_and_region_are_both_reported(
    bundle_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "999999999999")  # the caller's credentials
    assert main([str(bundle_dir), "--yes", "--region", "eu-west-1"]) == 2
    assert capsys.readouterr().err == (
        "error: 2 problems with the AWS target\n\n"
        "AWS region eu-west-1\n"
        "  the bundle is for us-east-1\n"
        "  why: the pipeline, its functions and its assets must be in the configured region\n"
        "  fix: pass --region us-east-1 (or set AWS_DEFAULT_REGION), or recompile with "
        "aws.region=eu-west-1\n\n"
        "AWS account 999999999999 (the caller's credentials)\n"
        "  the bundle is for account 111122223333\n"
        "  why: the bundle's role and function ARNs name that account\n"
        "  fix: use credentials of account 111122223333, or recompile with the roles and "
        "function ARNs of account 999999999999\n"
        "\nnothing was applied\n"
    )
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "111122223333")
    nothing_on_aws(bundle_dir)


@pytest.mark.usefixtures("aws_env")
def test_pipeline_json_edited_by_hand(bundle_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = bundle_dir / "pipeline.json"
    path.write_text(path.read_text().replace('"DefaultValue": 0.7', '"DefaultValue": 0.2'))
    assert main([str(bundle_dir), "--yes"]) == 2
    assert capsys.readouterr().err == (
        "error: 1 problem in the bundle\n\n"
        f"{path}\n"
        "  its sha256 is not assets.json's definition_sha256\n"
        "  why: the definition was edited after the compile, so it may not be what the config "
        "describes\n"
        "  fix: recompile the bundle with `python -m compiler ...` (change the config, not the "
        "JSON)\n"
        "\nnothing was applied\n"
    )
    nothing_on_aws(bundle_dir)


@pytest.mark.usefixtures("aws_env")
def test_a_hand_edit_with_its_sha256_recomputed_meets_the_definition_check(
    bundle_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The check the compiler and the engine run: a Version SageMaker does not read, and a
    DependsOn across branches, are refused even when the recorded hash was made to match."""
    path = bundle_dir / "pipeline.json"
    definition = json.loads(path.read_text())
    definition["Version"] = "2021-01-01"
    (pending,) = definition["Steps"][-1]["Arguments"]["ElseSteps"]
    pending["Arguments"]["IfSteps"][0]["DependsOn"] = ["RegisterApproved"]
    path.write_text(json.dumps(definition))
    edit_manifest(
        bundle_dir,
        lambda m: m.update(definition_sha256=hashlib.sha256(path.read_bytes()).hexdigest()),
    )
    assert main([str(bundle_dir), "--yes"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: 2 problems in the bundle\n\n")
    assert f"{path}, Version\n  is '2021-01-01'\n" in err
    assert (
        f"{path}, step RegisterPending\n  DependsOn names step RegisterApproved, inside "
        "CheckApprove's IfSteps\n"
    ) in err
    nothing_on_aws(bundle_dir)


@pytest.mark.usefixtures("aws_env")
def test_asset_key_edited_by_hand(bundle_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def edit(manifest: dict[str, Any]) -> None:
        asset = manifest["assets"][2]
        asset["s3_uri"] = asset["s3_uri"].replace(f"/{asset['sha256']}/", "/latest/")

    asset = edit_manifest(bundle_dir, edit)["assets"][2]
    assert main([str(bundle_dir), "--yes"]) == 2
    assert capsys.readouterr().err == (
        "error: 1 problem in the bundle\n\n"
        f"{bundle_dir / 'assets.json'} assets[2].s3_uri\n"
        f"  {asset['s3_uri']} does not name the asset's sha256 {asset['sha256']}\n"
        "  why: publishing skips an object already at its key, which is safe only for "
        "content-addressed keys\n"
        "  fix: recompile the bundle with `python -m compiler ...`\n"
        "\nnothing was applied\n"
    )
    nothing_on_aws(bundle_dir)


@pytest.mark.usefixtures("aws_env")
def test_script_changed_since_the_compile(
    bundle_dir: Path, repo_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asset = json.loads((bundle_dir / "assets.json").read_text())["assets"][1]
    (entry,) = asset["files"]
    with (repo_copy / entry["path"]).open("a") as script:
        script.write("# edited after the compile\n")
    assert main([str(bundle_dir), "--yes"], repo=repo_copy) == 2
    assert capsys.readouterr().err == (
        "error: 1 problem in the bundle\n\n"
        f"{entry['path']} (asset {asset['name']} of the bundle)\n"
        "  changed since the bundle was compiled\n"
        "  why: the bundle records every file's sha256: running or publishing it now would use "
        "code it does not describe\n"
        "  fix: recompile the bundle (`python -m compiler ...`) and use the new one\n"
        "\nnothing was applied\n"
    )
    nothing_on_aws(bundle_dir)


@pytest.mark.usefixtures("aws_env")
def test_bundle_without_publish_sections(
    bundle_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def edit(manifest: dict[str, Any]) -> None:
        del manifest["publish"], manifest["functions"]

    edit_manifest(bundle_dir, edit)
    assert main([str(bundle_dir), "--yes"]) == 2
    where = bundle_dir / "assets.json"
    assert capsys.readouterr().err == (
        "error: 2 problems in the bundle's assets.json\n\n"
        f"{where}\n  functions: missing\n{MISSING}\n\n"
        f"{where}\n  publish: missing\n{MISSING}\n"
        "\nnothing was applied\n"
    )


@pytest.mark.usefixtures("aws_env")
@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        pytest.param(
            "ApproveTreshold=0.8",
            "-p ApproveTreshold=0.8\n"
            "  unknown parameter 'ApproveTreshold'\n"
            "  why: the pipeline's parameters are ApproveThreshold, DataCapturePercentage, "
            "DataCaptureUri, InputDataUri, PendingThreshold, ProcessingInstanceType, "
            "RegisterNewDataQualityBaseline, RegisterNewModelQualityBaseline, "
            "SkipDataQualityCheck, SkipModelQualityCheck, TrainingInstanceType\n"
            "  fix: use one of them (did you mean 'ApproveThreshold'?)",
            id="unknown-name",
        ),
        pytest.param(
            "ApproveThreshold=high",
            "-p ApproveThreshold=high\n"
            "  'high' is not a Float\n"
            "  why: parameter ApproveThreshold is declared Float (default 0.7)\n"
            "  fix: give a number, e.g. 0.8",
            id="float",
        ),
        pytest.param(
            "DataCapturePercentage=12.5",
            "-p DataCapturePercentage=12.5\n"
            "  '12.5' is not an Integer\n"
            "  why: parameter DataCapturePercentage is declared Integer (default 100)\n"
            "  fix: give a whole number, e.g. 100",
            id="integer",
        ),
        pytest.param(
            "SkipDataQualityCheck=yes",
            "-p SkipDataQualityCheck=yes\n"
            "  'yes' is not a Boolean\n"
            "  why: parameter SkipDataQualityCheck is declared Boolean (default true)\n"
            "  fix: give true or false (lower case)",
            id="boolean",
        ),
    ],
)
def test_bad_start_parameter(
    bundle_dir: Path, assignment: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(bundle_dir), "--yes", "--start", "-p", assignment]) == 2
    assert capsys.readouterr().err == (
        f"error: 1 problem in the parameter values\n\n{message}\n\nnothing was applied\n"
    )
    nothing_on_aws(bundle_dir)


@pytest.mark.usefixtures("aws_env")
def test_parameter_without_equals_sign(
    bundle_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(bundle_dir), "--start", "-p", "ApproveThreshold"]) == 2
    assert capsys.readouterr().err == (
        "error: -p ApproveThreshold\n"
        "  not a Name=Value pair\n"
        "  why: each parameter value is given as Name=Value\n"
        "  fix: write it as e.g. `-p ApproveThreshold=0.8`\n"
        "\nnothing was applied\n"
    )


def test_watch_needs_start(bundle_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([str(bundle_dir), "--watch"])
    assert exit_info.value.code == 2
    assert "error: --watch and -p go with --start" in capsys.readouterr().err


@pytest.mark.usefixtures("aws_env")
def test_bucket_that_does_not_exist(bundle_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    boto3.client("s3", region_name=REGION).delete_bucket(Bucket=bucket_of(bundle_dir))
    assert main([str(bundle_dir), "--yes"]) == 2
    assert capsys.readouterr().err == (
        f"error: AWS S3 GetBucketLocation (bucket {bucket_of(bundle_dir)})\n"
        "  NoSuchBucket: The specified bucket does not exist\n"
        "  why: the bucket the bundle's assets go to does not exist\n"
        "  fix: create it in the bundle's region (`aws s3 mb s3://BUCKET --region REGION`) or "
        "set aws.bucket to an existing bucket and recompile\n"
        "\nnothing was applied\n"
    )
    assert boto3.client("lambda", region_name=REGION).list_functions()["Functions"] == []


@pytest.mark.usefixtures("aws_env")
def test_schedule_with_bad_parameter_values(
    bundle_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = {"PendingThreshhold": 0.4}
    edit_manifest(bundle_dir, lambda m: m["publish"]["schedule"].update(parameters=bad))
    assert main([str(bundle_dir), "--yes"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "error: 1 problem in the bundle\n\n"
        f"{bundle_dir / 'assets.json'} publish.schedule.parameters PendingThreshhold=0.4\n"
        "  unknown parameter 'PendingThreshhold'\n"
    )
    assert err.endswith(
        "  fix: use one of them (did you mean 'PendingThreshold'?)\n\nnothing was applied\n"
    )
    nothing_on_aws(bundle_dir)


@pytest.mark.usefixtures("aws_env")
def test_publish_section_with_missing_keys(
    bundle_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:

    def edit(manifest: dict[str, Any]) -> None:
        del manifest["publish"]["role_arn"], manifest["publish"]["schedule"]["cron"]
        manifest["functions"][1]["handler"] = None

    edit_manifest(bundle_dir, edit)
    assert main([str(bundle_dir), "--yes"]) == 2
    where = bundle_dir / "assets.json"
    assert capsys.readouterr().err == (
        "error: 3 problems in the bundle's assets.json\n\n"
        f"{where}\n  functions[1].handler = null\n"
        "  why: bundle format 1 has a string here; the file was edited by hand or written by "
        f"another tool\n{FIX}\n\n"
        f"{where}\n  publish.role_arn: missing\n{MISSING}\n\n"
        f"{where}\n  publish.schedule.cron: missing\n{MISSING}\n"
        "\nnothing was applied\n"
    )

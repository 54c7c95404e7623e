"""A Lambda step runs the code of its function, never a play of it.

The bundle's own handlers run from their Lambda zips (changing the zip changes what runs, its
shared envelope module included); a mapped foreign handler runs with the step's event and the
engine's local SageMaker; a call the engine does not implement, a call to another service and a
handler that raises fail the step, naming what happened.
"""

from __future__ import annotations

import io
import json
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import pytest

from bundle.assets import asset_objects
from engine.cli import main
from engine.executions import list_executions
from engine.executors import lambda_step
from engine.executors.base import StepFailed
from engine.localmap import from_options, lambda_functions, map_assets
from engine.registry import Registry
from tests.aws_env import isolate_from_aws
from tests.engine.serve_fixtures import (
    BUCKET,
    Root,
    context,
    golden_assets,
    golden_functions,
    golden_step,
    resolve,
    root,
)

__all__ = ["root"]
CASE = "penguins-pytorch-train"
FOREIGN = "arn:aws:lambda:us-east-1:111122223333:function:notebook-deploy"
OUTPUTS = [
    {"OutputName": "statusCode", "OutputType": "Integer"},
    {"OutputName": "error", "OutputType": "String"},
]


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_from_aws(monkeypatch, tmp_path, "us-east-1")


def deploy_step(root: Root, package_arn: str, assets: dict[str, str]) -> dict[str, Any]:
    """The golden Deploy step run with the given assets; its outputs."""
    known = {
        "Steps.RegisterApproved.ModelPackageArn": package_arn,
        "Parameters.DataCaptureUri": f"s3://{BUCKET}/capture",
        "Parameters.DataCapturePercentage": 101,  # refused by the handler: no endpoint starts
    }
    definition = resolve(golden_step(CASE, "Deploy"), known)
    ctx = context(
        root,
        "Deploy",
        "Lambda",
        definition["Arguments"],
        definition=definition,
        functions=golden_functions(CASE),
        assets=assets,
    )
    return dict(lambda_step.run(ctx)["OutputParameters"])


def edit_zip(root: Root, uri: str, edits: dict[str, tuple[str, str]]) -> None:
    """Rewrite files of the Lambda zip at `uri` in local S3: file -> (old text, new text)."""
    path = root.s3.path(uri)
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    for name, (old, new) in edits.items():
        text = files[name].decode()
        assert old in text
        files[name] = text.replace(old, new).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    path.write_bytes(buffer.getvalue())


def test_a_changed_deploy_zip_runs_as_changed_handler_and_envelope_alike(root: Root) -> None:
    assets = golden_assets(CASE, root)
    missing = "arn:aws:sagemaker:us-east-1:111122223333:model-package/penguins/9"
    shipped = deploy_step(root, missing, assets)
    assert shipped["statusCode"] == 400
    assert shipped["error"].startswith(
        "invalid event:\nevent.data_capture_percentage = 101\n"
        "  why: must be a whole number from 0 to 100\n"
    )
    edit_zip(
        root,
        assets["deploy-function"],
        {
            "deploy.py": ("100,\n        None,", "1000,\n        None,"),  # accepts up to 1000
            "jobkit/envelope.py": ('f"event.{key} = {shown}', 'f"zip: event.{key} = {shown}'),
        },
    )
    changed = deploy_step(root, missing, assets)
    # past the event check now, the handler asks the local SageMaker for the package
    assert changed == {
        "statusCode": 404,
        "endpoint_name": "",
        "error": f"model package {missing} not found\n"
        "  why: SageMaker has no model package with this ARN in this account and region\n"
        "  fix: check the ARN (the register step's ModelPackageArn) and the Lambda's region",
    }
    edit_zip(root, assets["deploy-function"], {"deploy.py": ("1000,\n", "-1,\n")})
    refused = deploy_step(root, missing, assets)
    assert refused["error"].startswith("invalid event:\nzip: event.data_capture_percentage = 101")


def foreign_step(root: Root, tmp_path: Path, source: str, event: dict[str, Any]) -> dict[str, Any]:
    """A foreign Lambda step, its ARN mapped to handler.py:handler (as --lambda maps it); its
    outputs."""
    handler = tmp_path / "notebook" / "handler.py"
    handler.parent.mkdir(exist_ok=True)
    handler.write_text(textwrap.dedent(source))
    local = from_options(lambdas=[f"{FOREIGN}={handler}:handler"])
    assets = map_assets(local)
    for obj in asset_objects(assets):  # as a run puts the assets in its S3 first
        root.s3.put_bytes(obj.uri, obj.body)
    definition = {
        "Name": "NotebookDeploy",
        "Type": "Lambda",
        "FunctionArn": FOREIGN,
        "Arguments": event,
        "OutputParameters": OUTPUTS,
    }
    ctx = context(
        root,
        "NotebookDeploy",
        "Lambda",
        event,
        definition=definition,
        functions={f.function_arn: f for f in lambda_functions(local)},
        assets={a.name: a.s3_uri for a in assets},
    )
    return dict(lambda_step.run(ctx)["OutputParameters"])


def test_a_mapped_foreign_function_runs_with_the_event_and_the_local_sagemaker(
    root: Root, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "production")  # the user's AWS never reaches a handler
    registry = Registry(root.path / "registry.sqlite")
    arn = registry.register(
        "course",
        model_data_url=f"s3://{BUCKET}/model.tar.gz",
        image="image",
        status="Approved",
        metrics={},
        drift_check_baselines={},
        inference_specification={},
        execution_id="e",
    )
    source = """
        import json, os
        import boto3
        sm = boto3.client("sagemaker")  # at import, as notebook handlers do
        def handler(event, context):
            listed = sm.list_model_packages(ModelPackageGroupName=event["group"])
            latest = listed["ModelPackageSummaryList"][0]
            return {"statusCode": 200, "error": latest["ModelApprovalStatus"] + " "
                    + latest["ModelPackageArn"] + " " + context.function_name
                    + " " + str(sm.meta.config.read_timeout)
                    + " " + os.environ["AWS_ACCESS_KEY_ID"] + " " + str(os.getenv("AWS_PROFILE"))}
    """
    outputs = foreign_step(root, tmp_path, source, {"group": "course"})
    # its clients wait for a local endpoint to start (botocore's default: 60 s)
    assert outputs == {
        "statusCode": 200,
        "error": f"Approved {arn} notebook-deploy 240 local-engine None",
    }


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            """
            import boto3
            from botocore.exceptions import ClientError
            def handler(event, context):
                try:  # a handler that swallows the refusal still fails the step
                    boto3.client("sagemaker").delete_model(ModelName="old")
                except ClientError:
                    pass
                return {"statusCode": 200, "error": ""}
            """,
            "called what the local engine cannot answer:\n"
            "  the local engine does not implement sagemaker:DeleteModel\n",
        ),
        (
            """
            import boto3
            def handler(event, context):
                boto3.client("s3").list_objects_v2(Bucket="b")
            """,
            "  the local engine does not implement s3 (GET /b)\n",
        ),
        (
            """
            def handler(event, context):
                raise RuntimeError("no model for " + event["group"])
            """,
            "failed: RuntimeError: no model for course\n"
            "  why: the handler raised; SageMaker fails the step then\n",
        ),
    ],
    ids=["unimplemented-sagemaker-call", "other-service", "handler-raises"],
)
def test_what_the_engine_cannot_answer_or_a_raising_handler_fails_the_step(
    root: Root, tmp_path: Path, source: str, expected: str
) -> None:
    with pytest.raises(StepFailed) as failed:
        foreign_step(root, tmp_path, source, {"group": "course"})
    message = str(failed.value)
    assert message.startswith("step NotebookDeploy: Lambda function notebook-deploy")
    assert expected in message


def test_a_bare_definition_runs_its_mapped_lambda_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "lambdas").mkdir()
    (tmp_path / "lambdas" / "deploy.py").write_text(
        textwrap.dedent(
            """
            from common import greeting  # its folder's modules beside it, as in its zip
            def handler(event, context):
                return {"statusCode": 200, "error": greeting(event["model"])}
            """
        )
    )
    (tmp_path / "lambdas" / "common.py").write_text("def greeting(m):\n    return 'to ' + m\n")
    step = {
        "Name": "Deploy",
        "Type": "Lambda",
        "FunctionArn": FOREIGN,
        "Arguments": {"model": {"Get": "Parameters.Model"}},
        "OutputParameters": OUTPUTS,
    }
    definition = {
        "Version": "2020-12-01",
        "Parameters": [{"Name": "Model", "Type": "String", "DefaultValue": "m1"}],
        "Steps": [step],
    }
    (tmp_path / "course.json").write_text(json.dumps(definition))
    root = tmp_path / "root"
    handler = f"{FOREIGN}={tmp_path / 'lambdas' / 'deploy.py'}:handler"
    argv = ["run", str(tmp_path / "course.json"), "--root", str(root), "--lambda", handler]
    assert main([*argv, "-p", "Model=m2"]) == 0, capsys.readouterr()
    (execution,) = list_executions(root, "course")
    (record,) = execution.records()
    assert record["Properties"]["OutputParameters"] == {"statusCode": 200, "error": "to m2"}

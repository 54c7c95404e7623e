"""Lambda steps: the code of the function the step's FunctionArn names runs, with the step's event.

The function is one the run knows by its ARN, with its code as a Lambda zip asset in local S3:
the bundle's own (assets.json `functions`), or a foreign one the local map gives a handler file
(engine/localmap.py zips the file's folder); the checks before the run refuse any other. Its
handler runs as AWS Lambda's Python runtime runs it (engine/lambda_runtime.py), in a process of
its own with only its files on the path, the step's Arguments as the event, the function's
environment, and its timeout.

Its AWS calls reach the engine's local services (engine/local_aws.py): `AWS_ENDPOINT_URL` points
boto3 at a loopback server for the length of the step, with made-up credentials, so nothing
reaches AWS. SageMaker is engine/local_sagemaker.py (the local registry, loopback endpoints,
monitoring schedules that `python -m engine.schedule run` runs), EventBridge Scheduler
engine/scheduler.py. A call the engine does not implement fails the step, naming it, whatever
the handler made of the refusal.

The result is the step's: its OutputParameters are taken from it, typed as declared; a declared
output the result lacks fails the step, as on SageMaker, as does an error the handler raises.
Our handlers never raise: they report failures as `{"statusCode": 4xx|5xx, "error": ...}`
(jobkit/envelope.py), which the pipeline's conditions route to its Fail steps.
"""

from __future__ import annotations

import json
import os
import sys
import zipfile
from pathlib import Path
from typing import Any

from engine import local_aws
from engine.executors.base import StepContext, StepFailed
from engine.executors.quality_check import ANALYZER_ASSET
from engine.local_sagemaker import LocalSageMaker
from engine.scheduler import LocalScheduler
from kernel.manifest import Function

RUNTIME = Path(__file__).resolve().parents[1] / "lambda_runtime.py"
# What a process needs of this machine's environment; the rest is the function's, as on Lambda.
KEPT_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "SYSTEMROOT")
_TYPES = {"String": str, "Integer": int, "Float": float, "Boolean": bool}


def step_function(ctx: StepContext) -> Function:
    """The function the step's FunctionArn names.

    Raises:
        StepFailed: the run knows no function of that ARN.
    """
    arn = str(ctx.definition.get("FunctionArn", "(no FunctionArn)"))
    function = ctx.functions.get(arn)
    if function is None:
        known = ", ".join(sorted(ctx.functions)) or "none"
        raise StepFailed(
            f"step {ctx.step_name}: FunctionArn {arn}\n"
            "  what: not a Lambda function this run has the code of\n"
            f"  why: the engine runs the code of the bundle's functions (assets.json functions: "
            f"{known}) or of mapped ones, found by the ARN\n"
            f"  fix: map the ARN to a handler with --lambda {arn}=FILE.py:FUNCTION, or recompile "
            "the bundle"
        )
    return function


def function_code(ctx: StepContext, function: Function) -> Path:
    """The folder of the function's code: its zip (in local S3) unpacked."""
    uri = ctx.assets.get(function.asset)
    if uri is None:
        raise StepFailed(
            f"step {ctx.step_name}: Lambda function {function.function_name}: its code (asset "
            f"{function.asset}) is not among the bundle's assets\n"
            "  why: the engine runs the function's code, the zip that publishing would upload\n"
            "  fix: recompile the bundle"
        )
    folder = ctx.work / "function"
    with zipfile.ZipFile(ctx.s3.path(uri)) as archive:
        archive.extractall(folder)
    return folder


def environment(ctx: StepContext, function: Function, url: str) -> dict[str, str]:
    """The handler's environment: the function's, with boto3 pointed at the local AWS."""
    fake = "local-engine"  # botocore signs requests; nothing checks the signature
    return {
        **{name: os.environ[name] for name in KEPT_ENV if name in os.environ},
        **function.environment,
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": fake,
        "AWS_SECRET_ACCESS_KEY": fake,
        "AWS_REGION": ctx.region,
        "AWS_DEFAULT_REGION": ctx.region,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def local_services(ctx: StepContext) -> local_aws.Services:
    analyzer = ctx.assets.get(ANALYZER_ASSET)
    return {
        "sagemaker": lambda region: LocalSageMaker(
            ctx.root, region, ctx.account, ctx.execution_id, analyzer, ctx.log
        ),
        "scheduler": lambda region: LocalScheduler(ctx.root, region),
    }


def invoke(ctx: StepContext, function: Function) -> Any:
    """The function's result for the step's event.

    Raises:
        StepFailed: the handler raised, timed out or called what the engine does not implement.
    """
    invocation, answer = ctx.work / "invocation.json", ctx.work / "result.json"
    invocation.write_text(
        json.dumps(
            {
                "event": ctx.arguments,
                "function_arn": function.function_arn,
                "function_name": function.function_name,
                "timeout_seconds": function.timeout_seconds,
                "memory_mb": function.memory_mb,
            }
        )
    )
    code = function_code(ctx, function)
    argv = [sys.executable, str(RUNTIME), str(code), function.handler, str(invocation), str(answer)]
    with local_aws.serving(local_services(ctx)) as aws:
        exit_code = ctx.run_process(
            argv,
            env=environment(ctx, function, aws.url),
            cwd=code,
            timeout=function.timeout_seconds,
        )
    where = f"step {ctx.step_name}: Lambda function {function.function_name}"
    if aws.problems:
        raise StepFailed(
            f"{where} called what the local engine cannot answer:\n  "
            + "\n  ".join(dict.fromkeys(aws.problems))
            + "\n  why: the engine answers the AWS calls of the bundle's own handlers only"
            f"\n  fix: run this pipeline on AWS, or change the function (log: {ctx.log_path})"
        )
    if exit_code != 0 or not answer.is_file():
        raise StepFailed(
            f"{where}: the Lambda runtime ended with status {exit_code} (log: {ctx.log_path})"
        )
    document = json.loads(answer.read_text())
    if "errorType" in document:
        raise StepFailed(
            f"{where} failed: {document['errorType']}: {document['errorMessage']}\n"
            f"  why: the handler raised; SageMaker fails the step then\n  fix: see {ctx.log_path}"
        )
    ctx.log(f"result: {json.dumps(document['result'])}")
    return document["result"]


def run(ctx: StepContext) -> dict[str, Any]:
    result = invoke(ctx, step_function(ctx))
    given = result if isinstance(result, dict) else {}
    outputs: dict[str, Any] = {}
    for declared in ctx.definition.get("OutputParameters", []):
        key, kind = declared["OutputName"], declared.get("OutputType", "String")
        if key not in given:
            raise StepFailed(
                f"step {ctx.step_name}: the Lambda function's result has no output {key!r}\n"
                f"  why: the step declares it in OutputParameters; the result has "
                f"{', '.join(sorted(given)) or 'none'}\n"
                "  fix: declare only outputs the function returns"
            )
        outputs[key] = _TYPES.get(kind, str)(given[key])
    return {"OutputParameters": outputs}

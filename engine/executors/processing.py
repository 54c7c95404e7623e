"""Processing steps, run with the Processing container contract.

Each input is given at its LocalPath without copying (engine/container_fs.py), the entrypoint
runs with the ContainerArguments and the Environment, and each output folder is uploaded to its
S3Uri when the job ends (EndOfJob). In a mount namespace the job sees every `/opt/ml/...` path as
SageMaker shows it. Without one, those paths (LocalPaths, entrypoint, arguments, environment) are
rewritten under the step's work folder, and the engine also passes the rewritten processing root
as `--base_dir` (the one flag every component script takes for its root, default
/opt/ml/processing) unless the arguments already give one.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from engine import process
from engine.container_fs import ContainerFs, python_argv
from engine.executors.base import StepContext, StepFailed
from engine.executors.training import job_name
from engine.expressions import render

BASE_DIR_FLAG = "--base_dir"


def run(ctx: StepContext) -> dict[str, Any]:
    arguments = ctx.arguments
    name = job_name(ctx.execution_id, ctx.step_name)
    started = datetime.now(UTC)
    app = arguments.get("AppSpecification", {})
    entrypoint = list(app.get("ContainerEntrypoint") or [])
    if not entrypoint:
        raise StepFailed(
            f"processing job {name}: AppSpecification has no ContainerEntrypoint; the local "
            "engine runs only script jobs (python3 /opt/ml/processing/input/code/<script>)"
        )
    fs = ContainerFs(ctx.work, f"processing job {name}")
    local_paths = []
    for item in arguments.get("ProcessingInputs", []):
        s3_input = item.get("S3Input")
        if s3_input is None:
            raise StepFailed(f"processing input {item.get('InputName')!r}: only S3Input runs here")
        local_paths.append(str(s3_input["LocalPath"]))
        try:
            fs.stage(ctx.s3, str(s3_input["S3Uri"]), str(s3_input["LocalPath"]))
        except (FileNotFoundError, ValueError) as exc:
            raise StepFailed(
                f"processing job {name}, input {item.get('InputName')!r}: {exc}"
            ) from None
    outputs = arguments.get("ProcessingOutputConfig", {}).get("Outputs", [])
    for output in outputs:
        local_paths.append(str(output["S3Output"]["LocalPath"]))
        fs.host(str(output["S3Output"]["LocalPath"])).mkdir(parents=True, exist_ok=True)
    container_args = [render(a) for a in app.get("ContainerArguments") or []]
    if not fs.kind and BASE_DIR_FLAG not in container_args and local_paths:
        base = os.path.commonpath(local_paths)
        container_args += [BASE_DIR_FLAG, base]  # mapped with the rest below
    python = ctx.python_for(str(app.get("ImageUri", "")))
    argv = python_argv([str(a) for a in entrypoint] + container_args, fs, python)
    environment = arguments.get("Environment", {})
    env = {**os.environ, **{k: fs.seen(str(v)) for k, v in environment.items()}}
    limit = arguments.get("StoppingCondition", {}).get("MaxRuntimeInSeconds")
    offset = ctx.log_path.stat().st_size if ctx.log_path.exists() else 0
    code = ctx.run_process(argv, env=env, cwd=ctx.work, timeout=limit, fs=fs)
    if code != 0:
        failed = process.job_failed(
            f"processing job {name}", _script(entrypoint), code, ctx.log_path, offset
        )
        raise StepFailed(_as_uris(str(failed), fs, arguments.get("ProcessingInputs", [])))
    by_name = {}
    for output in outputs:
        s3_output = output["S3Output"]
        ctx.s3.upload(fs.host(str(s3_output["LocalPath"])), str(s3_output["S3Uri"]))
        by_name[str(output["OutputName"])] = output
    return {
        **arguments,
        "ProcessingJobName": name,
        "ProcessingJobArn": ctx.arn(f"processing-job/{name}"),
        "ProcessingJobStatus": "Completed",
        "ProcessingOutputConfig": {"Outputs": by_name},
        "ProcessingStartTime": started.isoformat(),
        "ProcessingEndTime": datetime.now(UTC).isoformat(),
    }


def _as_uris(message: str, fs: ContainerFs, inputs: list[dict[str, Any]]) -> str:
    """`message` with each input's path as the job saw it named by its S3 URI, as the data's
    owner knows it (a data error then names s3://.../penguins.csv, not a path of the job's)."""
    for item in inputs:
        s3_input = item["S3Input"]
        local = fs.seen(str(s3_input["LocalPath"])).rstrip("/")
        message = message.replace(local + "/", str(s3_input["S3Uri"]).rstrip("/") + "/")
    return message


def _script(entrypoint: list[Any]) -> str:
    """The script a job ran (its file name), or its command when it ran none."""
    scripts = [PurePosixPath(str(a)).name for a in entrypoint if str(a).endswith(".py")]
    return scripts[0] if scripts else " ".join(str(a) for a in entrypoint)[:60]

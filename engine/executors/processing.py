"""Processing steps, run with the Processing container contract, container paths mapped.

Each input is copied to its LocalPath, the entrypoint runs with the ContainerArguments and the
Environment, and each output folder is uploaded to its S3Uri when the job ends (EndOfJob).
Every `/opt/ml/...` path (LocalPaths, entrypoint, arguments, environment) is mapped under the
step's work folder. A script cannot be moved to /opt/ml without a container, so the engine also
passes the mapped processing root as `--base_dir` (the one flag every component script takes for
its root, default /opt/ml/processing) unless the arguments already give one.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from engine import process, sdk_conventions
from engine.executors.base import StepContext, StepFailed
from engine.executors.training import job_name
from engine.expressions import render

BASE_DIR_FLAG = "--base_dir"
FRAMEWORK_SOURCES = "sources"  # a FrameworkProcessor's source dir, unpacked in the work folder


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
    local_paths = []
    for item in arguments.get("ProcessingInputs", []):
        s3_input = item.get("S3Input")
        if s3_input is None:
            raise StepFailed(f"processing input {item.get('InputName')!r}: only S3Input runs here")
        local_paths.append(str(s3_input["LocalPath"]))
        try:
            ctx.s3.download(str(s3_input["S3Uri"]), _mapped(ctx, str(s3_input["LocalPath"])))
        except (FileNotFoundError, ValueError) as exc:
            raise StepFailed(
                f"processing job {name}, input {item.get('InputName')!r}: {exc}"
            ) from None
    outputs = arguments.get("ProcessingOutputConfig", {}).get("Outputs", [])
    for output in outputs:
        local_paths.append(str(output["S3Output"]["LocalPath"]))
        _mapped(ctx, str(output["S3Output"]["LocalPath"])).mkdir(parents=True, exist_ok=True)
    container_args = [render(a) for a in app.get("ContainerArguments") or []]
    if BASE_DIR_FLAG not in container_args and local_paths:
        base = os.path.commonpath(local_paths)
        container_args += [BASE_DIR_FLAG, base]  # mapped with the rest below
    python = ctx.python_for(str(app.get("ImageUri", "")))
    command, cwd = _command(ctx, name, [str(a) for a in entrypoint], python)
    argv = process.python_argv(command + container_args, ctx.work, python)
    env = {
        **os.environ,
        **{
            k: process.container_path(str(v), ctx.work)
            for k, v in arguments.get("Environment", {}).items()
        },
    }
    limit = arguments.get("StoppingCondition", {}).get("MaxRuntimeInSeconds")
    offset = ctx.log_path.stat().st_size if ctx.log_path.exists() else 0
    code = ctx.run_process(argv, env=env, cwd=cwd, timeout=limit)
    if code != 0:
        failed = process.job_failed(
            f"processing job {name}", _script(command), code, ctx.log_path, offset
        )
        raise StepFailed(_as_uris(str(failed), ctx, arguments.get("ProcessingInputs", [])))
    by_name = {}
    for output in outputs:
        s3_output = output["S3Output"]
        ctx.s3.upload(_mapped(ctx, str(s3_output["LocalPath"])), str(s3_output["S3Uri"]))
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


def _command(
    ctx: StepContext, name: str, entrypoint: list[str], python: str
) -> tuple[list[str], Path]:
    """The job's command and folder: its entrypoint in the work folder, or for a
    FrameworkProcessor's `bash runproc.sh` what that script does, played offline (the source
    dir unpacked in the work folder, its requirements checked, the entry script run there)."""
    if not sdk_conventions.is_framework_job(entrypoint):
        return entrypoint, ctx.work
    where = f"processing job {name}"
    runproc = _mapped(ctx, entrypoint[1])
    try:
        text = runproc.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StepFailed.because(
            where,
            f"no {entrypoint[1]}",
            "a FrameworkProcessor job runs the runproc.sh of its `entrypoint` input",
            "give the job the entrypoint input FrameworkProcessor.run makes",
        ) from None
    job = sdk_conventions.framework_job(text, where)
    sources = ctx.work / FRAMEWORK_SOURCES
    sdk_conventions.unpack_sources(_mapped(ctx, job.code_dir), sources, where)
    sdk_conventions.check_requirements(python, sources, where)
    return [*job.command, job.script], sources


def _as_uris(message: str, ctx: StepContext, inputs: list[dict[str, Any]]) -> str:
    """`message` with each input's local copy named by its S3 URI, as the data's owner knows it
    (a data error then names s3://.../penguins.csv, not a path in the engine's work folder)."""
    for item in inputs:
        s3_input = item["S3Input"]
        local = str(_mapped(ctx, str(s3_input["LocalPath"]))).rstrip("/")
        message = message.replace(local + "/", str(s3_input["S3Uri"]).rstrip("/") + "/")
    return message


def _mapped(ctx: StepContext, container_path: str) -> Path:
    """Where a container path lives in the work folder (as process.container_path maps it)."""
    return ctx.work / container_path.lstrip("/")


def _script(entrypoint: list[Any]) -> str:
    """The script a job ran (its file name), or its command when it ran none."""
    scripts = [PurePosixPath(str(a)).name for a in entrypoint if str(a).endswith(".py")]
    return scripts[0] if scripts else " ".join(str(a) for a in entrypoint)[:60]

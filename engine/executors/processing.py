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
from pathlib import Path, PurePosixPath
from typing import Any

from engine import process, sdk_conventions
from engine.container_fs import ContainerFs, python_argv
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
    command, cwd = _command(ctx, name, [str(a) for a in entrypoint], python)
    argv = python_argv(command + container_args, fs, python)
    environment = arguments.get("Environment", {})
    env = {**os.environ, **{k: fs.seen(str(v)) for k, v in environment.items()}}
    limit = arguments.get("StoppingCondition", {}).get("MaxRuntimeInSeconds")
    offset = ctx.log_path.stat().st_size if ctx.log_path.exists() else 0
    code = ctx.run_process(argv, env=env, cwd=cwd, timeout=limit, fs=fs)
    if code != 0:
        failed = process.job_failed(
            f"processing job {name}", _script(command), code, ctx.log_path, offset
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


def _command(
    ctx: StepContext, name: str, entrypoint: list[str], python: str
) -> tuple[list[str], Path]:
    """The job's command and folder: its entrypoint in the work folder, or for a
    FrameworkProcessor's `bash runproc.sh` what that script does, played offline (the source
    dir unpacked in the work folder, its requirements checked, the entry script run there)."""
    if not sdk_conventions.is_framework_job(entrypoint):
        return entrypoint, ctx.work
    where = f"processing job {name}"
    runproc = _input_file(ctx, entrypoint[1], where)
    job = sdk_conventions.framework_job(runproc.read_text(encoding="utf-8"), where)
    archive = _input_file(ctx, f"{job.code_dir}/{sdk_conventions.SOURCE_ARCHIVE}", where)
    sources = ctx.work / FRAMEWORK_SOURCES
    sdk_conventions.unpack_sources(archive, sources)
    sdk_conventions.check_requirements(python, sources, where)
    return [*job.command, job.script], sources


def _input_file(ctx: StepContext, container_file: str, where: str) -> Path:
    """The engine's copy of a file the job finds at `container_file` in one of its inputs (an
    input's object or prefix, read where it is, however the job is given it).

    Raises:
        StepFailed: no input holds it.
    """
    folder, file_name = container_file.rsplit("/", 1)
    for item in ctx.arguments.get("ProcessingInputs", []):
        s3_input = item.get("S3Input") or {}
        if str(s3_input.get("LocalPath", "")).rstrip("/") == folder.rstrip("/"):
            source = ctx.s3.path(str(s3_input["S3Uri"]))
            found = source / file_name if source.is_dir() else source
            if found.is_file() and found.name == file_name:
                return found
    raise StepFailed.because(
        where,
        f"no input holds {container_file}",
        "a FrameworkProcessor job runs the runproc.sh of its `entrypoint` input on the "
        "sourcedir.tar.gz of its `code` input",
        "give the job both inputs, as FrameworkProcessor.run makes them",
    )


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

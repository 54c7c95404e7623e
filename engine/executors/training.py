"""Training steps, run as the SageMaker framework containers' training toolkit runs a script.

The toolkit unpacks `sagemaker_submit_directory` into /opt/ml/code, JSON-decodes each
hyperparameter, passes the user's ones (not `sagemaker_*`) as `--name value` arguments, points
`SM_CHANNEL_<NAME>` at each channel's data and `SM_MODEL_DIR` at /opt/ml/model, and runs
`python <sagemaker_program>` from /opt/ml/code. Afterwards the model folder becomes
`<S3OutputPath>/<job name>/output/model.tar.gz`, and metrics are the last match of each
MetricDefinitions regex in the job's log.
"""

from __future__ import annotations

import json
import os
import re
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bundle.assets import pack_model_dir
from engine import process, sdk_conventions
from engine.container_fs import ContainerFs
from engine.executors.base import StepContext, StepFailed

HOST = "algo-1"


def run(ctx: StepContext) -> dict[str, Any]:
    name = job_name(ctx.execution_id, ctx.step_name)
    return run_training_job(ctx, name, ctx.arguments, ctx.work, ctx.log_path)


def job_name(execution_id: str, step_name: str) -> str:
    """A job name like the ones Pipelines gives (at most 63 characters, letters digits dashes)."""
    return re.sub(r"[^A-Za-z0-9-]", "-", f"pipelines-{execution_id}-{step_name}")[:63]


def run_training_job(
    ctx: StepContext, name: str, arguments: dict[str, Any], work: Path, log_path: Path
) -> dict[str, Any]:
    """Run one training job in `work`, logged to `log_path`; return its DescribeTrainingJob.

    Raises:
        StepFailed: a missing channel or source dir, a script that fails, a job past its time.
    """
    started = datetime.now(UTC)
    decoded = {k: decode(v) for k, v in arguments.get("HyperParameters", {}).items()}
    program = decoded.get("sagemaker_program")
    submit = decoded.get("sagemaker_submit_directory")
    if not program or not submit:
        raise StepFailed(
            f"training job {name}: HyperParameters lack sagemaker_program and "
            "sagemaker_submit_directory, so there is no script to run (script mode needs both)"
        )
    fs = ContainerFs(work, f"training job {name}", cwd="/opt/ml/code")
    code = fs.host("/opt/ml/code")
    _unpack(ctx, str(submit), code)
    script = code / str(program)
    if not script.is_file():
        raise StepFailed(
            f"training job {name}: sagemaker_program {program!r} is not in the source dir "
            f"{submit} (it holds: {', '.join(_members(code)) or 'nothing'})"
        )
    user = {k: v for k, v in sorted(decoded.items()) if not k.startswith("sagemaker_")}
    channels = _channels(ctx, name, arguments.get("InputDataConfig", []), fs)
    model_dir, output_dir = fs.host("/opt/ml/model"), fs.host("/opt/ml/output/data")
    model_dir.mkdir(parents=True, exist_ok=True)
    output_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        **{k: str(v) for k, v in arguments.get("Environment", {}).items()},
        **{f"SM_CHANNEL_{c.upper()}": fs.seen(path) for c, path in channels.items()},
        **{f"SM_HP_{k.upper()}": _arg(v) for k, v in user.items()},
        "SM_CHANNELS": json.dumps(sorted(channels)),
        "SM_HPS": json.dumps(user),
        "SM_MODEL_DIR": fs.seen("/opt/ml/model"),
        "SM_OUTPUT_DATA_DIR": fs.seen("/opt/ml/output/data"),
        "SM_OUTPUT_DIR": fs.seen("/opt/ml/output"),
        "SM_INPUT_DIR": fs.seen("/opt/ml/input"),
        "SM_MODULE_DIR": str(submit),
        "SM_USER_ENTRY_POINT": str(program),
        "SM_HOSTS": json.dumps([HOST]),
        "SM_CURRENT_HOST": HOST,
        "SM_NUM_GPUS": "0",
        "SM_NUM_CPUS": str(os.cpu_count() or 1),
        "SM_TRAINING_JOB_NAME": name,
        "PYTHONPATH": os.pathsep.join([fs.seen("/opt/ml/code"), os.environ.get("PYTHONPATH", "")]),
    }
    args = [a for k, v in user.items() for a in (f"--{k}", fs.seen(_arg(v)))]
    image = arguments.get("AlgorithmSpecification", {}).get("TrainingImage", "")
    argv = _program_argv(ctx.python_for(str(image)), fs.seen(f"/opt/ml/code/{program}"), args, env)
    offset = log_path.stat().st_size if log_path.exists() else 0
    limit = arguments.get("StoppingCondition", {}).get("MaxRuntimeInSeconds")
    exit_code = ctx.run_process(
        argv, env=env, cwd=code, timeout=limit, log_path=log_path, fs=fs, training=True
    )
    if exit_code != 0:
        raise process.job_failed(f"training job {name}", str(program), exit_code, log_path, offset)
    output_path = str(arguments["OutputDataConfig"]["S3OutputPath"]).rstrip("/")
    artifacts = f"{output_path}/{name}/output/model.tar.gz"
    pack_model_dir(model_dir, ctx.s3.path(artifacts))
    if any(output_dir.iterdir()):
        pack_model_dir(output_dir, ctx.s3.path(f"{output_path}/{name}/output/output.tar.gz"))
    metrics = final_metrics(
        arguments.get("AlgorithmSpecification", {}).get("MetricDefinitions", []),
        process.log_tail(log_path, offset, lines=1_000_000),
    )
    return {
        **arguments,
        "TrainingJobName": name,
        "TrainingJobArn": ctx.arn(f"training-job/{name.lower()}"),
        "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed",
        "ModelArtifacts": {"S3ModelArtifacts": artifacts},
        "FinalMetricDataList": metrics,
        "TrainingStartTime": started.isoformat(),
        "TrainingEndTime": datetime.now(UTC).isoformat(),
    }


def _program_argv(python: str, script: str, args: list[str], env: dict[str, str]) -> list[str]:
    """How the toolkit starts the entry point: a Python file with the job's Python; any other
    (the SDK's `_repack_script_launcher.sh`) with /bin/sh, the job's Python first on PATH so
    the `python` it calls is the job's."""
    if not sdk_conventions.is_shell_program(script):
        return [python, script, *args]
    env["PATH"] = os.pathsep.join([str(Path(python).parent), env.get("PATH", "")])
    return ["/bin/sh", script, *args]


def decode(value: Any) -> Any:
    """A hyperparameter as the toolkit reads it: JSON if it parses, else the plain string."""
    try:
        return json.loads(value) if isinstance(value, str) else value
    except json.JSONDecodeError:
        return value


def final_metrics(definitions: list[dict[str, Any]], lines: list[str]) -> list[dict[str, Any]]:
    """Each metric's last value in the log, as FinalMetricDataList lists them."""
    found = []
    stamp = datetime.now(UTC).isoformat()
    for definition in definitions:
        pattern = re.compile(str(definition["Regex"]))
        values = [m.group(1) for line in lines for m in pattern.finditer(line)]
        if values:
            found.append(
                {"MetricName": definition["Name"], "Value": float(values[-1]), "Timestamp": stamp}
            )
    return found


def _arg(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _unpack(ctx: StepContext, submit: str, code: Path) -> None:
    try:
        archive = ctx.s3.path(submit)
    except ValueError as exc:
        raise StepFailed(f"sagemaker_submit_directory {submit!r}: {exc}") from None
    if not archive.is_file():
        raise StepFailed(
            f"sagemaker_submit_directory {submit} is not in the local S3 ({archive}); "
            "the bundle's assets.json has no such asset"
        )
    code.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(code, filter="data")


def _members(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _channels(
    ctx: StepContext, name: str, channels: list[dict[str, Any]], fs: ContainerFs
) -> dict[str, str]:
    """Each channel's data given at /opt/ml/input/data/<channel>; their container paths."""
    local = {}
    for channel in channels:
        channel_name = str(channel["ChannelName"])
        uri = channel["DataSource"]["S3DataSource"]["S3Uri"]
        target = f"/opt/ml/input/data/{channel_name}"
        try:
            fs.stage(ctx.s3, str(uri), target)
        except (FileNotFoundError, ValueError) as exc:
            raise StepFailed(f"training job {name}, channel {channel_name!r}: {exc}") from None
        local[channel_name] = target
    return local

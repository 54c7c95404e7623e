"""Transform steps: a batch transform job with the model's own inference handler.

The model named by ModelName (recorded by its Model step) is unpacked from its ModelDataUrl and
served in a job process (`python -m engine.batch`, see there for the SageMaker rules it follows)
with the model's and the job's Environment. Every object under TransformInput's S3 prefix gives
`<S3OutputPath>/<its path under the prefix>.out`; outputs are uploaded only when the whole job
succeeded, so a failed job leaves nothing half-written.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from engine.batch import FAILURE_FILE, Spec, check_path
from engine.container_fs import ContainerFs
from engine.executors.base import StepContext, StepFailed
from engine.executors.model import job_name, model_record_path
from engine.s3 import S3
from engine.serving import protocol_of, unpack_model
from kernel.errors import ProblemError
from kernel.frameworks import Protocol

REPO = Path(__file__).resolve().parents[2]
CHOICES = {
    "SplitType": ("None", "Line"),
    "BatchStrategy": ("MultiRecord", "SingleRecord"),
    "AssembleWith": ("None", "Line"),
    "JoinSource": ("None", "Input"),
}


def _choice(ctx: StepContext, key: str, value: Any, default: str) -> str:
    value = default if value is None else value
    if value not in CHOICES[key]:
        raise StepFailed.because(
            f"step {ctx.step_name}",
            f"{key} = {value!r}",
            f"the local engine runs {key} {' or '.join(CHOICES[key])}",
            f"set {key} to one of them (or leave it out: {default})",
        )
    return str(value)


def input_objects(s3: S3, prefix_uri: str) -> list[tuple[Path, str]]:
    """(local file, name) of each object whose key starts with the prefix (S3Prefix).

    The name is the key after the prefix's last "/", as the `.out` object is named.
    """
    bucket, _, key_prefix = prefix_uri.removeprefix("s3://").partition("/")
    folder = key_prefix.rpartition("/")[0]
    bucket_dir = s3.path(f"s3://{bucket}/x").parent
    base = bucket_dir / folder
    found = []
    for path in sorted(base.rglob("*")) if base.is_dir() else []:
        key = path.relative_to(bucket_dir).as_posix()
        if path.is_file() and key.startswith(key_prefix):
            found.append((path, key[len(folder) + 1 if folder else 0 :]))
    return found


def build_spec(ctx: StepContext, model_dir: Path, protocol: Protocol, outputs: Path) -> Spec:
    """The job's settings, checked; with the input files it will read."""
    arguments = ctx.arguments
    source = arguments["TransformInput"]["DataSource"]["S3DataSource"]
    if source.get("S3DataType", "S3Prefix") != "S3Prefix":
        raise StepFailed.because(
            f"step {ctx.step_name}",
            f"S3DataType {source.get('S3DataType')!r}",
            "the local engine reads S3Prefix data sources only",
            "use S3DataType S3Prefix",
        )
    compression = arguments["TransformInput"].get("CompressionType", "None")
    if compression != "None":
        raise StepFailed.because(
            f"step {ctx.step_name}",
            f"CompressionType {compression!r}",
            "the local engine reads uncompressed input only",
            "leave it out",
        )
    files = input_objects(ctx.s3, source["S3Uri"])
    if not files:
        raise StepFailed.because(
            f"step {ctx.step_name}",
            f"ClientError: no objects at {source['S3Uri']}",
            "a transform job needs input data under TransformInput's S3Uri",
            "check the step that writes it (and the S3Uri's Get/Join)",
        )
    processing = arguments.get("DataProcessing") or {}
    filters = {}
    for key in ("InputFilter", "OutputFilter"):
        filters[key] = processing.get(key, "$")
        try:
            check_path(filters[key])
        except ValueError as error:
            raise StepFailed(f"step {ctx.step_name}: DataProcessing.{key}: {error}") from None
    output = arguments["TransformOutput"]
    return Spec(
        model_dir=str(model_dir),
        protocol=protocol,
        files=[(str(path), str(outputs / f"{name}.out"), name) for path, name in files],
        content_type=arguments["TransformInput"].get("ContentType") or "application/json",
        accept=output.get("Accept") or "application/json",
        split_type=_choice(ctx, "SplitType", arguments["TransformInput"].get("SplitType"), "None"),
        batch_strategy=_choice(ctx, "BatchStrategy", arguments.get("BatchStrategy"), "MultiRecord"),
        max_payload_mb=int(arguments.get("MaxPayloadInMB") or 6),
        assemble_with=_choice(ctx, "AssembleWith", output.get("AssembleWith"), "None"),
        input_filter=filters["InputFilter"],
        join_source=_choice(ctx, "JoinSource", processing.get("JoinSource"), "None"),
        output_filter=filters["OutputFilter"],
    )


def read_model(ctx: StepContext) -> dict[str, Any]:
    name = ctx.arguments.get("ModelName")
    path = model_record_path(ctx.root, str(name))
    if not path.is_file():
        raise StepFailed.because(
            f"step {ctx.step_name}",
            f"ValidationException: Could not find model {name!r}",
            "no Model step of a local run created it",
            "take ModelName from the Model step ({'Get': 'Steps.<model step>.ModelName'})",
        )
    record: dict[str, Any] = json.loads(path.read_text())
    return record


def run(ctx: StepContext) -> dict[str, Any]:
    container = read_model(ctx)["PrimaryContainer"]
    try:
        protocol = protocol_of(container)
        model_dir = unpack_model(ctx.s3.path(container["ModelDataUrl"]), ctx.work / "model")
    except ProblemError as problem:
        raise StepFailed(f"step {ctx.step_name}: {problem}") from problem
    outputs = ctx.work / "output"
    spec = build_spec(ctx, model_dir, protocol, outputs)
    spec_path = ctx.work / "transform.json"
    spec_path.write_text(json.dumps(asdict(spec), indent=2))
    env = {
        **os.environ,
        **container.get("Environment", {}),
        **(ctx.arguments.get("Environment") or {}),
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        ),
    }
    name = job_name(ctx)
    ctx.log(f"transform job {name}: {len(spec.files)} input file(s) with {container['Image']}")
    fs = ContainerFs(ctx.work, f"transform job {name}")
    fs.bind(model_dir, "/opt/ml/model")  # where the serving container has it
    code = ctx.run_process(
        [sys.executable, "-m", "engine.batch", str(spec_path)], env=env, cwd=ctx.work, fs=fs
    )
    if code != 0:
        failure = ctx.work / FAILURE_FILE
        reason = failure.read_text() if failure.is_file() else f"the job exited with status {code}"
        raise StepFailed(
            f"step {ctx.step_name}: transform job {name} failed: {reason}\n  log: {ctx.log_path}"
        )
    output_path = ctx.arguments["TransformOutput"]["S3OutputPath"].rstrip("/")
    for _, target, relative in spec.files:
        ctx.s3.upload(Path(target), f"{output_path}/{relative}.out")
    return {
        "TransformJobName": name,
        "TransformJobStatus": "Completed",
        "ModelName": ctx.arguments.get("ModelName"),
        "TransformInput": ctx.arguments["TransformInput"],
        "TransformOutput": {**ctx.arguments["TransformOutput"], "S3OutputPath": output_path},
        "TransformResources": ctx.arguments.get("TransformResources", {}),
    }

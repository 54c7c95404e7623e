"""`python -m engine.schedule --root DIR run NAME`: run a recorded monitoring schedule's job now.

What a Model Monitor execution does with the schedule's job definition (recorded by the local
SageMaker when the schedule handler created it), over everything the endpoint has captured:
1. the capture files under `<DestinationS3Uri>/<endpoint>/AllTraffic/` are read; each captured
   request goes through the definition's record preprocessor (`preprocess_handler(...)`) when it
   names one, with the definition's Environment set;
2. model quality: each capture is joined on its inference id with the ground truth under the
   GroundTruthS3Input (`eventMetadata.eventId` -> `groundTruthData.data`); the record holds the
   captured answer (a JSON list's items under "0", "1", ...) and the truth under the
   environment's `ground_truth_attribute` (default `groundTruthData`); captures without truth
   are left out;
3. the QualityCheck analyzer (components/quality_check/scripts/analyzer.py) runs as a process
   with Model Monitor's settings (dataset_source, output_path, analysis_type, baseline_*...);
4. its statistics.json and constraint_violations.json are put at
   `<S3Output>/<endpoint>/<schedule>/yyyy/mm/dd/hh/` as Model Monitor lays reports out.

`--containers` (or `--containers-only REPO,...`) runs the jobs as `python -m engine run` does with
it: a builtin schedule's pipeline runs each job on its image's Python and library versions;
Model Monitor's own analyzer image is closed source, so its schedules keep the engine's Python.

Exit 0 when the job completed (with or without violations), 1 when the analyzer failed, 2 for
bad input (unknown schedule, nothing captured).

A builtin-backend schedule (an EventBridge Scheduler schedule with a pipeline target) instead
starts its monitoring pipeline on the engine, with the schedule's parameter values, as
EventBridge Scheduler would: exit 0 when the execution succeeded, 1 when it failed (a violation
fails it, naming the violated features or metrics).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine import pipelines
from engine.endpoint import VARIANT, read_record
from engine.environments import Interpreters, add_options, selected
from engine.executors.quality_check import entry_script
from engine.records import read_named
from engine.s3 import S3
from jobkit.capture import (
    CapturedData,
    CaptureError,
    answer_value,
    captured_records,
    load_preprocessor,
)
from kernel.errors import ProblemError

# TODO(lead): resolve from the bundle's assets once the analyzer is one (as QualityCheck does).
DEFAULT_ROOT = Path("build/engine")
TRUTH_KEY = "groundTruthData"


def read_jsonl(folder: Path) -> list[dict[str, Any]]:
    lines = [
        line for path in sorted(folder.rglob("*.jsonl")) for line in path.read_text().splitlines()
    ]
    return [json.loads(line) for line in lines if line.strip()]


def model_quality_records(
    events: list[dict[str, Any]], handler: Any, truth: dict[str, Any], key: str
) -> list[dict[str, Any]]:
    """Each captured answer (a JSON list's items under "0", "1", ...) with its truth under `key`;
    through the preprocessor when the schedule names one."""
    records: list[dict[str, Any]] = []
    for event in events:
        captured = CapturedData(event)
        if handler is not None:
            produced = handler(captured)
            batch = produced if isinstance(produced, list) else [produced]
        else:
            value = answer_value(captured.endpoint_output)
            batch = (
                [{str(i): item for i, item in enumerate(value)}]
                if isinstance(value, list)
                else [value]
            )
        label = truth[event["eventMetadata"]["inferenceId"]]
        records.extend({**record, key: label} for record in batch)
    return records


def job(schedule: dict[str, Any]) -> dict[str, Any]:
    """What the schedule's job definition (the handler's Create*JobDefinition request) sets."""
    definition, kind = schedule["JobDefinition"], schedule["MonitoringType"]
    app = definition[f"{kind}AppSpecification"]
    endpoint_input = definition[f"{kind}JobInput"]["EndpointInput"]
    baseline = definition[f"{kind}BaselineConfig"]
    outputs = definition[f"{kind}JobOutputConfig"]["MonitoringOutputs"]
    return {
        "environment": dict(app.get("Environment") or {}),
        "problem_type": app.get("ProblemType"),
        "record_preprocessor_uri": app.get("RecordPreprocessorSourceUri"),
        "endpoint_input": endpoint_input,
        "ground_truth_uri": definition[f"{kind}JobInput"]
        .get("GroundTruthS3Input", {})
        .get("S3Uri"),
        "baseline_constraints_uri": baseline["ConstraintsResource"]["S3Uri"],
        "baseline_statistics_uri": baseline.get("StatisticsResource", {}).get("S3Uri"),
        "output_uri": outputs[0]["S3Output"]["S3Uri"],
    }


def build_dataset(s3: S3, schedule: dict[str, Any], capture: Path) -> list[dict[str, Any]]:
    settings, kind = job(schedule), schedule["MonitoringType"]
    events = read_jsonl(capture)
    preprocessor = settings["record_preprocessor_uri"]
    handler = load_preprocessor(s3.path(preprocessor)) if preprocessor else None
    with job_environment(settings["environment"]):  # as Model Monitor runs the handler
        if kind == "DataQuality":
            where = [(f"{capture} event {i}", event) for i, event in enumerate(events, 1)]
            return [record for _, record in captured_records(where, handler)[0]]
        truth = {
            t["eventMetadata"]["eventId"]: t["groundTruthData"]["data"]
            for t in read_jsonl(s3.path(settings["ground_truth_uri"]))
        }
        events = [e for e in events if e.get("eventMetadata", {}).get("inferenceId") in truth]
        key = settings["environment"].get("ground_truth_attribute") or TRUTH_KEY
        return model_quality_records(events, handler, truth, key)


@contextlib.contextmanager
def job_environment(variables: dict[str, str]) -> Iterator[None]:
    """os.environ with `variables` set, as in the job's container; restored afterwards."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def analyzer_environment(
    s3: S3, schedule: dict[str, Any], dataset: Path, output: Path
) -> dict[str, str]:
    """Model Monitor's settings for the analyzer, over the job definition's environment."""
    settings = job(schedule)
    env = {
        **settings["environment"],
        "dataset_format": json.dumps({"json": {"lines": True}}),
        "dataset_source": str(dataset),
        "output_path": str(output),
        "baseline_constraints": str(s3.path(settings["baseline_constraints_uri"])),
        "publish_cloudwatch_metrics": "Disabled",
        "sagemaker_endpoint_name": schedule["EndpointName"],
        "sagemaker_monitoring_schedule_name": schedule["MonitoringScheduleName"],
    }
    if schedule["MonitoringType"] == "DataQuality":
        env["analysis_type"] = "DATA_QUALITY"
        env["baseline_statistics"] = str(s3.path(settings["baseline_statistics_uri"]))
        return env
    endpoint_input = settings["endpoint_input"]
    env["analysis_type"] = "MODEL_QUALITY"
    env["problem_type"] = settings["problem_type"]
    env["inference_attribute"] = endpoint_input["InferenceAttribute"]
    env["ground_truth_attribute"] = env.get("ground_truth_attribute") or TRUTH_KEY
    if endpoint_input.get("ProbabilityAttribute"):
        env["probability_attribute"] = endpoint_input["ProbabilityAttribute"]
    if endpoint_input.get("ProbabilityThresholdAttribute") is not None:
        env["probability_threshold_attribute"] = str(
            endpoint_input["ProbabilityThresholdAttribute"]
        )
    return env


def run_schedule(
    root: Path, name: str, analyzer: Path | None = None, containers: frozenset[str] = frozenset()
) -> int:
    """Run schedule `name`'s job; print its status and report location; the exit status.

    The job is the analyzer the bundle shipped (its asset in local S3), unless `analyzer` names
    another script. `containers`: the image repositories (or "all") whose jobs run on their
    image's stack (engine/environments.py).

    Raises:
        ProblemError: bad input (unknown schedule or repository, nothing captured...).
    """
    Interpreters(containers).prepare([])  # an unknown repository stops before anything runs
    schedule = read_named(
        root / "schedules",
        name,
        "schedule",
        "a local Schedule step recorded",
        "run the pipeline with monitoring and deployment enabled, or pass the right --root",
    )
    if "Target" in schedule:
        return run_pipeline_target(root, name, schedule, containers)
    s3 = S3(root / "s3")
    if analyzer is None:
        if not schedule.get("AnalyzerUri"):
            raise ProblemError(
                f"schedule {name!r} ({root / 'schedules' / (name + '.json')})",
                "records no analyzer",
                "the run that recorded it used a bundle without the quality-check-analyzer asset",
                "recompile the bundle and run the pipeline again",
            )
        analyzer = entry_script(s3.path(schedule["AnalyzerUri"]))
    endpoint = read_record(root, schedule["EndpointName"])
    destination = endpoint["DataCaptureConfig"]["DestinationS3Uri"].rstrip("/")
    capture = s3.path(f"{destination}/{schedule['EndpointName']}/{VARIANT}")
    if not capture.is_dir():
        raise ProblemError(
            f"schedule {name!r}",
            f"nothing captured at {destination}/{schedule['EndpointName']}/{VARIANT}/",
            "a monitoring job analyses the endpoint's data capture",
            "send requests to the endpoint first (python -m endpoint.traffic --endpoint-url ...)",
        )
    run_dir = root / "schedules" / name / datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    dataset, output = run_dir / "dataset" / "records.jsonl", run_dir / "output"
    dataset.parent.mkdir(parents=True)
    try:
        records = build_dataset(s3, schedule, capture)
    except CaptureError as error:
        raise ProblemError(error.where, error.what, error.why, error.fix) from None
    if not records:
        joined = " joined with ground truth" if schedule["MonitoringType"] == "ModelQuality" else ""
        raise ProblemError(
            f"schedule {name!r}",
            f"no records to analyse in the capture at {capture}{joined}",
            "the record preprocessor dropped every captured request, or (model quality) no "
            "captured inference id has ground truth",
            "check the preprocessor's features, and write ground truth for the captured ids "
            "(python -m endpoint.ground_truth --capture-uri ...)",
        )
    dataset.write_text("".join(json.dumps(record) + "\n" for record in records))
    env = {**os.environ, **analyzer_environment(s3, schedule, dataset, output)}
    with (run_dir / "log.txt").open("w") as log:
        code = subprocess.run(
            [sys.executable, str(analyzer)], env=env, stdout=log, stderr=subprocess.STDOUT
        ).returncode
    if code != 0:
        tail = (run_dir / "log.txt").read_text().strip().splitlines()[-8:]
        print(f"schedule {name}: Failed (analyzer exit {code})\n  " + "\n  ".join(tail))
        print(f"  log: {run_dir / 'log.txt'}")
        return 1
    hour = datetime.now(UTC).strftime("%Y/%m/%d/%H")
    report = f"{job(schedule)['output_uri'].rstrip('/')}/{schedule['EndpointName']}/{name}/{hour}"
    s3.upload(output, report)
    violations_file = output / "constraint_violations.json"
    violations = (
        json.loads(violations_file.read_text()).get("violations", [])
        if violations_file.is_file()
        else []
    )
    status = "CompletedWithViolations" if violations else "Completed"
    print(f"schedule {name}: {status} over {len(records)} records; report at {report}/")
    for violation in violations:
        print(
            f"  {violation.get('feature_name') or violation.get('metric_name')}: "
            f"{violation['constraint_check_type']}: {violation['description']}"
        )
    return 0


def run_pipeline_target(
    root: Path, name: str, schedule: dict[str, Any], containers: frozenset[str] = frozenset()
) -> int:
    """Start the schedule's target pipeline now; print how the execution ended."""
    from bundle.read import BundleError, read_bundle  # only builtin schedules run a pipeline
    from engine.run import EngineInputError, RunOptions, run_bundle

    target = schedule["Target"]
    folder = pipelines.find(root, target["Arn"])
    if folder is None:
        raise ProblemError(
            f"schedule {name!r}",
            f"its target pipeline {target['Arn']} is not published under {root / pipelines.FOLDER}",
            "running a bundle compiled with monitoring.backend=builtin publishes its monitoring "
            "pipelines there",
            "run that bundle again (python -m engine run BUNDLE), or pass the right --root",
        )
    values = target["SageMakerPipelineParameters"]["PipelineParameterList"]
    parameters = tuple(f"{p['Name']}={p['Value']}" for p in values)
    try:
        options = RunOptions(root=root, parameters=parameters, containers=containers)
        result = run_bundle(read_bundle(folder), options)
    except (BundleError, EngineInputError) as exc:
        print(
            f"error: schedule {name!r}: its published pipeline cannot run: {exc}", file=sys.stderr
        )
        return 2
    print(f"schedule {name}: {folder.name} execution {result.execution.id}: {result.status}")
    if result.failure:
        print(f"  {result.failure}")
    print(f"  execution: {result.execution.folder}")
    return 0 if result.status == "Succeeded" else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m engine.schedule", description="Run a recorded monitoring schedule now."
    )
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="the engine's root folder")
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("run", help="run the schedule's monitoring job now")
    command.add_argument("name")
    add_options(command)
    args = parser.parse_args(argv)
    try:
        return run_schedule(args.root, args.name, containers=selected(args.containers))
    except ProblemError as problem:
        print(problem.render(), file=sys.stderr)
        return problem.status


if __name__ == "__main__":
    sys.exit(main())

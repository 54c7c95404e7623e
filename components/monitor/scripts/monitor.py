"""The builtin monitoring job: one window of an endpoint's data capture against a baseline.

With `monitoring.backend: builtin` no SageMaker Model Monitor is involved: an EventBridge
Scheduler schedule starts a small monitoring pipeline whose one Processing step (scikit-learn
container, `python3 monitor.py`) runs this script. It reads the captured requests of the last
window, turns them into records as Model Monitor would (data quality: through the record
preprocessor; model quality: the captured answer joined with its ground truth), runs the
project's analyzer on them against the baseline, writes the report and `result.json`, and
optionally publishes the analyzer's metrics to CloudWatch.

Inputs (under `--base_dir`, default /opt/ml/processing; the local engine maps it to a folder):
- `input/capture/`: the endpoint's data capture as SageMaker writes it
  (`<endpoint>/AllTraffic/yyyy/mm/dd/hh/*.jsonl`); every `*.jsonl` below is read. A line is
  `{"captureData": {"endpointInput"|"endpointOutput": {observedContentType, mode, data,
  encoding}}, "eventMetadata": {eventId, inferenceId?, inferenceTime}, "eventVersion"}`.
- `input/ground_truth/` (model quality): `*.jsonl` lines as `endpoint.ground_truth` writes them,
  `{"eventMetadata": {"eventId": <the capture's inferenceId>}, "groundTruthData": {"data":
  <label>, "encoding": "CSV"|"JSON"|"BASE64"}}`; a capture without an inferenceId joins on its
  eventId.
- `input/baseline_constraints/`, `input/baseline_statistics/` (data quality only): one `.json`
  file each, the baseline's constraints.json / statistics.json.
- `input/analyzer/`: the project's analyzer, its entry script (analyzer.py) at the top and its
  modules beside it, run as a process.
- `input/record_preprocessor/` (data quality, optional): one `.py` file with Model Monitor's
  `preprocess_handler(inference_record[, logger])`, run in this process with this environment.
  Without the folder, a request's JSON records are taken as they are.

Environment:
- `MONITOR_KIND`: data_quality | model_quality.
- `MONITOR_WINDOW`: ISO 8601 duration of whole days and/or hours (PT1H, PT6H, P1D, P1DT12H);
  only captures whose eventMetadata.inferenceTime lies in [end - window, end] are read.
- `MONITOR_END_TIME` (optional): ISO 8601 time, UTC when it names no zone; default now.
- the record preprocessor's `MONITOR_NUMERIC_FEATURES`, `MONITOR_CATEGORICAL_FEATURES`,
  `MONITOR_PIXEL_FEATURES` (read by the preprocessor itself, not here).
- model quality: `problem_type` (BinaryClassification | MulticlassClassification |
  Regression), `inference_attribute` (a path in the captured answer, e.g. `0.label`),
  `probability_attribute`, `probability_threshold_attribute`, `positive_label` (handed to the
  analyzer as they are), `ground_truth_attribute` (the record key the label is put under;
  default `groundTruthData`).
- `publish_cloudwatch_metrics` (Enabled | Disabled, default Disabled), and with Enabled
  `sagemaker_endpoint_name` and `sagemaker_monitoring_schedule_name`, the metrics' Endpoint
  and MonitoringSchedule dimensions.

Outputs in `report/`: the analyzer's `statistics.json` and `constraint_violations.json`, and
`result.json` = {"violations": <int>, "violated": "<sorted feature or metric names, comma-
separated, '' if none>", "records": <records analysed>, "skipped": <captured requests in the
window that gave no record: dropped by the preprocessor or unreadable (data quality), without
ground truth or without a readable answer (model quality)>, "window_start": ..., "window_end":
...} (times as yyyy-mm-ddThh:mm:ssZ). The monitoring pipeline reads result.json as a property
file and fails when violations > 0, so this job exits 0 with or without violations.

Metrics: with publish_cloudwatch_metrics=Enabled the analyzer writes its metric records
(Model Monitor's container contract) and this job sends them with PutMetricData to
`aws/sagemaker/Endpoints/data-metrics` or `aws/sagemaker/Endpoints/model-metrics`, at most
1000 a call; non-finite values are left out (CloudWatch refuses them).

Exit status: 0 report written; 1 the analyzer or CloudWatch failed; 2 bad input (settings,
missing files, nothing in the window). Errors are one where/what/why/fix message on stderr.
Runs on Python 3.9+ with the standard library (boto3 only to publish metrics).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from components.monitor.scripts.isotime import UTC, parse_time, parse_window
from jobkit.capture import (
    ANSWER_SETTINGS,
    BadRecord,
    CapturedData,
    CaptureError,
    RecordReader,
    answer_value,
    ground_truth_labels,
    json_lines,
    load_preprocessor,
)

KINDS = {"data_quality": "DATA_QUALITY", "model_quality": "MODEL_QUALITY"}
PROBLEM_TYPES = ("BinaryClassification", "MulticlassClassification", "Regression")
NAMESPACES = {
    "data_quality": "aws/sagemaker/Endpoints/data-metrics",
    "model_quality": "aws/sagemaker/Endpoints/model-metrics",
}
TRUTH_KEY = "groundTruthData"
STAMP = "%Y-%m-%dT%H:%M:%SZ"
# Settings the analyzer reads from its environment; the job sets or passes on each one itself.
ANALYZER_SETTINGS = (
    "dataset_format",
    "dataset_source",
    "output_path",
    "analysis_type",
    *ANSWER_SETTINGS,
    "ground_truth_attribute",
    "ground_truth_source",
    "record_preprocessor_script",
    "baseline_statistics",
    "baseline_constraints",
    "publish_cloudwatch_metrics",
    "cloudwatch_metrics_directory",
    "sagemaker_endpoint_name",
    "sagemaker_monitoring_schedule_name",
    "end_time",
)
METRICS_PER_CALL = 1000  # PutMetricData's limit
BYTES_PER_CALL = 256_000  # of JSON: a quarter of the 1 MB request limit leaves room for encoding
LOG_TAIL = 12

Event = tuple[str, dict[str, Any]]  # (file:line, a capture line)


class JobError(Exception):
    """A problem the job reports as where/what/why/fix and exits with `status`."""

    def __init__(self, where: str, what: str, why: str, fix: str, status: int = 2) -> None:
        super().__init__(what)
        self.status = status
        self.text = f"{where}\n  {what}\n  why: {why}\n  fix: {fix}"

    def render(self) -> str:
        return "error: " + self.text


@dataclass(frozen=True)
class Settings:
    kind: str  # data_quality | model_quality
    start: datetime
    end: datetime
    publish: bool
    truth_key: str
    environment: dict[str, str]  # the job's own, as given


# --------------------------------------------------------------------------- settings


def _setting(name: str, value: str | None, why: str, fix: str) -> str:
    shown = "missing" if value is None else repr(value)
    return f"environment {name} = {shown}\n  why: {why}\n  fix: {fix}"


def read_settings(environ: dict[str, str], now: datetime) -> Settings:
    """The job's settings from its environment; every bad value is reported at once.

    Raises:
        JobError: one message naming each bad variable.
    """
    problems: list[str] = []
    kind = environ.get("MONITOR_KIND", "").strip()
    if kind not in KINDS:
        problems.append(
            _setting(
                "MONITOR_KIND",
                environ.get("MONITOR_KIND"),
                "the job checks data_quality (feature drift) or model_quality (against ground "
                "truth)",
                "set MONITOR_KIND to data_quality or model_quality",
            )
        )
    window = timedelta(hours=1)
    try:
        window = parse_window(environ.get("MONITOR_WINDOW", ""))
    except ValueError:
        problems.append(
            _setting(
                "MONITOR_WINDOW",
                environ.get("MONITOR_WINDOW"),
                "the window is an ISO 8601 duration of whole days and/or hours, above zero",
                "use e.g. PT1H, PT6H, P1D or P1DT12H",
            )
        )
    end = now
    if environ.get("MONITOR_END_TIME", "").strip():
        try:
            end = parse_time(environ["MONITOR_END_TIME"])
        except ValueError:
            problems.append(
                _setting(
                    "MONITOR_END_TIME",
                    environ["MONITOR_END_TIME"],
                    "not an ISO 8601 time",
                    "use e.g. 2026-12-01T13:00:00Z, or leave it unset for now",
                )
            )
    if kind == "model_quality":
        problem_type = environ.get("problem_type")
        if problem_type not in PROBLEM_TYPES:
            problems.append(
                _setting(
                    "problem_type",
                    problem_type,
                    "model quality needs the problem type, one of " + ", ".join(PROBLEM_TYPES),
                    "set problem_type, e.g. MulticlassClassification",
                )
            )
        if not environ.get("inference_attribute") and not environ.get("probability_attribute"):
            problems.append(
                _setting(
                    "inference_attribute",
                    None,
                    "model quality needs the path of the prediction in the captured answer",
                    "set inference_attribute, e.g. 0.label",
                )
            )
    switch = environ.get("publish_cloudwatch_metrics", "Disabled").strip() or "Disabled"
    if switch not in ("Enabled", "Disabled"):
        problems.append(
            _setting(
                "publish_cloudwatch_metrics",
                switch,
                "it is Enabled or Disabled",
                "set Enabled to publish the metrics to CloudWatch, else Disabled",
            )
        )
    elif switch == "Enabled":
        for name in ("sagemaker_endpoint_name", "sagemaker_monitoring_schedule_name"):
            if not environ.get(name, "").strip():
                problems.append(
                    _setting(
                        name,
                        None,
                        "published metrics carry the Endpoint and MonitoringSchedule dimensions",
                        f"set {name}, or publish_cloudwatch_metrics=Disabled",
                    )
                )
    if problems:
        raise JobError(
            "the monitoring job's environment",
            f"{len(problems)} bad setting{'s' if len(problems) > 1 else ''}:\n  "
            + "\n  ".join(p.replace("\n", "\n  ") for p in problems),
            "the monitoring pipeline's Processing step sets these variables",
            "correct them in the step's Environment (the compiled monitoring pipeline)",
        )
    return Settings(
        kind=kind,
        start=end - window,
        end=end,
        publish=switch == "Enabled",
        truth_key=environ.get("ground_truth_attribute", "").strip() or TRUTH_KEY,
        environment=dict(environ),
    )


# --------------------------------------------------------------------------- input files


def one_file(folder: Path, suffix: str, what: str, fix: str) -> Path:
    """The one `*<suffix>` file an S3 file input put in `folder`.

    Raises:
        JobError: none, or several.
    """
    files = sorted(folder.glob(f"*{suffix}")) if folder.is_dir() else []
    if len(files) == 1:
        return files[0]
    found = "no such file" if not files else "several: " + ", ".join(f.name for f in files)
    raise JobError(
        f"input folder {folder}",
        f"expected one {suffix} file, {what}; found {found}",
        "the monitoring job needs it to check the window",
        fix,
    )


def read_jsonl(folder: Path) -> Iterator[Event]:
    """Every line of every *.jsonl under `folder` (sorted), with its file:line, one at a time.

    Raises:
        JobError: a line that is not a JSON object.
    """
    for path in sorted(folder.rglob("*.jsonl")):
        try:
            for where, value in json_lines(path):
                if not isinstance(value, dict):
                    raise CaptureError(where, "", "", "")
                yield where, value
        except CaptureError as error:
            raise JobError(
                error.where,
                "not a JSON object",
                "data-capture and ground-truth files hold one JSON object a line",
                "remove or repair the line (a partly written file?)",
            ) from None


class Window:
    """The captured requests whose inferenceTime lies in [start, end], read one at a time; the
    counts are those of the last reading."""

    def __init__(self, folder: Path, settings: Settings) -> None:
        self.folder, self.settings = folder, settings
        self.read = self.undated = self.events = 0

    def __iter__(self) -> Iterator[Event]:
        self.read = self.undated = self.events = 0
        for where, event in read_jsonl(self.folder):
            self.read += 1
            metadata = event.get("eventMetadata")
            stamp = metadata.get("inferenceTime") if isinstance(metadata, dict) else None
            try:
                moment = parse_time(stamp) if isinstance(stamp, str) else None
            except ValueError:
                moment = None
            if moment is None:
                self.undated += 1
            elif self.settings.start <= moment <= self.settings.end:
                self.events += 1
                yield where, event

    def check(self) -> None:
        """After a reading: say what was left out.

        Raises:
            JobError: no capture file, or no captured request in the window.
        """
        if not self.events:
            settings = self.settings
            window = f"[{settings.start:{STAMP}}, {settings.end:{STAMP}}]"
            if self.read == 0:
                what = "no data-capture line (*.jsonl) there"
            else:
                what = f"none of the {self.read} captured requests has an inferenceTime in {window}"
                what += (
                    f" ({self.undated} without a readable inferenceTime)" if self.undated else ""
                )
            raise JobError(
                f"input folder {self.folder}",
                what,
                "the job analyses the endpoint's traffic of the last MONITOR_WINDOW",
                "send traffic to the endpoint with data capture on (python -m endpoint.traffic), "
                "or widen MONITOR_WINDOW / set MONITOR_END_TIME",
            )
        if self.undated:
            print(
                f"monitor: left out {self.undated} captured requests without a readable "
                f"inferenceTime"
            )


# --------------------------------------------------------------------------- records


def _job_error(error: CaptureError) -> JobError:
    return JobError(error.where, error.what, error.why, error.fix)


def ground_truth(folder: Path) -> dict[str, Any]:
    """Labels by event id, from every *.jsonl under `folder`.

    Raises:
        JobError: no ground-truth line, or a line that is not a ground-truth record.
    """
    try:
        labels = ground_truth_labels(read_jsonl(folder))
    except CaptureError as error:
        raise _job_error(error) from None
    if not labels:
        raise JobError(
            f"input folder {folder}",
            "no ground-truth line (*.jsonl) there",
            "model quality compares the captured predictions with their ground truth",
            "write ground truth for the captured inference ids (python -m endpoint.ground_truth)",
        )
    return labels


def model_quality_records(
    events: Iterable[Event], labels: dict[str, Any], truth_key: str
) -> Iterator[dict[str, Any] | None]:
    """Each captured answer ({"0": item, ...} for a list) with its label under `truth_key`, one
    at a time; None for an answer without a label, or unreadable (skipped)."""
    for _, event in events:
        record = CapturedData(event)
        metadata = record.event_metadata
        label = labels.get(metadata.inference_id or metadata.event_id or "")
        try:
            body = answer_value(record.endpoint_output) if label is not None else None
        except BadRecord:
            body = None
        if isinstance(body, list):  # as Model Monitor flattens an array: "0.label", ...
            body = {str(i): value for i, value in enumerate(body)}
        yield {**body, truth_key: label} if isinstance(body, dict) else None


def data_quality_records(
    events: Iterable[Event], reader: RecordReader
) -> Iterator[dict[str, Any] | None]:
    """The records of each captured request, one request at a time; None for a request that
    gives none (skipped).

    Raises:
        JobError: the preprocessor raised, or returned something that is not records.
    """
    for where, event in events:
        try:
            batch = reader.records(where, event)
        except CaptureError as error:
            raise _job_error(error) from None
        if not batch:
            yield None
        yield from batch


def write_records(path: Path, records: Iterable[dict[str, Any] | None]) -> tuple[int, int]:
    """The records as JSON lines, written as they come; (records written, requests skipped)."""
    written = skipped = 0
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            if record is None:
                skipped += 1
            else:
                handle.write(json.dumps(record) + "\n")
                written += 1
    return written, skipped


# --------------------------------------------------------------------------- analyzer


def analyzer_environment(
    settings: Settings,
    dataset: Path,
    output: Path,
    metrics: Path,
    constraints: Path,
    statistics: Path | None,
) -> dict[str, str]:
    """The job's environment less every analyzer setting, plus the ones this job decides."""
    own = settings.environment
    env = {name: value for name, value in own.items() if name not in ANALYZER_SETTINGS}
    env.update(
        {
            "dataset_format": json.dumps({"json": {"lines": True}}),
            "dataset_source": str(dataset),
            "output_path": str(output),
            "analysis_type": KINDS[settings.kind],
            "baseline_constraints": str(constraints),
            "publish_cloudwatch_metrics": "Enabled" if settings.publish else "Disabled",
            "cloudwatch_metrics_directory": str(metrics),
            "end_time": settings.end.strftime(STAMP),
        }
    )
    for name in ("sagemaker_endpoint_name", "sagemaker_monitoring_schedule_name"):
        if own.get(name):
            env[name] = own[name]
    if statistics is not None:
        env["baseline_statistics"] = str(statistics)
    if settings.kind == "model_quality":
        env.update({name: own[name] for name in ANSWER_SETTINGS if own.get(name)})
        env["ground_truth_attribute"] = settings.truth_key
    return env


def run_analyzer(analyzer: Path, env: dict[str, str], log: Path) -> None:
    """Run the analyzer as a process, its output in `log`.

    Raises:
        JobError: it exited non-zero (status 1), with the end of its log.
    """
    with log.open("w", encoding="utf-8") as handle:
        code = subprocess.run(
            [sys.executable, str(analyzer)], env=env, stdout=handle, stderr=subprocess.STDOUT
        ).returncode
    text = log.read_text(encoding="utf-8")
    print(text, end="")
    if code != 0:
        tail = "\n    ".join(text.strip().splitlines()[-LOG_TAIL:])
        raise JobError(
            str(analyzer),
            f"the analyzer exited {code}; the end of its log:\n    {tail}",
            "the analyzer computes the statistics and checks them against the baseline",
            "correct what its message names (often the baseline files or the job's attributes)",
            status=1,
        )


def violated(violations: list[dict[str, Any]]) -> str:
    names = {str(v.get("feature_name") or v.get("metric_name") or "") for v in violations}
    return ",".join(sorted(name for name in names if name))


# --------------------------------------------------------------------------- CloudWatch


def _client(name: str) -> Any:
    """The boto3 client for `name`; tests replace this function to inject a Stubber."""
    import boto3  # type: ignore[import-untyped]  # here: only publishing needs it

    return boto3.client(name)


def metric_data(path: Path) -> list[dict[str, Any]]:
    """The analyzer's metric records as PutMetricData data (times parsed, non-finite left out)."""
    data = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        datum = json.loads(line)
        numbers = [datum.get("Value"), *(datum.get("StatisticValues") or {}).values()]
        if not all(_finite(n) for n in numbers if n is not None):
            continue
        datum["Timestamp"] = parse_time(datum["Timestamp"])
        data.append(datum)
    return data


def _finite(number: Any) -> bool:
    return isinstance(number, (int, float)) and math.isfinite(number)


def batches(data: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Consecutive groups within PutMetricData's limits (count, and size with room to spare)."""
    groups: list[list[dict[str, Any]]] = []
    size = 0
    for datum in data:
        datum_size = len(json.dumps(datum, default=str))
        if not groups or len(groups[-1]) == METRICS_PER_CALL or size + datum_size > BYTES_PER_CALL:
            groups.append([])
            size = 0
        groups[-1].append(datum)
        size += datum_size
    return groups


def publish_metrics(data: list[dict[str, Any]], namespace: str) -> int:
    """PutMetricData for every datum; the number of calls.

    Raises:
        JobError: CloudWatch refused a call or could not be reached (status 1).
    """
    from botocore.exceptions import BotoCoreError, ClientError

    groups = batches(data)
    try:
        client = _client("cloudwatch")
        for group in groups:
            client.put_metric_data(Namespace=namespace, MetricData=group)
    except ClientError as error:
        info = error.response.get("Error", {})
        code = str(info.get("Code", "Unknown"))
        fix = (
            "allow cloudwatch:PutMetricData in the monitoring job's execution role"
            if "AccessDenied" in code
            else "re-run the monitoring pipeline; CloudWatch throttled the job"
            if "Throttl" in code
            else "correct what AWS's message names, or set publish_cloudwatch_metrics=Disabled"
        )
        raise JobError(
            f"CloudWatch PutMetricData (namespace {namespace})",
            f"{code}: {info.get('Message', error)}",
            "the report and result.json are written, but the metrics were not published",
            fix,
            status=1,
        ) from None
    except BotoCoreError as error:
        raise JobError(
            f"CloudWatch PutMetricData (namespace {namespace})",
            f"{type(error).__name__}: {error}",
            "boto3 could not reach CloudWatch or find credentials or a region",
            "run the job with a role and AWS_REGION set (SageMaker sets both), or "
            "publish_cloudwatch_metrics=Disabled",
            status=1,
        ) from None
    return len(groups)


# --------------------------------------------------------------------------- the job


def run(base: Path, environ: dict[str, str], now: datetime) -> dict[str, Any]:
    """The whole job; returns result.json's content.

    Raises:
        JobError: what went wrong, where, why and how to fix it.
    """
    settings = read_settings(environ, now)
    inputs = base / "input"
    data_quality = settings.kind == "data_quality"
    baseline_fix = "give the step the baseline of the latest approved model package"
    constraints = one_file(
        inputs / "baseline_constraints", ".json", "the baseline's constraints", baseline_fix
    )
    statistics = (
        one_file(inputs / "baseline_statistics", ".json", "the baseline's statistics", baseline_fix)
        if data_quality
        else None
    )
    analyzer = one_file(
        inputs / "analyzer", ".py", "the analyzer", "give the step the quality-check analyzer"
    )
    handler = None
    if data_quality and (inputs / "record_preprocessor").exists():
        preprocessor = one_file(
            inputs / "record_preprocessor",
            ".py",
            "the record preprocessor",
            "give the step the record preprocessor, or no record_preprocessor input",
        )
        try:
            handler = load_preprocessor(preprocessor)
        except CaptureError as error:
            raise _job_error(error) from None
    window = Window(inputs / "capture", settings)
    records: Iterable[dict[str, Any] | None]
    if data_quality:
        records = data_quality_records(window, RecordReader(handler))
        why = "the record preprocessor (or the reading of the requests) dropped every one"
        fix = "check the job's MONITOR_* feature variables match the requests' features"
    else:
        labels = ground_truth(inputs / "ground_truth")
        records = model_quality_records(window, labels, settings.truth_key)
        why = "no captured inference id has ground truth (or a readable answer)"
        fix = (
            "write ground truth for the captured inference ids (python -m endpoint.ground_truth) "
            "and send requests with an InferenceId"
        )
    report = base / "report"
    with tempfile.TemporaryDirectory(prefix="monitor-") as work:
        dataset, output, metrics = Path(work, "records.jsonl"), Path(work, "out"), Path(work, "cw")
        count, skipped = write_records(dataset, records)
        window.check()
        if not count:
            raise JobError(
                f"input folder {inputs / 'capture'}",
                f"no record to analyse from the {window.events} captured requests in the window",
                why,
                fix,
            )
        env = analyzer_environment(settings, dataset, output, metrics, constraints, statistics)
        run_analyzer(analyzer, env, Path(work, "analyzer.log"))
        report.mkdir(parents=True, exist_ok=True)
        for name in ("statistics.json", "constraint_violations.json"):
            shutil.copyfile(output / name, report / name)
        violations = json.loads((output / "constraint_violations.json").read_text())["violations"]
        result = {
            "violations": len(violations),
            "violated": violated(violations),
            "records": count,
            "skipped": skipped,
            "window_start": settings.start.strftime(STAMP),
            "window_end": settings.end.strftime(STAMP),
        }
        (report / "result.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        calls = 0
        if settings.publish:
            data = metric_data(metrics / "cloudwatch_metrics.jsonl")
            calls = publish_metrics(data, NAMESPACES[settings.kind])
    print(
        f"monitor: {settings.kind} of {count} records ({skipped} skipped) in "
        f"[{result['window_start']}, {result['window_end']}]: {len(violations)} violations"
        + (f" ({result['violated']})" if violations else "")
        + (f"; metrics published in {calls} PutMetricData calls" if settings.publish else "")
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base_dir", default="/opt/ml/processing", help="the processing root")
    args, _ = parser.parse_known_args(argv)
    # The preprocessor's warnings go to the job's log (stdout); stderr holds only the error.
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(name)s: %(message)s")
    try:
        run(Path(args.base_dir), dict(os.environ), datetime.now(UTC))
    except JobError as error:
        print(error.render(), file=sys.stderr)
        return error.status
    return 0


if __name__ == "__main__":
    sys.exit(main())

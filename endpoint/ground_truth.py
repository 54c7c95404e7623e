"""`python -m endpoint.ground_truth`: ground-truth labels of captured inferences for Model Monitor.

Model-quality monitoring joins the endpoint's data capture with ground truth on the inference id.
This tool writes that ground truth, one record a line:

    {"eventMetadata": {"eventId": "<inference id>"}, "eventVersion": "0",
     "groundTruthData": {"data": "<label>", "encoding": "CSV"}}

to `<ground-truth-uri>/YYYY/MM/DD/HH/<file>.jsonl`, the hour partition Model Monitor reads. The ids
come from `endpoint.traffic --ids-out` (with their true class) and/or from data-capture files
(`eventMetadata.inferenceId`). An id without a known class gets a fake label: the captured
prediction with probability `--accuracy`, else another class, drawn from `--seed` and the id alone,
so the same inputs and seed give byte-identical files.

Exit 0 when a file was written; 1 when there was nothing to label or a file could not be read or
written; 2 for a bad config.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from endpoint.common import (
    Clock,
    EndpointError,
    Project,
    SystemClock,
    fraction,
    list_files,
    make_parser,
    positive_float,
    positive_int,
    read_jsonl,
    run_with_project,
    write_text,
)


@dataclass
class Event:
    """What is known about one inference: its true class and/or the label the endpoint gave."""

    inference_id: str
    truth: str | None = None
    prediction: str | None = None


@dataclass
class Tally:
    true_labels: int = 0
    fake_labels: int = 0
    failed: int = 0  # requests the ids file marks as not answered with 200 (never captured)
    without_id: int = 0  # capture records without an inference id
    unlabelled: int = 0  # neither a true class nor a prediction to fake one from
    truncated: str = ""


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("ground_truth", "Write Model Monitor ground truth for captured ids.")
    parser.add_argument("--ids", help="ids file written by endpoint.traffic (file or s3://)")
    parser.add_argument("--capture-uri", help="data-capture folder: s3://bucket/prefix (or a dir)")
    parser.add_argument(
        "--ground-truth-uri", required=True, help="s3://bucket/prefix (or a local folder)"
    )
    parser.add_argument("--hour", help="ISO time of the hour partition (default: this UTC hour)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fake labels")
    parser.add_argument(
        "--accuracy", type=fraction, default=0.9, help="chance a fake label matches the prediction"
    )
    parser.add_argument("--max-records", type=positive_int, default=100_000, help="write at most")
    parser.add_argument("--max-files", type=positive_int, default=1_000, help="capture files read")
    parser.add_argument(
        "--max-seconds", type=positive_float, default=300.0, help="stop reading capture after"
    )
    parser.add_argument("--file-name", help="default: groundtruth-<content hash>.jsonl")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    now: Callable[[], datetime] | None = None,
    clock: Clock | None = None,
) -> int:
    return run_with_project(
        build_parser,
        argv,
        lambda parser, args, project: _run(
            parser, args, project, now or (lambda: datetime.now(UTC)), clock or SystemClock()
        ),
    )


def _run(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    project: Project,
    now: Callable[[], datetime],
    clock: Clock,
) -> int:
    if not args.ids and not args.capture_uri:
        parser.error("give --ids, --capture-uri or both")
    try:
        hour = partition_hour(datetime.fromisoformat(args.hour) if args.hour else now())
    except ValueError:
        parser.error(f"--hour: {args.hour!r} is not an ISO time such as 2024-05-01T13:00:00Z")
    events: dict[str, Event] = {}
    tally = Tally()
    if args.ids:
        read_ids(args.ids, project, events, tally, args.max_records)
    if args.capture_uri:
        start = clock.now()
        files = list_files(args.capture_uri, ".jsonl", project.region, args.max_files)
        for path in files:
            if tally.truncated:
                break
            if clock.now() - start >= args.max_seconds:
                tally.truncated = f"stopped reading capture after {args.max_seconds:g} s"
                break
            read_capture(path, project, events, tally, args.max_records)
    lines = [label_line(e, project, args.seed, args.accuracy, tally) for e in events.values()]
    lines = [line for line in lines if line]
    text = "".join(lines)
    if not text:
        raise EndpointError(
            args.ids or args.capture_uri,
            "no ground truth to write",
            f"no inference id had a class or a prediction ({summary(tally)})",
            "send traffic with InferenceId (endpoint.traffic) and check data capture is on",
        )
    name = args.file_name or f"groundtruth-{hashlib.sha256(text.encode()).hexdigest()[:16]}.jsonl"
    target = f"{args.ground_truth_uri.rstrip('/')}/{hour:%Y/%m/%d/%H}/{name}"
    write_text(target, text, project.region)
    print(f"wrote {len(lines)} ground-truth records to {target}")
    print(summary(tally))
    return 0


def partition_hour(moment: datetime) -> datetime:
    """The UTC hour a time falls in (a time without a zone is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def event_for(
    inference_id: str, events: dict[str, Event], tally: Tally, limit: int
) -> Event | None:
    """The id's event, added when it is new; None once `limit` events are held (tallied)."""
    event = events.get(inference_id)
    if event is None:
        if len(events) >= limit:
            tally.truncated = f"stopped at --max-records {limit}"
            return None
        event = events[inference_id] = Event(inference_id)
    return event


def read_ids(
    location: str, project: Project, events: dict[str, Event], tally: Tally, limit: int
) -> None:
    """Add the ids of `endpoint.traffic --ids-out` that were answered, with their true class."""
    for number, row in read_jsonl(location, project.region):
        inference_id = row.get("inferenceId")
        if not isinstance(inference_id, str) or not inference_id:
            raise EndpointError(
                f"{location}:{number}",
                "no inferenceId",
                "each line needs one",
                "use traffic's file",
            )
        if str(row.get("status", "200")) != "200":
            tally.failed += 1
            continue
        truth = row.get("ground_truth")
        if truth is not None and truth not in project.classes:
            raise EndpointError(
                f"{location}:{number}",
                f"ground_truth = {truth!r}",
                f"the {project.name} project's classes are {', '.join(project.classes)}",
                "select the project the ids were sent for (project=...)",
            )
        prediction = row.get("prediction")
        event = event_for(inference_id, events, tally, limit)
        if event is None:
            return
        event.truth = event.truth or truth
        event.prediction = event.prediction or (
            prediction if prediction in project.classes else None
        )


def read_capture(
    location: str, project: Project, events: dict[str, Event], tally: Tally, limit: int
) -> None:
    """Add the inference ids of one data-capture file, with the label the endpoint answered."""
    for _, record in read_jsonl(location, project.region):
        metadata = record.get("eventMetadata") or {}
        inference_id = metadata.get("inferenceId") if isinstance(metadata, dict) else None
        if not isinstance(inference_id, str) or not inference_id:
            tally.without_id += 1
            continue
        event = event_for(inference_id, events, tally, limit)
        if event is None:
            return
        captured = record.get("captureData") or {}
        output = captured.get("endpointOutput") if isinstance(captured, dict) else None
        label = captured_label(output)
        if event.prediction is None and label in project.classes:
            event.prediction = label


def captured_label(output: Any) -> str | None:
    """The label of a captured one-record answer (JSON array or JSON lines; plain or base64)."""
    if not isinstance(output, dict) or not isinstance(output.get("data"), str):
        return None
    data: str = output["data"]
    if str(output.get("encoding", "")).upper() == "BASE64":
        try:
            data = base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
    items: list[Any] = []
    try:
        answer = json.loads(data)
        items = answer if isinstance(answer, list) else [answer]
    except ValueError:
        try:
            items = [json.loads(line) for line in data.splitlines() if line.strip()]
        except ValueError:
            return None
    if len(items) != 1 or not isinstance(items[0], dict):
        return None  # a batch under one id has no single label to stand for
    label = items[0].get("label")
    return str(label) if label is not None else None


def fake_label(event: Event, classes: Sequence[str], seed: int, accuracy: float) -> str:
    """The prediction with probability `accuracy`, else another class; drawn from seed and id."""
    assert event.prediction is not None
    rng = random.Random(f"{seed}:{event.inference_id}")
    if rng.random() < accuracy:
        return event.prediction
    others = [name for name in classes if name != event.prediction]
    return rng.choice(others) if others else event.prediction


def label_line(event: Event, project: Project, seed: int, accuracy: float, tally: Tally) -> str:
    """One ground-truth record, or '' when the event has neither a class nor a prediction."""
    if event.truth is not None:
        tally.true_labels += 1
        label = event.truth
    elif event.prediction is not None:
        tally.fake_labels += 1
        label = fake_label(event, project.classes, seed, accuracy)
    else:
        tally.unlabelled += 1
        return ""
    record = {
        "eventMetadata": {"eventId": event.inference_id},
        "eventVersion": "0",
        "groundTruthData": {"data": label, "encoding": "CSV"},
    }
    return json.dumps(record, sort_keys=True) + "\n"


def summary(tally: Tally) -> str:
    text = (
        f"true labels {tally.true_labels}, fake labels {tally.fake_labels}; skipped: "
        f"{tally.failed} failed requests, {tally.without_id} captures without an inference id, "
        f"{tally.unlabelled} ids without a class or prediction"
    )
    return text + (f"; {tally.truncated}" if tally.truncated else "")


if __name__ == "__main__":
    sys.exit(main())

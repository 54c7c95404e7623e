"""Data-capture datasets: captured requests as records, captured answers joined with ground truth.

The capture itself is read by the jobs' shared module (jobkit/capture.py): a captured request
that gives no record is skipped and counted, as in the monitoring job.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from components.quality_check.scripts.errors import InputError, Record
from components.quality_check.scripts.model_quality import attribute
from components.quality_check.scripts.reading import dataset_files, read_json_lines
from jobkit.capture import (
    CAPTURE_SHAPE,
    BadRecord,
    CapturedData,
    CaptureError,
    RecordReader,
    answer_value,
    load_preprocessor,
)
from jobkit.capture import ground_truth_labels as read_labels

_log = logging.getLogger("analyzer")


def _input_error(error: CaptureError) -> InputError:
    return InputError(f"{error.where}: {error.what}\n  why: {error.why}\n  fix: {error.fix}")


class CapturedRecords:
    """The feature records of data-capture events, through the preprocessor when one is given,
    read afresh on each iteration; requests that give none are skipped and counted (`skipped`,
    of `events`, for the last reading)."""

    def __init__(self, events: Iterable[Record], preprocessor: str | None) -> None:
        try:
            handler = load_preprocessor(Path(preprocessor)) if preprocessor else None
        except CaptureError as error:
            raise _input_error(error) from None
        self.source, self.reader = events, RecordReader(handler)
        self.events = self.skipped = 0

    def __iter__(self) -> Iterator[Record]:
        self.events = self.skipped = 0
        for where, event in self.source:
            try:
                batch = self.reader.records(where, event)
            except CaptureError as error:
                raise _input_error(error) from None
            self.events += 1
            self.skipped += not batch
            for record in batch:
                yield where, record

    def report(self) -> None:
        if self.skipped:
            print(
                f"analyzer: skipped {self.skipped} of {self.events} captured requests that gave "
                f"no record"
            )


def ground_truth_labels(source: Path) -> dict[str, Any]:
    """Ground truth by event id, from files of {"groundTruthData", "eventMetadata": {"eventId"}}."""
    files = dataset_files(source, "ground_truth_source")
    try:
        return read_labels(line for path in files for line in read_json_lines(path))
    except CaptureError as error:
        raise _input_error(error) from None


def merged_records(events: Iterable[Record], settings: dict[str, str | None]) -> Iterator[Record]:
    """Each captured answer joined with its ground truth on the inference id (else event id),
    as flat records {prediction, probability, ground_truth}, one at a time; events without one,
    or without a readable answer, are left out (and counted)."""
    if settings["ground_truth_source"] is None:
        raise InputError(
            "setting ground_truth_source is missing\n"
            "  why: model quality over data capture joins each captured answer with its ground "
            "truth\n  fix: set ground_truth_source to the ground-truth files (or their folder)"
        )
    labels = ground_truth_labels(Path(settings["ground_truth_source"]))
    return _joined(events, labels, settings)


def _joined(
    events: Iterable[Record], labels: dict[str, Any], settings: dict[str, str | None]
) -> Iterator[Record]:
    paths = {  # merged record key: the setting that locates it in the captured answer
        "prediction": "inference_attribute",
        "probability": "probability_attribute",
    }
    merged = skipped = 0
    for where, event in events:
        captured = CapturedData(event)
        metadata = captured.event_metadata
        truth = labels.get(metadata.inference_id or metadata.event_id or "")
        if truth is None:
            continue
        try:
            answer = answer_value(captured.endpoint_output)
        except BadRecord as error:
            _log.warning("%s: skipped a captured answer: %s", where, error)
            skipped += 1
            continue
        record = {
            name: attribute(where, answer, str(settings[setting]), setting)
            for name, setting in paths.items()
            if settings[setting]
        }
        truth_path = settings["ground_truth_attribute"]
        if isinstance(truth, (dict, list)) and truth_path:
            truth = attribute(where, truth, truth_path, "ground_truth_attribute")
        merged += 1
        yield where, {**record, "ground_truth": truth}
    if skipped:
        print(f"analyzer: skipped {skipped} captured answers that are not readable")
    if not merged:
        raise InputError(
            f"dataset {settings['dataset_source']}: no captured event has ground truth\n"
            f"  why: events join ground truth on eventMetadata.inferenceId (or eventId); "
            f"{CAPTURE_SHAPE}\n"
            f"  fix: write ground truth for the captured inference ids"
        )

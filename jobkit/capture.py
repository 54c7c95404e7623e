"""Data capture as Model Monitor reads it, and the record preprocessor that makes records of it.

One module for every job that reads an endpoint's data capture: the QualityCheck analyzer, the
builtin monitoring job, and Model Monitor's own container, which loads this file alone as the
schedules' `record_preprocessor_script` (so it imports nothing but the standard library, and
runs on Python 3.9).

A captured line is `{"captureData": {"endpointInput"|"endpointOutput": {observedContentType,
mode, data, encoding}}, "eventMetadata": {eventId, inferenceId?, inferenceTime},
"eventVersion"}`; `CapturedData` is that line as Model Monitor hands it to
`preprocess_handler(inference_record)`.

A bad record is skipped and counted, never fatal: a captured request whose body is not text,
not BASE64 text, not JSON (or CSV) or holds no JSON object gives no record; every job counts
such requests and says how many it skipped (the monitoring job's result.json `skipped`), as Model
Monitor skips what a preprocessor drops. A preprocessor that raises, or returns something other
than records, is a broken script and fails the job.

The record preprocessor keeps exactly the baseline's feature columns: numeric features as
floats, categorical ones as strings, null when missing; image requests' `pixels` become `p0`..
`pN`. The job's environment names them (`feature_environment` writes it at compile time and in
the schedule handler, `feature_columns` reads it): `MONITOR_NUMERIC_FEATURES` and
`MONITOR_CATEGORICAL_FEATURES` (comma-separated; a list too long for one value comes as `_0`,
`_1`, ... parts of at most 256 characters) and `MONITOR_PIXEL_FEATURES=true`.
"""

from __future__ import annotations

import base64
import binascii
import csv
import importlib.util
import inspect
import json
import logging
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple  # typing's: subscripted at run time on 3.8

NUMERIC_ENV = "MONITOR_NUMERIC_FEATURES"
CATEGORICAL_ENV = "MONITOR_CATEGORICAL_FEATURES"
PIXELS_ENV = "MONITOR_PIXEL_FEATURES"  # "true": image requests' pixels become p0..pN
ENV_VALUE_MAX = 256  # a Processing job's environment value; longer lists go in numbered parts
# The model-quality settings a monitoring job hands the analyzer as they are: what the problem
# is and where a captured answer holds the prediction (the analyzer's environment names).
ANSWER_SETTINGS = (
    "problem_type",
    "inference_attribute",
    "probability_attribute",
    "probability_threshold_attribute",
    "positive_label",
)
CAPTURE_SHAPE = (
    "data-capture lines hold captureData.endpointInput {observedContentType, encoding, data}, "
    "the requests as the endpoint received them"
)

_log = logging.getLogger("record_preprocessor")  # the logger a preprocessor is handed

Event = Tuple[str, Dict[str, Any]]  # (file:line, a capture line)
Handler = Callable[..., Any]


class BadRecord(ValueError):
    """A captured body that gives no record; the jobs skip it and count it."""


class CaptureError(Exception):
    """A problem with the capture or the preprocessor that fails the job: where/what/why/fix."""

    def __init__(self, where: str, what: str, why: str, fix: str) -> None:
        super().__init__(what)
        self.where, self.what, self.why, self.fix = where, what, why, fix


# --------------------------------------------------------------------------- features


def feature_environment(
    numeric: Iterable[str] = (), categorical: Iterable[str] = (), pixels: bool = False
) -> dict[str, str]:
    """The variables that name the baseline's features for the record preprocessor."""
    env = {
        **_feature_variable(NUMERIC_ENV, list(numeric)),
        **_feature_variable(CATEGORICAL_ENV, list(categorical)),
    }
    if pixels:
        env[PIXELS_ENV] = "true"
    return env


def _feature_variable(variable: str, names: list[str]) -> dict[str, str]:
    """`variable` = the comma-separated names, or `variable_0`, `_1`... parts of at most 256."""
    if not names:
        return {}
    parts, current = [], ""
    for name in names:
        joined = f"{current},{name}" if current else name
        if len(joined) > ENV_VALUE_MAX:
            parts.append(current)
            joined = name
        current = joined
    parts.append(current)
    if len(parts) == 1:
        return {variable: parts[0]}
    return {f"{variable}_{i}": part for i, part in enumerate(parts)}


def feature_columns(
    environ: Mapping[str, str] | None = None,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(numeric, categorical) feature names, from the environment (whole, or in parts).

    Raises:
        ValueError: the job names no features (and no pixels): nothing could be analysed.
    """
    env = os.environ if environ is None else environ

    def names(variable: str) -> tuple[str, ...]:
        value = env.get(variable)
        if value is None:
            parts, i = [], 0
            while f"{variable}_{i}" in env:
                parts.append(env[f"{variable}_{i}"])
                i += 1
            value = ",".join(parts)
        return tuple(n.strip() for n in value.split(",") if n.strip())

    numeric, categorical = names(NUMERIC_ENV), names(CATEGORICAL_ENV)
    if not numeric and not categorical and not pixel_features(env):
        raise ValueError(
            f"the monitoring job names no features: set {NUMERIC_ENV} / {CATEGORICAL_ENV} "
            f"(or {PIXELS_ENV}=true); the pipeline's schedule step sets them from the config"
        )
    return numeric, categorical


def pixel_features(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get(PIXELS_ENV, "").strip().lower() == "true"


# --------------------------------------------------------------------------- captured events


class EventData:
    """One captured payload, with the attributes Model Monitor's container gives a preprocessor."""

    def __init__(self, item: Mapping[str, Any]) -> None:
        self.encoding = item.get("encoding")
        self.data = item.get("data")
        self.observedContentType = item.get("observedContentType")
        self.observed_content_type = self.observedContentType  # the snake-case spelling too
        self.mode = item.get("mode")


class EventMetadata:
    def __init__(self, item: Mapping[str, Any]) -> None:
        self.event_id = item.get("eventId")
        self.inference_id = item.get("inferenceId")
        self.inference_time = item.get("inferenceTime")
        self.event_time = self.inference_time
        self.custom_attribute = item.get("customAttributes")


class CapturedData:
    """The `inference_record` handed to preprocess_handler ("Preprocessing and Postprocessing")."""

    def __init__(self, event: Mapping[str, Any]) -> None:
        captured = event.get("captureData") or {}
        self.event_dict = event
        self.event_metadata = EventMetadata(event.get("eventMetadata") or {})
        self.event_version = event.get("eventVersion")
        self.endpoint_input, self.endpoint_output, self.batch_transform_output = (
            EventData(captured[key]) if isinstance(captured.get(key), dict) else None
            for key in ("endpointInput", "endpointOutput", "batchTransformOutput")
        )
        ground_truth = event.get("groundTruthData")
        self.ground_truth = EventData(ground_truth) if isinstance(ground_truth, dict) else None


def payload_text(payload: EventData | None) -> str:
    """A captured body as text (BASE64 decoded).

    Raises:
        BadRecord: there is no body, or it is not (BASE64) UTF-8 text.
    """
    data = None if payload is None else payload.data
    if isinstance(data, (bytes, bytearray)):
        data = bytes(data).decode("utf-8-sig", errors="strict")
    if not isinstance(data, str):
        raise BadRecord(f"captured data is {type(data).__name__}, not text")
    if str(getattr(payload, "encoding", "") or "").upper() != "BASE64":
        return data
    try:
        return base64.b64decode(data, validate=True).decode("utf-8-sig")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise BadRecord(f"BASE64 data does not decode to UTF-8 text: {error}") from None


def parse_samples(payload: EventData | None) -> tuple[list[Any], bool]:
    """The request's samples (JSON values; CSV rows as {_c0, _c1, ...}) and whether it was a
    batch (a JSON list, JSON lines or several CSV rows).

    Raises:
        BadRecord: the body is not text, or not JSON (lines) or CSV.
    """
    data = None if payload is None else payload.data
    if isinstance(data, (dict, list)):  # some containers hand over parsed JSON
        document: Any = data
    else:
        text = payload_text(payload)
        kind = str(getattr(payload, "observed_content_type", "") or "").lower()
        kind = kind.split(";", 1)[0].strip()
        if "csv" in kind:
            rows = [row for row in csv.reader(text.splitlines()) if row]
            cells = [{f"_c{i}": (c if c.strip() else None) for i, c in enumerate(r)} for r in rows]
            return cells, len(cells) != 1
        try:
            if "jsonlines" in kind:
                return [json.loads(line) for line in text.splitlines() if line.strip()], True
            document = json.loads(text)
        except (ValueError, RecursionError) as error:
            raise BadRecord(f"not JSON: {error}") from None
    if isinstance(document, list):
        return document, True
    return [document], False


def answer_value(payload: EventData | None) -> Any:
    """A captured answer or ground truth: parsed JSON, else the text itself (CSV: one value).

    Raises:
        BadRecord: as payload_text.
    """
    text = payload_text(payload)
    try:
        return json.loads(text)
    except ValueError:
        return text.strip()


def ground_truth_label(where: str, line: Mapping[str, Any]) -> tuple[str, Any]:
    """(event id, label) of a ground-truth line as `endpoint.ground_truth` writes it: JSON
    parsed, CSV text as it is; an unreadable label is None.

    Raises:
        CaptureError: the line is not a ground-truth record.
    """
    metadata, truth = line.get("eventMetadata"), line.get("groundTruthData")
    event_id = metadata.get("eventId") if isinstance(metadata, dict) else None
    if not isinstance(event_id, str) or not isinstance(truth, dict):
        raise CaptureError(
            where,
            "not a ground-truth record",
            'each line is {"eventMetadata": {"eventId"}, "groundTruthData": {"data", "encoding"}}',
            "write ground truth as Model Monitor reads it (python -m endpoint.ground_truth)",
        )
    try:
        text = payload_text(EventData(truth))
        label = json.loads(text) if str(truth.get("encoding", "")).upper() == "JSON" else text
    except (BadRecord, ValueError):
        return event_id, None
    return event_id, (label.strip() or None) if isinstance(label, str) else label


def ground_truth_labels(lines: Iterable[Event]) -> dict[str, Any]:
    """Labels by event id, from ground-truth lines with their file:line.

    Raises:
        CaptureError: a line that is not a ground-truth record.
    """
    labels: dict[str, Any] = {}
    for where, line in lines:
        event_id, label = ground_truth_label(where, line)
        labels[event_id] = label
    return labels


def json_lines(path: Path) -> Iterator[Tuple[str, Any]]:
    """(file:line, value) of each non-blank line of a JSON-lines file, read one at a time.

    Raises:
        CaptureError: a line that is not JSON (a damaged or partly written file).
    """
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError as error:
                raise CaptureError(
                    f"{path}:{number}",
                    f"not JSON ({error})",
                    "data-capture, ground-truth and JSON-lines files hold one JSON value a line",
                    "remove or repair the line (a partly written file?)",
                ) from None
            yield f"{path}:{number}", value


# --------------------------------------------------------------------------- records


def load_preprocessor(path: Path) -> Handler:
    """The preprocess_handler of a record preprocessor file.

    Raises:
        CaptureError: the file does not load or defines no preprocess_handler.
    """
    spec = importlib.util.spec_from_file_location("record_preprocessor", path)
    try:
        if spec is None or spec.loader is None or not path.is_file():
            raise FileNotFoundError("no such Python file")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except Exception as error:
        raise CaptureError(
            str(path),
            f"the record preprocessor does not load: {type(error).__name__}: {error}",
            "the job imports it to turn captured requests into records",
            "fix the script (it must run on the container's Python alone)",
        ) from None
    handler = getattr(module, "preprocess_handler", None)
    if not callable(handler):
        raise CaptureError(
            str(path),
            "defines no preprocess_handler",
            "Model Monitor's contract is preprocess_handler(inference_record[, logger])",
            "define preprocess_handler(inference_record) in the record preprocessor",
        )
    return handler  # type: ignore[no-any-return]


def request_records(captured: CapturedData) -> list[dict[str, Any]]:
    """The records of one captured request as they are: its JSON objects (CSV rows).

    Raises:
        BadRecord: the request is unreadable or holds no JSON object.
    """
    samples, _ = parse_samples(captured.endpoint_input)
    records = [sample for sample in samples if isinstance(sample, dict)]
    if not records:
        raise BadRecord("the request holds no JSON object")
    return records


class RecordReader:
    """Captured requests into records: each through the preprocessor when there is one, else
    its JSON objects as they are; a request that gives none is skipped (an empty list)."""

    def __init__(self, handler: Handler | None) -> None:
        self.handler = handler
        self.wants_logger = handler is not None and len(inspect.signature(handler).parameters) > 1

    def records(self, where: str, event: Dict[str, Any]) -> List[Dict[str, Any]]:
        """The records of one captured event.

        Raises:
            CaptureError: the preprocessor raised, or returned something that is not records.
        """
        captured = CapturedData(event)
        if self.handler is None:
            try:
                return request_records(captured)
            except BadRecord as error:
                _log.warning("%s: skipped a captured request: %s", where, error)
                return []
        try:
            produced = self.handler(captured, _log) if self.wants_logger else self.handler(captured)
        except Exception as error:
            raise CaptureError(
                where,
                f"the record preprocessor raised {type(error).__name__}: {error}",
                "Model Monitor fails the job when preprocess_handler raises",
                "check the job's MONITOR_* feature variables and the preprocessor",
            ) from None
        batch = produced if isinstance(produced, list) else [produced]
        if not all(isinstance(item, dict) for item in batch):
            raise CaptureError(
                where,
                f"preprocess_handler returned {type(produced).__name__}, not records",
                "it returns a dict (one record), a list of dicts, or [] to skip",
                "fix the record preprocessor",
            )
        return batch


def captured_records(
    events: Iterable[Event], handler: Handler | None
) -> tuple[list[tuple[str, dict[str, Any]]], int]:
    """(records with their file:line, captured requests that gave none), as RecordReader.

    Raises:
        CaptureError: the preprocessor raised, or returned something that is not records.
    """
    reader = RecordReader(handler)
    records: list[tuple[str, dict[str, Any]]] = []
    skipped = 0
    for where, event in events:
        batch = reader.records(where, event)
        skipped += not batch
        records.extend((where, record) for record in batch)
    return records, skipped


# --------------------------------------------------------------------------- the preprocessor


def flat_pixels(sample: dict[str, Any]) -> dict[str, Any] | None:
    """An image request's pixels as p0..pN (0..255), the image data-quality baseline's columns."""
    pixels = sample.get("pixels")
    if isinstance(pixels, list) and pixels and all(isinstance(r, list) for r in pixels):
        pixels = [value for row in pixels for value in row]  # side x side -> flat
    if not isinstance(pixels, list) or not pixels:
        return None
    names = _pixel_names(len(pixels))
    if set(map(type, pixels)) == {int}:  # the usual request: whole pixels, read at C speed
        return dict(zip(names, pixels))  # noqa: B905 (Python 3.8: no strict=; equal lengths)
    return {name: _pixel(value) for name, value in zip(names, pixels)}  # noqa: B905


_PIXEL_NAMES: Dict[int, Tuple[str, ...]] = {}


def _pixel_names(count: int) -> Tuple[str, ...]:
    """p0..p<count-1>, made once per image size."""
    if count not in _PIXEL_NAMES:
        _PIXEL_NAMES[count] = tuple(f"p{i}" for i in range(count))
    return _PIXEL_NAMES[count]


def _pixel(value: Any) -> int | float | None:
    """A whole pixel value as an int: the baseline's pixels are JSON integers (Integral), and a
    float would fail every pixel's data-type check."""
    number = _number(value)
    return int(number) if number is not None and number.is_integer() else number


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str) and value.strip():
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _category(value: Any) -> str | None:
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # the inference handler compares categories as text, too
    return None


def to_record(
    sample: dict[str, Any], numeric: tuple[str, ...], categorical: tuple[str, ...]
) -> dict[str, Any]:
    """One baseline-shaped record: every feature key, typed like the baseline, nothing else."""
    record: dict[str, Any] = {name: _number(sample.get(name)) for name in numeric}
    record.update({name: _category(sample.get(name)) for name in categorical})
    return record


def preprocess_handler(inference_record: Any, logger: Any = None) -> Any:
    """Model Monitor's per-record hook: a dict for one sample, a list for a batch, [] to skip.

    Raises:
        ValueError: the job names no features (see feature_columns).
    """
    log = logger or _log
    numeric, categorical = feature_columns()
    try:
        samples, is_batch = parse_samples(getattr(inference_record, "endpoint_input", None))
    except BadRecord as error:
        log.warning("skipping a captured request that is not JSON feature records: %s", error)
        return []
    wanted = set(numeric) | set(categorical)
    if pixel_features():
        records = [r for s in samples if isinstance(s, dict) and (r := flat_pixels(s))]
    else:
        records = [
            to_record(sample, numeric, categorical)
            for sample in samples
            if isinstance(sample, dict) and wanted.intersection(sample)
        ]
    if len(records) < len(samples):
        log.warning(
            "skipped %d of %d captured samples that are not feature records",
            len(samples) - len(records),
            len(samples),
        )
    if not records:
        return []
    return records if is_batch else records[0]

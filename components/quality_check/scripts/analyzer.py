"""Data- and model-quality analysis in SageMaker Model Monitor's formats, without Model Monitor.

Does what the `sagemaker-model-monitor-analyzer` container does for a QualityCheck step or a
monitoring job: reads a dataset (JSON lines, JSON or CSV), writes `statistics.json` and
`constraints.json` (the suggested baseline) and, when a baseline is given, checks the dataset
against it and writes `constraint_violations.json`. It reads the container's environment
variables (`dataset_format`, `dataset_source`, `output_path`, `analysis_type`, ...); each can also
be given as the argument `--<name>`, which wins. See README.md beside this file.

Runs in the scikit-learn processing container (Python 3.9) and on the local engine, uploaded as
this one file: standard library and numpy only. Exit status: 0 when the files are written
(violations or not), 2 on bad input (one paragraph on stderr, nothing written).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import csv
import functools
import importlib.util
import inspect
import json
import logging
import math
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

DATA_QUALITY = "DATA_QUALITY"
MODEL_QUALITY = "MODEL_QUALITY"
PROBLEM_TYPES = ("BinaryClassification", "MulticlassClassification", "Regression")
METRICS_KEY = {
    "BinaryClassification": "binary_classification_metrics",
    "MulticlassClassification": "multiclass_classification_metrics",
    "Regression": "regression_metrics",
}
CONSTRAINTS_KEY = {
    "BinaryClassification": "binary_classification_constraints",
    "MulticlassClassification": "multiclass_classification_constraints",
    "Regression": "regression_constraints",
}
# Metrics that get a suggested constraint, and the direction that counts as worse.
CONSTRAINED_METRICS = {
    "BinaryClassification": {
        **dict.fromkeys(
            [
                "recall",
                "precision",
                "accuracy",
                "true_positive_rate",
                "true_negative_rate",
                "auc",
                "f0_5",
                "f1",
                "f2",
            ],
            "LessThanThreshold",
        ),
        "false_positive_rate": "GreaterThanThreshold",
        "false_negative_rate": "GreaterThanThreshold",
    },
    "MulticlassClassification": dict.fromkeys(
        [
            "accuracy",
            "weighted_recall",
            "weighted_precision",
            "weighted_f0_5",
            "weighted_f1",
            "weighted_f2",
        ],
        "LessThanThreshold",
    ),
    "Regression": {
        "mae": "GreaterThanThreshold",
        "mse": "GreaterThanThreshold",
        "rmse": "GreaterThanThreshold",
        "r2": "LessThanThreshold",
    },
}
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
}
# Model Monitor's defaults for suggested data-quality constraints.
MONITORING_CONFIG = {
    "evaluate_constraints": "Enabled",
    "emit_metrics": "Enabled",
    "datatype_check_threshold": 1.0,
    "domain_content_threshold": 1.0,
    "distribution_constraints": {
        "perform_comparison": "Enabled",
        "comparison_threshold": 0.1,
        "comparison_method": "Robust",
        "categorical_comparison_threshold": 0.1,
        "categorical_drift_method": "LInfinity",
    },
}
KLL_K = 2048  # items a KLL sketch keeps at its top level; below this the sketch is exact
KLL_C = 0.7  # capacity ratio between adjacent levels
BUCKETS = 10  # "By default, the distribution is materialized in 10 buckets."
MAX_DOMAIN = 20  # string features with at most this many distinct values get a domain
ROBUST_ALPHA = 0.001  # significance of the two-sample KS gate of comparison_method=Robust
STD_MIN_SAMPLES = 200  # Model Monitor gives metric standard deviations from 200 samples on
STD_ROUNDS, STD_FRACTION, STD_SEED = 5, 0.8, 0
DEFAULT_METRICS_DIR = "/opt/ml/output/metrics/cloudwatch"
INTEGRAL_RE = re.compile(r"^[+-]?\d+$")
FRACTIONAL_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
MISSING = "missing"
CAPTURE_FORMAT = "sagemakerCaptureJson"

Record = tuple[str, dict[str, Any]]  # (file:line, the record)
CAPTURE_FIX = (
    "  why: data-capture lines hold captureData.endpointInput {observedContentType, encoding, "
    "data}, the requests as the endpoint received them\n"
    "  fix: give the endpoint's data-capture files, or a record_preprocessor_script that reads them"
)


class InputError(Exception):
    """Bad input the user can fix: reported as one paragraph, exit 2, nothing written."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise InputError(f"bad argument: {message}\n  fix: see `analyzer.py --help`")


SETTINGS = {
    "dataset_format": 'how to read dataset_source: {"json": {"lines": true}} (default), '
    '{"json": {"lines": false}} or {"csv": {"header": true|false}}',
    "dataset_source": "the dataset: a file, or a folder read recursively (required)",
    "output_path": "folder the report files are written to (required)",
    "analysis_type": "DATA_QUALITY (default) or MODEL_QUALITY",
    "problem_type": "MODEL_QUALITY: BinaryClassification, MulticlassClassification or Regression",
    "inference_attribute": "MODEL_QUALITY: path of the prediction in a record, e.g. "
    "SageMakerOutput.label (a CSV column name)",
    "probability_attribute": "MODEL_QUALITY binary: path of the positive class's probability",
    "probability_threshold_attribute": "MODEL_QUALITY binary: probability at or above which a "
    "record is predicted positive when inference_attribute is not set (default 0.5)",
    "ground_truth_attribute": "MODEL_QUALITY: path of the true label in a record",
    "positive_label": "MODEL_QUALITY binary: the label that counts as positive (1); without it "
    "labels must be 0/1 or true/false (an extension: Model Monitor has no such setting)",
    "ground_truth_source": "MODEL_QUALITY over sagemakerCaptureJson: the ground-truth files (a "
    "file or folder) to join on the inference id (an extension; Model Monitor merges in a job "
    "of its own)",
    "record_preprocessor_script": "sagemakerCaptureJson: a Python file whose "
    "preprocess_handler(inference_record[, logger]) turns a captured event into a record (a "
    "dict), several (a list) or none ([])",
    "baseline_statistics": "check: the baseline's statistics.json (drift check)",
    "baseline_constraints": "check: the baseline's constraints.json; giving it asks for a check",
    "publish_cloudwatch_metrics": "Enabled or Disabled (default): write CloudWatch metric "
    "records to cloudwatch_metrics_directory",
    "cloudwatch_metrics_directory": f"where metric records go (default {DEFAULT_METRICS_DIR})",
    "sagemaker_endpoint_name": "dimension Endpoint of the metric records",
    "sagemaker_monitoring_schedule_name": "dimension MonitoringSchedule of the metric records",
    "end_time": "timestamp of the metric records (ISO 8601; default: now)",
}


def parse_settings(argv: Sequence[str] | None) -> dict[str, str | None]:
    """Arguments over environment variables of the same names."""
    parser = _Parser(description=__doc__.split("\n\n")[0])
    for name, help_text in SETTINGS.items():
        parser.add_argument(f"--{name}", default=os.environ.get(name), help=help_text)
    # Accepted and ignored: the local engine gives every processing script its root this way;
    # the analyzer's paths are dataset_source and output_path.
    parser.add_argument("--base_dir", help=argparse.SUPPRESS)
    settings: dict[str, str | None] = vars(parser.parse_args(argv))
    del settings["base_dir"]
    for name, value in settings.items():
        if value is not None and not value.strip():
            settings[name] = None
    for name in ("dataset_source", "output_path"):
        if settings[name] is None:
            raise InputError(
                f"setting {name} is missing\n  why: the analyzer needs {SETTINGS[name]}\n"
                f"  fix: set the environment variable {name} or pass --{name}"
            )
    return settings


# --- reading ----------------------------------------------------------------------------------


def parse_format(text: str | None) -> tuple[str, bool]:
    """('json', lines), ('csv', header) or ('capture', True) from dataset_format."""
    if text is None:
        return "json", True
    fix = (
        '  fix: use {"json": {"lines": true}}, {"csv": {"header": true}} or '
        '{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}'
    )
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"setting dataset_format={text!r} is not JSON ({exc})\n{fix}") from None
    kinds = ("json", "csv", CAPTURE_FORMAT)
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in kinds:
        raise InputError(
            f"setting dataset_format={text!r}: expected one key, json, csv or {CAPTURE_FORMAT}\n"
            f"  why: this analyzer reads JSON (lines), CSV and data-capture datasets\n{fix}"
        )
    kind, options = next(iter(spec.items()))
    if kind == CAPTURE_FORMAT:
        return "capture", True
    option = "lines" if kind == "json" else "header"
    value = (options or {}).get(option, True) if isinstance(options, dict) else None
    if isinstance(value, str) and value.lower() in ("true", "false"):
        value = value.lower() == "true"
    if not isinstance(value, bool):
        raise InputError(
            f"setting dataset_format={text!r}: {kind}.{option} must be true/false\n{fix}"
        )
    return kind, value


def dataset_files(source: Path, setting: str = "dataset_source") -> list[Path]:
    if source.is_file():
        return [source]
    files = (
        sorted(
            path
            for path in source.rglob("*")
            if path.is_file()
            and not any(part.startswith(".") for part in path.relative_to(source).parts)
        )
        if source.is_dir()
        else []
    )
    if not files:
        raise InputError(
            f"setting {setting}={source}: no file there\n"
            f"  why: the data are read from that file or the files under that folder\n"
            f"  fix: point {setting} at the data (the job's input LocalPath)"
        )
    return files


def read_records(files: list[Path], kind: str, option: bool) -> list[Record]:
    records: list[Record] = []
    for path in files:
        if kind == "csv":
            records.extend(read_csv(path, header=option))
        elif kind == "capture" or option:
            records.extend(read_json_lines(path))
        else:
            records.extend(read_json_document(path))
    if not records:
        raise InputError(
            f"dataset {', '.join(str(f) for f in files)}: no records\n"
            f"  why: statistics need at least one record\n"
            f"  fix: check the dataset and dataset_format"
        )
    return records


def _record(where: str, value: Any) -> Record:
    if not isinstance(value, dict):
        raise InputError(
            f"{where}: a record must be a JSON object, not {type(value).__name__}\n"
            f'  fix: write one object per record, e.g. {{"feature": 1.5}}'
        )
    return where, value


def read_json_lines(path: Path) -> Iterator[Record]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"{path}:{number}: not JSON ({exc})\n"
                    f"  why: dataset_format says JSON lines, one object per line\n"
                    f"  fix: fix the line, or set dataset_format to the data's real format"
                ) from None
            yield _record(f"{path}:{number}", value)


def read_json_document(path: Path) -> Iterator[Record]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: not a JSON document ({exc})\n"
            f'  fix: for one object per line set dataset_format to {{"json": {{"lines": true}}}}'
        ) from None
    for index, item in enumerate(value if isinstance(value, list) else [value]):
        yield _record(f"{path}[{index}]", item)


def read_csv(path: Path, header: bool) -> Iterator[Record]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = csv.reader(handle)
        names: list[str] | None = None
        for number, row in enumerate(rows, 1):
            if not row:
                continue
            if names is None:
                names = row if header else [f"_c{i}" for i in range(len(row))]
                if header:
                    continue
            if len(row) != len(names):
                raise InputError(
                    f"{path}:{number}: {len(row)} fields, the header has {len(names)}\n"
                    f"  fix: give every row one field per column (empty for missing)"
                )
            yield (
                f"{path}:{number}",
                {names[i]: (row[i] if row[i].strip() else None) for i in range(len(row))},
            )


# --- data capture -----------------------------------------------------------------------------


class EventData:
    """One captured payload, with the attributes Model Monitor's container gives a preprocessor."""

    def __init__(self, item: dict[str, Any]) -> None:
        self.encoding = item.get("encoding")
        self.data = item.get("data")
        self.observedContentType = item.get("observedContentType")
        self.observed_content_type = self.observedContentType  # the snake-case spelling too
        self.mode = item.get("mode")


class EventMetadata:
    def __init__(self, item: dict[str, Any]) -> None:
        self.event_id = item.get("eventId")
        self.event_time = item.get("inferenceTime")
        self.custom_attribute = item.get("customAttributes")
        self.inference_id = item.get("inferenceId")


class CapturedData:
    """The `inference_record` handed to preprocess_handler ("Preprocessing and Postprocessing")."""

    def __init__(self, event: dict[str, Any]) -> None:
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


def payload_text(where: str, payload: EventData) -> str:
    if not isinstance(payload.data, str):
        raise InputError(f"{where}: captureData.endpointInput has no data string\n{CAPTURE_FIX}")
    if str(payload.encoding or "").upper() != "BASE64":
        return payload.data
    try:
        return base64.b64decode(payload.data, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InputError(
            f"{where}: endpointInput data is not base64 text ({exc})\n{CAPTURE_FIX}"
        ) from None


def request_records(where: str, payload: EventData) -> list[dict[str, Any]]:
    """The records of one captured request: JSON object, list or lines; CSV rows as _c0, _c1..."""
    text = payload_text(where, payload)
    kind = str(payload.observedContentType or payload.encoding or "").lower()
    if "csv" in kind:
        rows = [row for row in csv.reader(text.splitlines()) if row]
        return [
            {f"_c{i}": (cell if cell.strip() else None) for i, cell in enumerate(row)}
            for row in rows
        ]
    try:
        items = (
            [json.loads(text)]
            if "jsonlines" not in kind
            else [json.loads(line) for line in text.splitlines() if line.strip()]
        )
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{where}: endpointInput data is not JSON ({exc})\n{CAPTURE_FIX}"
        ) from None
    flat = [item for value in items for item in (value if isinstance(value, list) else [value])]
    for item in flat:
        _record(where, item)
    return flat


def load_preprocessor(path: str) -> Callable[..., Any]:
    spec = importlib.util.spec_from_file_location("record_preprocessor", path)
    if spec is None or spec.loader is None or not Path(path).is_file():
        raise InputError(
            f"setting record_preprocessor_script={path}: no such Python file\n{CAPTURE_FIX}"
        )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler = getattr(module, "preprocess_handler", None)
    if not callable(handler):
        raise InputError(
            f"setting record_preprocessor_script={path}: defines no preprocess_handler\n"
            f"  fix: define preprocess_handler(inference_record) in it"
        )
    return handler  # type: ignore[no-any-return]


def captured_records(events: list[Record], preprocessor: str | None) -> list[Record]:
    """Feature records from data-capture events, through the preprocessor when one is given."""
    handler = load_preprocessor(preprocessor) if preprocessor else None
    wants_logger = handler is not None and len(inspect.signature(handler).parameters) > 1
    logger = logging.getLogger("record_preprocessor")
    records: list[Record] = []
    for where, event in events:
        captured = CapturedData(event)
        if handler is None:
            if captured.endpoint_input is None:
                raise InputError(f"{where}: no captureData.endpointInput\n{CAPTURE_FIX}")
            records.extend((where, r) for r in request_records(where, captured.endpoint_input))
            continue
        result = handler(captured, logger) if wants_logger else handler(captured)
        for item in result if isinstance(result, list) else [result]:
            records.append(_record(f"{where} (after preprocess_handler)", item))
    return records


def payload_value(where: str, payload: EventData) -> Any:
    """A captured answer or ground truth: parsed JSON, else the text itself (CSV: one value)."""
    text = payload_text(where, payload)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text.strip()


def ground_truth_labels(source: Path) -> dict[str, Any]:
    """Ground truth by event id, from files of {"groundTruthData", "eventMetadata": {"eventId"}}."""
    labels: dict[str, Any] = {}
    for path in dataset_files(source, "ground_truth_source"):
        for where, record in read_json_lines(path):
            event_id = (record.get("eventMetadata") or {}).get("eventId")
            truth = record.get("groundTruthData")
            if not isinstance(event_id, str) or not isinstance(truth, dict):
                raise InputError(
                    f"{where}: not a ground-truth record\n"
                    f'  why: each line needs {{"groundTruthData": {{"data", "encoding"}}, '
                    f'"eventMetadata": {{"eventId"}}}}\n'
                    f"  fix: write ground truth as Model Monitor reads it (endpoint.ground_truth)"
                )
            labels[event_id] = payload_value(where, EventData(truth))
    return labels


def merged_records(events: list[Record], settings: dict[str, str | None]) -> list[Record]:
    """Each captured answer joined with its ground truth on the inference id (else event id),
    as flat records {prediction, probability, ground_truth}; events without one are left out."""
    if settings["ground_truth_source"] is None:
        raise InputError(
            "setting ground_truth_source is missing\n"
            "  why: model quality over data capture joins each captured answer with its ground "
            "truth\n  fix: set ground_truth_source to the ground-truth files (or their folder)"
        )
    labels = ground_truth_labels(Path(settings["ground_truth_source"]))
    paths = {  # merged record key: the setting that locates it in the captured answer
        "prediction": "inference_attribute",
        "probability": "probability_attribute",
    }
    records: list[Record] = []
    for where, event in events:
        captured = CapturedData(event)
        metadata = captured.event_metadata
        truth = labels.get(metadata.inference_id or metadata.event_id or "")
        if truth is None:
            continue
        if captured.endpoint_output is None:
            raise InputError(f"{where}: no captureData.endpointOutput\n{CAPTURE_FIX}")
        answer = payload_value(where, captured.endpoint_output)
        record = {
            name: attribute(where, answer, str(settings[setting]), setting)
            for name, setting in paths.items()
            if settings[setting]
        }
        truth_path = settings["ground_truth_attribute"]
        if isinstance(truth, (dict, list)) and truth_path:
            truth = attribute(where, truth, truth_path, "ground_truth_attribute")
        records.append((where, {**record, "ground_truth": truth}))
    if not records:
        raise InputError(
            f"dataset {settings['dataset_source']}: no captured event has ground truth\n"
            f"  why: events join ground truth on eventMetadata.inferenceId (or eventId)\n"
            f"  fix: write ground truth for the captured inference ids"
        )
    return records


# --- data quality -----------------------------------------------------------------------------


def flatten(where: str, record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects become dotted names; lists are refused (Model Monitor takes flat data)."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(where, value, f"{name}."))
        elif isinstance(value, list):
            raise InputError(
                f"{where}: feature {name!r} holds a list of {len(value)} items\n"
                f"  why: data-quality analysis takes flat records (numbers, strings, null) or "
                f"nested objects, as Model Monitor does\n"
                f"  fix: write one feature per item (e.g. {name}_0, {name}_1, ...) first"
            )
        else:
            flat[name] = value
    return flat


def classify(value: Any) -> tuple[str, Any]:
    """(kind, value): kind is Integral, Fractional, String or missing, as Deequ infers types."""
    if value is None:
        return MISSING, None
    if isinstance(value, bool):
        return "String", "true" if value else "false"
    if isinstance(value, int):
        return "Integral", float(value)
    if isinstance(value, float):
        return ("Fractional", value) if math.isfinite(value) else (MISSING, None)
    text = str(value).strip()
    if not text:
        return MISSING, None
    if INTEGRAL_RE.match(text):
        return "Integral", float(text)
    if FRACTIONAL_RE.match(text):
        return "Fractional", float(text)
    return "String", text


def text_of(value: Any) -> str:
    """The string a value is counted as in string statistics."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


class Column:
    """What one feature holds across the dataset."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.kinds: dict[str, int] = {"Integral": 0, "Fractional": 0, "String": 0, MISSING: 0}
        self.numbers: list[float] = []
        self.values: list[Any] = []  # the present values as read

    def add(self, value: Any) -> None:
        if type(value) is float and math.isfinite(value):  # the common case, made cheap
            self.kinds["Fractional"] += 1
            self.numbers.append(value)
            self.values.append(value)
            return
        kind, parsed = classify(value)
        self.kinds[kind] += 1
        if kind != MISSING:
            self.values.append(value)
            if kind != "String":
                self.numbers.append(parsed)

    @functools.cached_property
    def texts(self) -> list[str]:
        """The present values as text (string statistics and domains); read after adding."""
        return [text_of(value) for value in self.values]

    @property
    def present(self) -> int:
        return len(self.values)

    @property
    def inferred_type(self) -> str:
        """String if any value is text, else Fractional if any has a fraction, else Integral.

        A feature with no value at all is reported as String (Model Monitor's statistics have no
        type for it).
        """
        if self.kinds["String"] or not self.present:
            return "String"
        return "Fractional" if self.kinds["Fractional"] else "Integral"


def profile(records: list[Record]) -> list[Column]:
    columns: dict[str, Column] = {}
    flats = [flatten(where, record) for where, record in records]
    for flat in flats:
        for name in flat:
            if name not in columns:
                columns[name] = Column(name)
    for flat in flats:
        for name, column in columns.items():
            column.add(flat.get(name))
    return list(columns.values())


def kll_sketch(values: np.ndarray, k: int = KLL_K, c: float = KLL_C) -> list[list[float]]:
    """A KLL quantile sketch: level h holds items of weight 2**h, each level sorted.

    Below k values nothing is compacted and level 0 is the sorted data. Compaction keeps every
    other item of a full level, alternating the offset, so the sketch is deterministic.
    """
    levels: list[list[float]] = [sorted(float(v) for v in values)]
    offset = 0
    while True:
        height = len(levels)
        full = next(
            (
                h
                for h, items in enumerate(levels)
                if len(items) > max(2, math.ceil(k * c ** (height - 1 - h)))
            ),
            None,
        )
        if full is None:
            return levels
        items = sorted(levels[full])
        keep = len(items) % 2  # an odd item stays where it is
        rest, promoted = items[:keep], items[keep + offset :: 2]
        offset ^= 1
        levels[full] = rest
        if full + 1 == len(levels):
            levels.append([])
        levels[full + 1] = sorted(levels[full + 1] + promoted)


def buckets(values: np.ndarray) -> list[dict[str, float]]:
    """10 equal-width buckets from min to max (one when all values are equal), exact counts."""
    low, high = float(values.min()), float(values.max())
    if low == high:
        return [{"lower_bound": low, "upper_bound": high, "count": float(len(values))}]
    edges = np.linspace(low, high, BUCKETS + 1)
    counts, _ = np.histogram(values, bins=edges)
    return [
        {
            "lower_bound": float(edges[i]),
            "upper_bound": float(edges[i + 1]),
            "count": float(counts[i]),
        }
        for i in range(BUCKETS)
    ]


def feature_statistics(column: Column, item_count: int) -> dict[str, Any]:
    common = {"num_present": column.present, "num_missing": item_count - column.present}
    kind = column.inferred_type
    if kind == "String":
        counts: dict[str, int] = {}
        for text in column.texts:
            counts[text] = counts.get(text, 0) + 1
        return {
            "name": column.name,
            "inferred_type": kind,
            "string_statistics": {
                "common": common,
                "distinct_count": float(len(counts)),
                "distribution": {
                    "categorical": {
                        "buckets": [
                            {"value": v, "count": float(n)} for v, n in sorted(counts.items())
                        ]
                    }
                },
            },
        }
    values = np.asarray(column.numbers, dtype=float)
    return {
        "name": column.name,
        "inferred_type": kind,
        "numerical_statistics": {
            "common": common,
            "mean": float(values.mean()),
            "sum": float(values.sum()),
            "std_dev": float(values.std()),
            "min": float(values.min()),
            "max": float(values.max()),
            "distribution": {
                "kll": {
                    "buckets": buckets(values),
                    "sketch": {
                        "parameters": {"c": KLL_C, "k": float(KLL_K)},
                        "data": kll_sketch(values),
                    },
                }
            },
        },
    }


def feature_constraints(column: Column, item_count: int) -> dict[str, Any]:
    kind = column.inferred_type
    feature: dict[str, Any] = {
        "name": column.name,
        "inferred_type": kind,
        "completeness": column.present / item_count,
    }
    if kind == "String":
        distinct = sorted(set(column.texts))
        if 0 < len(distinct) <= MAX_DOMAIN:
            feature["string_constraints"] = {"domains": distinct}
    else:
        feature["num_constraints"] = {"is_non_negative": min(column.numbers) >= 0}
    return feature


def weighted_items(statistics: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(sorted values, weights) of a numerical feature's KLL sketch, or of its buckets."""
    kll = statistics.get("distribution", {}).get("kll", {})
    data = kll.get("sketch", {}).get("data")
    if data:
        values = np.concatenate([np.asarray(level, dtype=float) for level in data])
        weights = np.concatenate([np.full(len(level), 2.0**h) for h, level in enumerate(data)])
    else:
        found = kll.get("buckets") or []
        values = np.asarray([b["upper_bound"] for b in found], dtype=float)
        weights = np.asarray([b["count"] for b in found], dtype=float)
    order = np.argsort(values, kind="stable")
    return values[order], weights[order]


def cdf_distance(baseline: dict[str, Any], current: dict[str, Any]) -> float:
    """Largest absolute difference between the two features' cumulative distributions."""
    base_values, base_weights = weighted_items(baseline)
    values, weights = weighted_items(current)
    if not base_weights.sum() or not weights.sum():
        return 0.0
    points = np.union1d(base_values, values)

    def cdf(items: np.ndarray, item_weights: np.ndarray) -> np.ndarray:
        cumulative = np.concatenate([[0.0], np.cumsum(item_weights)]) / item_weights.sum()
        return cumulative[np.searchsorted(items, points, side="right")]

    return float(np.max(np.abs(cdf(base_values, base_weights) - cdf(values, weights))))


def category_distance(baseline: dict[str, Any], current: dict[str, Any]) -> float:
    """L-infinity distance between the two features' category frequencies."""

    def frequencies(statistics: dict[str, Any]) -> dict[str, float]:
        found = statistics.get("distribution", {}).get("categorical", {}).get("buckets") or []
        total = sum(float(b["count"]) for b in found) or 1.0
        return {str(b["value"]): float(b["count"]) / total for b in found}

    base, now = frequencies(baseline), frequencies(current)
    return max((abs(base.get(v, 0.0) - now.get(v, 0.0)) for v in set(base) | set(now)), default=0.0)


def robust_floor(baseline_count: float, current_count: float) -> float:
    """Two-sample Kolmogorov-Smirnov critical distance at ROBUST_ALPHA for these sample sizes."""
    if baseline_count <= 0 or current_count <= 0:
        return math.inf
    coefficient = math.sqrt(-math.log(ROBUST_ALPHA / 2) / 2)
    return coefficient * math.sqrt(
        (baseline_count + current_count) / (baseline_count * current_count)
    )


def percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def _violation(feature: str, check: str, description: str) -> dict[str, str]:
    return {"feature_name": feature, "constraint_check_type": check, "description": description}


def check_feature(
    base: dict[str, Any],
    column: Column,
    current_stats: dict[str, Any],
    base_stats: dict[str, Any] | None,
    config: dict[str, Any],
    item_count: int,
) -> tuple[list[dict[str, str]], float | None]:
    """The violations of one baseline feature present in the data, and its drift distance."""
    name, expected = base["name"], base.get("inferred_type", "Unknown")
    found: list[dict[str, str]] = []
    if column.present and expected in ("Integral", "Fractional"):
        matching = column.kinds["Integral"] + (
            column.kinds["Fractional"] if expected == "Fractional" else 0
        )
        ratio, threshold = (
            matching / column.present,
            float(config.get("datatype_check_threshold", 1.0)),
        )
        if ratio < threshold:
            found.append(
                _violation(
                    name,
                    "data_type_check",
                    f"Data type match requirement is not met. Expected data type: {expected}, "
                    f"Expected match: {percent(threshold)}. "
                    f"Observed: Only {percent(ratio)} of data is {expected}.",
                )
            )
    completeness = column.present / item_count
    if "completeness" in base and completeness < float(base["completeness"]) - 1e-12:
        found.append(
            _violation(
                name,
                "completeness_check",
                f"Data completeness requirement is not met. Expected completeness: "
                f"{percent(float(base['completeness']))}. "
                f"Observed: Only {percent(completeness)} of data is present.",
            )
        )
    domains = base.get("string_constraints", {}).get("domains")
    if domains and column.present:
        allowed = {str(d) for d in domains}
        ratio = sum(text in allowed for text in column.texts) / column.present
        threshold = float(config.get("domain_content_threshold", 1.0))
        if ratio < threshold:
            unknown = sorted({t for t in column.texts if t not in allowed})
            found.append(
                _violation(
                    name,
                    "categorical_values_check",
                    f"Data content requirement is not met. Expected domain values match: "
                    f"{percent(threshold)}. Observed: Only {percent(ratio)} of data is in the "
                    f"domain (unknown values: {', '.join(unknown[:5])}"
                    f"{', ...' if len(unknown) > 5 else ''}).",
                )
            )
    distance = drift(base_stats, current_stats, config, found)
    return found, distance


def drift(
    base_stats: dict[str, Any] | None,
    current_stats: dict[str, Any],
    config: dict[str, Any],
    found: list[dict[str, str]],
) -> float | None:
    """baseline_drift_check of one feature: appends its violation, returns the distance."""
    options = {
        **MONITORING_CONFIG["distribution_constraints"],
        **config.get("distribution_constraints", {}),
    }
    if base_stats is None or options["perform_comparison"] != "Enabled":
        return None
    if "numerical_statistics" in base_stats and "numerical_statistics" in current_stats:
        base, now = base_stats["numerical_statistics"], current_stats["numerical_statistics"]
        distance, threshold = cdf_distance(base, now), float(options["comparison_threshold"])
    elif "string_statistics" in base_stats and "string_statistics" in current_stats:
        if options["categorical_drift_method"] != "LInfinity":
            raise InputError(
                f"baseline constraints: monitoring_config.distribution_constraints."
                f"categorical_drift_method={options['categorical_drift_method']!r}\n"
                f"  why: this analyzer implements LInfinity only\n  fix: set it to LInfinity"
            )
        base, now = base_stats["string_statistics"], current_stats["string_statistics"]
        distance = category_distance(base, now)
        threshold = float(
            options.get("categorical_comparison_threshold", options["comparison_threshold"])
        )
    else:
        return None  # the types differ: data_type_check reports it
    method = options["comparison_method"]
    if method not in ("Simple", "Robust"):
        raise InputError(
            f"baseline constraints: monitoring_config.distribution_constraints.comparison_method="
            f"{method!r}\n  fix: use Simple or Robust"
        )
    floor = (
        robust_floor(base["common"]["num_present"], now["common"]["num_present"])
        if method == "Robust"
        else 0.0
    )
    if distance > threshold and distance > floor:
        found.append(
            _violation(
                current_stats["name"],
                "baseline_drift_check",
                f"Baseline drift distance: {distance:.6g} exceeds threshold: {threshold:g}"
                + (
                    f" (and the {method} sample-size floor {floor:.6g})"
                    if method == "Robust"
                    else ""
                ),
            )
        )
    return distance


def check_data_quality(
    columns: list[Column],
    statistics: dict[str, Any],
    constraints: dict[str, Any],
    baseline_statistics: dict[str, Any] | None,
) -> tuple[list[dict[str, str]], dict[str, float]]:
    """constraint_violations of the dataset against a baseline, and each feature's drift."""
    config = {**MONITORING_CONFIG, **(constraints.get("monitoring_config") or {})}
    if config.get("evaluate_constraints", "Enabled") != "Enabled":
        return [], {}
    by_name = {c.name: c for c in columns}
    current_stats = {f["name"]: f for f in statistics["features"]}
    base_stats = {f["name"]: f for f in (baseline_statistics or {}).get("features", [])}
    item_count = statistics["dataset"]["item_count"]
    violations: list[dict[str, str]] = []
    distances: dict[str, float] = {}
    base_names = [f["name"] for f in constraints["features"]]
    for base in constraints["features"]:
        name = base["name"]
        if name not in by_name:
            violations.append(
                _violation(
                    name,
                    "missing_column_check",
                    f"There are missing columns in current dataset. "
                    f"Number of columns in current dataset: "
                    f"{len(columns)}, Number of columns in baseline constraints: {len(base_names)}",
                )
            )
            continue
        found, distance = check_feature(
            base, by_name[name], current_stats[name], base_stats.get(name), config, item_count
        )
        violations.extend(found)
        if distance is not None:
            distances[name] = distance
    for column in columns:
        if column.name not in base_names:
            violations.append(
                _violation(
                    column.name,
                    "extra_column_check",
                    f"There are extra columns in current dataset. "
                    f"Number of columns in current dataset: "
                    f"{len(columns)}, Number of columns in baseline constraints: {len(base_names)}",
                )
            )
    return violations, distances


def data_quality(records: list[Record]) -> tuple[list[Column], dict[str, Any], dict[str, Any]]:
    columns = profile(records)
    item_count = len(records)
    statistics = {
        "version": 0.0,
        "dataset": {"item_count": item_count},
        "features": [feature_statistics(c, item_count) for c in columns],
    }
    constraints = {
        "version": 0.0,
        "features": [feature_constraints(c, item_count) for c in columns],
        "monitoring_config": json.loads(json.dumps(MONITORING_CONFIG)),
    }
    return columns, statistics, constraints


# --- model quality ----------------------------------------------------------------------------


def attribute(where: str, record: Any, path: str, setting: str) -> Any:
    """The value at `path` (dots, list indexes, optional JSONPath `$.` prefix) in a record."""
    if isinstance(record, dict) and path in record:
        return record[path]
    node: Any = record
    steps = re.sub(r"\[(\d+)\]", r".\1", path[2:] if path.startswith("$.") else path).split(".")
    for step in steps:
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        else:
            raise InputError(
                f"{where}: {setting}={path!r} finds nothing (no {step!r} there)\n"
                f"  why: every record needs that attribute; this one is {describe(record)}\n"
                f"  fix: set {setting} to the path of the value, e.g. SageMakerOutput.label"
            )
    return node


def describe(record: Any) -> str:
    if isinstance(record, dict):
        return f"an object with keys {sorted(record)}"
    if isinstance(record, list):
        return f"a list of {len(record)}"
    return f"{type(record).__name__} {record!r}"[:80]


def label_text(value: Any) -> str:
    """A label compared as text; 1, 1.0 and "1" are the same label."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def binary_label(where: str, value: Any, positive: str | None, setting: str) -> int:
    text = label_text(value)
    if positive is not None:
        return int(text == positive)
    if text.lower() in ("1", "true"):
        return 1
    if text.lower() in ("0", "false"):
        return 0
    raise InputError(
        f"{where}: {setting} value {value!r} is not a binary label\n"
        f"  why: BinaryClassification takes labels 0/1 or true/false\n"
        f"  fix: set positive_label to the positive class's label (e.g. malignant)"
    )


def number(
    where: str, value: Any, setting: str, low: float = -math.inf, high: float = math.inf
) -> float:
    try:
        result = float(value)
    except (TypeError, ValueError):
        result = math.nan
    if isinstance(value, bool) or not low <= result <= high:
        raise InputError(
            f"{where}: {setting} value {value!r} is not a number in [{low:g}, {high:g}]\n"
            f"  fix: point {setting} at a numeric value of every record"
        )
    return result


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def fbeta(precision: float, recall: float, beta: float) -> float:
    return ratio((1 + beta**2) * precision * recall, beta**2 * precision + recall)


def multiclass_metrics(
    actual: np.ndarray, predicted: np.ndarray, labels: list[str]
) -> dict[str, float]:
    """Accuracy and support-weighted precision, recall and F-scores (scikit-learn's 'weighted')."""
    support = np.array([np.sum(actual == label) for label in labels], dtype=float)
    metrics = {"accuracy": float(np.mean(actual == predicted))}
    per_class = []
    for label in labels:
        hits = float(np.sum((actual == label) & (predicted == label)))
        per_class.append(
            (
                ratio(hits, float(np.sum(predicted == label))),
                ratio(hits, float(np.sum(actual == label))),
            )
        )
    weights = support / support.sum()
    precisions = np.array([p for p, _ in per_class])
    recalls = np.array([r for _, r in per_class])
    metrics["weighted_recall"] = float(np.sum(weights * recalls))
    metrics["weighted_precision"] = float(np.sum(weights * precisions))
    for suffix, beta in (("f0_5", 0.5), ("f1", 1.0), ("f2", 2.0)):
        scores = np.array([fbeta(p, r, beta) for p, r in per_class])
        metrics[f"weighted_{suffix}"] = float(np.sum(weights * scores))
    return metrics


def multiclass_all(
    actual: np.ndarray, predicted: np.ndarray, labels: list[str]
) -> dict[str, float]:
    metrics = multiclass_metrics(actual, predicted, labels)
    values, counts = np.unique(actual, return_counts=True)
    constant = np.full(len(actual), values[int(np.argmax(counts))], dtype=object)
    for name, value in multiclass_metrics(actual, constant, labels).items():
        metrics[f"{name}_best_constant_classifier"] = value
    return metrics


def binary_rates(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    tp = float(np.sum((actual == 1) & (predicted == 1)))
    fp = float(np.sum((actual == 0) & (predicted == 1)))
    tn = float(np.sum((actual == 0) & (predicted == 0)))
    fn = float(np.sum((actual == 1) & (predicted == 0)))
    precision, recall = ratio(tp, tp + fp), ratio(tp, tp + fn)
    return {
        "recall": recall,
        "precision": precision,
        "accuracy": ratio(tp + tn, len(actual)),
        "true_positive_rate": recall,
        "true_negative_rate": ratio(tn, tn + fp),
        "false_positive_rate": ratio(fp, fp + tn),
        "false_negative_rate": ratio(fn, fn + tp),
        "f0_5": fbeta(precision, recall, 0.5),
        "f1": fbeta(precision, recall, 1.0),
        "f2": fbeta(precision, recall, 2.0),
    }


def roc_auc(
    actual: np.ndarray, scores: np.ndarray
) -> tuple[float, list[float], list[float]] | None:
    """(area, false positive rates, true positive rates) over every distinct score threshold."""
    positives, negatives = float(np.sum(actual == 1)), float(np.sum(actual == 0))
    if not positives or not negatives:
        return None
    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], actual[order]
    last = np.r_[np.nonzero(np.diff(ranked))[0], len(ranked) - 1]  # last index of each threshold
    tpr = np.r_[0.0, np.cumsum(hits)[last] / positives]
    fpr = np.r_[0.0, np.cumsum(1 - hits)[last] / negatives]
    area = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    return area, fpr.tolist(), tpr.tolist()


def precision_recall_curve(
    actual: np.ndarray, scores: np.ndarray
) -> tuple[list[float], list[float]]:
    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], actual[order]
    last = np.r_[np.nonzero(np.diff(ranked))[0], len(ranked) - 1]
    tp = np.cumsum(hits)[last]
    predicted = last + 1.0
    positives = max(float(np.sum(actual == 1)), 1.0)
    return np.r_[1.0, tp / predicted].tolist(), np.r_[0.0, tp / positives].tolist()


def binary_all(
    actual: np.ndarray, predicted: np.ndarray, scores: np.ndarray | None
) -> dict[str, float]:
    metrics = binary_rates(actual, predicted)
    constant = binary_rates(actual, np.ones(len(actual), dtype=int))  # always the positive class
    for name in ("recall", "precision", "accuracy", "f0_5", "f1", "f2"):
        metrics[f"{name}_best_constant_classifier"] = constant[name]
    if scores is not None:
        curve = roc_auc(actual, scores)
        if curve is not None:
            metrics["auc"] = curve[0]
    return metrics


def regression_all(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    errors = predicted - actual
    mse = float(np.mean(errors**2))
    total = float(np.sum((actual - actual.mean()) ** 2))
    metrics = {"mae": float(np.mean(np.abs(errors))), "mse": mse, "rmse": math.sqrt(mse)}
    if total:
        metrics["r2"] = 1.0 - float(np.sum(errors**2)) / total
    return metrics


def with_deviation(
    compute: Callable[[np.ndarray], dict[str, float]], count: int
) -> dict[str, dict[str, Any]]:
    """Each metric as {value, standard_deviation}: the deviation over 5 random 80% samples
    (seeded), given from 200 records on as Model Monitor does, else "NaN"."""
    values = compute(np.arange(count))
    deviations: dict[str, Any] = dict.fromkeys(values, "NaN")
    if count >= STD_MIN_SAMPLES:
        rng = np.random.default_rng(STD_SEED)
        rounds = [
            compute(rng.choice(count, int(count * STD_FRACTION), replace=False))
            for _ in range(STD_ROUNDS)
        ]
        for name in values:
            samples = [r[name] for r in rounds if name in r]
            if len(samples) == STD_ROUNDS:
                deviations[name] = float(np.std(samples))
    return {
        name: {"value": value, "standard_deviation": deviations[name]}
        for name, value in values.items()
    }


def confusion(
    actual: np.ndarray, predicted: np.ndarray, labels: list[str]
) -> dict[str, dict[str, float]]:
    """confusion_matrix[actual][predicted] = count."""
    return {
        str(a): {str(p): float(np.sum((actual == a) & (predicted == p))) for p in labels}
        for a in labels
    }


def model_quality(
    records: list[Record], settings: dict[str, str | None]
) -> tuple[dict[str, Any], dict[str, Any]]:
    problem = settings["problem_type"]
    if problem not in PROBLEM_TYPES:
        raise InputError(
            f"setting problem_type={problem!r}\n"
            f"  why: MODEL_QUALITY needs one of {', '.join(PROBLEM_TYPES)}\n"
            f"  fix: set problem_type"
        )
    truth_path = settings["ground_truth_attribute"]
    inference_path = settings["inference_attribute"]
    probability_path = settings["probability_attribute"]
    if truth_path is None or (
        inference_path is None and (problem != "BinaryClassification" or probability_path is None)
    ):
        raise InputError(
            "settings ground_truth_attribute and inference_attribute are needed for MODEL_QUALITY\n"
            "  why: the metrics compare each record's prediction with its true label\n"
            "  fix: set both (BinaryClassification may give probability_attribute instead of "
            "inference_attribute)"
        )
    # (where, value) pairs, so a bad value is reported with its file and line
    truths = [(w, attribute(w, r, truth_path, "ground_truth_attribute")) for w, r in records]
    predictions = (
        [(w, attribute(w, r, inference_path, "inference_attribute")) for w, r in records]
        if inference_path
        else None
    )
    metrics: dict[str, Any]
    if problem == "MulticlassClassification":
        assert predictions is not None
        actual = np.array([label_text(v) for _, v in truths], dtype=object)
        predicted = np.array([label_text(v) for _, v in predictions], dtype=object)
        labels = sorted(set(actual) | set(predicted))
        metrics = {"confusion_matrix": confusion(actual, predicted, labels)}
        metrics.update(
            with_deviation(lambda i: multiclass_all(actual[i], predicted[i], labels), len(records))
        )
    elif problem == "BinaryClassification":
        positive = settings["positive_label"]
        actual = np.array(
            [binary_label(w, v, positive, "ground_truth_attribute") for w, v in truths]
        )
        scores = (
            np.array(
                [
                    number(
                        w,
                        attribute(w, r, probability_path, "probability_attribute"),
                        "probability_attribute",
                        0.0,
                        1.0,
                    )
                    for w, r in records
                ]
            )
            if probability_path
            else None
        )
        if predictions is not None:
            predicted = np.array(
                [binary_label(w, v, positive, "inference_attribute") for w, v in predictions]
            )
        else:
            assert scores is not None
            cut = number(
                "setting",
                settings["probability_threshold_attribute"] or 0.5,
                "probability_threshold_attribute",
                0.0,
                1.0,
            )
            predicted = (scores >= cut).astype(int)
        metrics = {"confusion_matrix": confusion(actual, predicted, [0, 1])}  # type: ignore[list-item]
        metrics.update(
            with_deviation(
                lambda i: binary_all(
                    actual[i], predicted[i], None if scores is None else scores[i]
                ),
                len(records),
            )
        )
        if scores is not None and roc_auc(actual, scores) is not None:
            _, fpr, tpr = roc_auc(actual, scores)  # type: ignore[misc]
            precisions, recalls = precision_recall_curve(actual, scores)
            metrics["receiver_operating_characteristic_curve"] = {
                "false_positive_rates": fpr,
                "true_positive_rates": tpr,
            }
            metrics["precision_recall_curve"] = {"precisions": precisions, "recalls": recalls}
    else:
        assert predictions is not None
        actual = np.array([number(w, v, "ground_truth_attribute") for w, v in truths])
        predicted = np.array([number(w, v, "inference_attribute") for w, v in predictions])
        metrics = with_deviation(lambda i: regression_all(actual[i], predicted[i]), len(records))
    statistics = {
        "version": 0.0,
        "dataset": {"item_count": len(records)},
        METRICS_KEY[problem]: metrics,
    }
    constraints = {
        "version": 0.0,
        CONSTRAINTS_KEY[problem]: {
            name: {"threshold": metrics[name]["value"], "comparison_operator": operator}
            for name, operator in CONSTRAINED_METRICS[problem].items()
            if name in metrics
        },
    }
    return statistics, constraints


def check_model_quality(
    statistics: dict[str, Any], constraints: dict[str, Any], source: str
) -> list[dict[str, str]]:
    """Each constrained metric compared with its threshold by its comparison_operator."""
    key = next((k for k in CONSTRAINTS_KEY.values() if k in constraints), None)
    metrics_key = next(k for k in METRICS_KEY.values() if k in statistics)
    if key is None or key.replace("_constraints", "_metrics") != metrics_key:
        raise InputError(
            f"setting baseline_constraints={source}: "
            f"has no {metrics_key.replace('_metrics', '_constraints')}\n"
            f"  why: the baseline was made for another problem type than this dataset's\n"
            f"  fix: give the constraints.json of a baseline with the same problem_type"
        )
    metrics = statistics[metrics_key]
    violations = []
    for name, constraint in constraints[key].items():
        operator, threshold = constraint.get("comparison_operator"), constraint.get("threshold")
        if operator not in COMPARISONS or not isinstance(threshold, (int, float)):
            raise InputError(
                f"setting baseline_constraints={source}: {key}.{name} = {constraint!r}\n"
                f"  why: a constraint needs a numeric threshold and a comparison_operator "
                f"({', '.join(COMPARISONS)})\n  fix: correct that entry"
            )
        if name not in metrics:
            continue
        value, deviation = metrics[name]["value"], metrics[name]["standard_deviation"]
        if COMPARISONS[operator](value, float(threshold)):
            spread = f" +/- {deviation:.4g}" if isinstance(deviation, float) else ""
            violations.append(
                {
                    "constraint_check_type": operator,
                    "description": (
                        f"Metric {name} with {value:.6g}{spread} was {operator} '{threshold}'"
                    ),
                    "metric_name": name,
                }
            )
    return violations


# --- output -----------------------------------------------------------------------------------


def read_baseline(path: str | None, setting: str) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(
            f"setting {setting}={path}: not a readable JSON file ({exc})\n"
            f"  fix: point {setting} at the baseline job's {setting.split('_')[1]}.json"
        ) from None
    if not isinstance(document, dict):
        raise InputError(
            f"setting {setting}={path}: expected a JSON object\n  fix: give the baseline's file"
        )
    return document


def cloudwatch_records(
    statistics: dict[str, Any], distances: dict[str, float], settings: dict[str, str | None]
) -> list[dict[str, Any]]:
    """Metric records in Model Monitor's container-contract shape (PutMetricData datum + time)."""
    stamp = settings["end_time"] or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: UP017
    dimensions = [
        {"Name": dimension, "Value": settings[setting]}
        for dimension, setting in (
            ("Endpoint", "sagemaker_endpoint_name"),
            ("MonitoringSchedule", "sagemaker_monitoring_schedule_name"),
        )
        if settings[setting]
    ]
    records: list[dict[str, Any]] = []

    def add(name: str, **value: Any) -> None:
        records.append({"MetricName": name, "Timestamp": stamp, "Dimensions": dimensions, **value})

    if "features" in statistics:
        count = statistics["dataset"]["item_count"]
        for feature in statistics["features"]:
            stats = feature.get("numerical_statistics") or feature["string_statistics"]
            name = feature["name"]
            if "numerical_statistics" in feature:
                add(
                    f"feature_data_{name}",
                    StatisticValues={
                        "SampleCount": float(stats["common"]["num_present"]),
                        "Sum": stats["sum"],
                        "Minimum": stats["min"],
                        "Maximum": stats["max"],
                    },
                )
            add(f"feature_non_null_{name}", Value=stats["common"]["num_present"] / count)
            if name in distances:
                add(f"feature_baseline_drift_{name}", Value=distances[name])
    else:
        metrics = next(v for k, v in statistics.items() if k.endswith("_metrics"))
        for name, metric in metrics.items():
            if isinstance(metric, dict) and isinstance(metric.get("value"), float):
                add(name, Value=metric["value"])
    return records


def write_atomically(files: dict[Path, str]) -> None:
    """Write every file or none: each goes to a temporary file first, then all are renamed."""
    staged = []
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(
                "w", dir=path.parent, delete=False, suffix=".tmp", encoding="utf-8"
            ) as handle:
                staged.append((Path(handle.name), path))
                handle.write(text)
    except OSError as exc:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
        raise InputError(
            f"cannot write {path}: {exc}\n  fix: make output_path a writable folder"
        ) from None
    for temporary, path in staged:
        os.replace(temporary, path)


def render(document: Any) -> str:
    return json.dumps(document, indent=2, allow_nan=False) + "\n"


def analyze(settings: dict[str, str | None]) -> list[dict[str, str]]:
    """Run the analysis the settings ask for, write its files; returns the violations."""
    analysis = (settings["analysis_type"] or DATA_QUALITY).upper()
    if analysis not in (DATA_QUALITY, MODEL_QUALITY):
        raise InputError(
            f"setting analysis_type={settings['analysis_type']!r}\n"
            f"  fix: use DATA_QUALITY or MODEL_QUALITY"
        )
    kind, option = parse_format(settings["dataset_format"])
    assert settings["dataset_source"] is not None and settings["output_path"] is not None
    files = dataset_files(Path(settings["dataset_source"]))
    records = read_records(files, kind, option)
    if kind == "capture" and analysis == MODEL_QUALITY:
        records = merged_records(records, settings)
        settings = {
            **settings,
            "inference_attribute": "prediction" if settings["inference_attribute"] else None,
            "probability_attribute": "probability" if settings["probability_attribute"] else None,
            "ground_truth_attribute": "ground_truth",
        }
    elif kind == "capture":
        records = captured_records(records, settings["record_preprocessor_script"])
        if not records:
            raise InputError(
                f"dataset {settings['dataset_source']}: no record left after preprocessing\n"
                f"  why: statistics need at least one record\n"
                f"  fix: capture some traffic, or check what preprocess_handler returns"
            )
    elif settings["record_preprocessor_script"]:
        raise InputError(
            "setting record_preprocessor_script is given for a dataset that is not data capture\n"
            '  fix: use it with dataset_format {"sagemakerCaptureJson": {...}}, or drop it'
        )
    baseline_constraints = read_baseline(settings["baseline_constraints"], "baseline_constraints")
    baseline_statistics = read_baseline(settings["baseline_statistics"], "baseline_statistics")
    distances: dict[str, float] = {}
    violations: list[dict[str, str]] | None = None
    if analysis == DATA_QUALITY:
        columns, statistics, constraints = data_quality(records)
        if baseline_constraints is not None:
            if not isinstance(baseline_constraints.get("features"), list):
                raise InputError(
                    f"setting baseline_constraints={settings['baseline_constraints']}: "
                    f"no features list\n"
                    f"  why: a data-quality check needs a data-quality constraints.json\n"
                    f"  fix: give the DATA_QUALITY baseline's constraints.json"
                )
            try:
                violations, distances = check_data_quality(
                    columns, statistics, baseline_constraints, baseline_statistics
                )
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise InputError(
                    f"settings baseline_statistics={settings['baseline_statistics']} and "
                    f"baseline_constraints={settings['baseline_constraints']}: not in Model "
                    f"Monitor's format ({type(exc).__name__}: {exc})\n"
                    f"  fix: give the statistics.json and constraints.json of a DATA_QUALITY "
                    f"baseline job"
                ) from None
    else:
        statistics, constraints = model_quality(records, settings)
        if baseline_constraints is not None:
            violations = check_model_quality(
                statistics, baseline_constraints, str(settings["baseline_constraints"])
            )
    output = Path(settings["output_path"])
    files_out = {
        output / "statistics.json": render(statistics),
        output / "constraints.json": render(constraints),
    }
    if violations is not None:
        files_out[output / "constraint_violations.json"] = render({"violations": violations})
    if (settings["publish_cloudwatch_metrics"] or "Disabled") == "Enabled":
        directory = Path(settings["cloudwatch_metrics_directory"] or DEFAULT_METRICS_DIR)
        lines = "".join(
            json.dumps(r) + "\n" for r in cloudwatch_records(statistics, distances, settings)
        )
        files_out[directory / "cloudwatch_metrics.jsonl"] = lines
    write_atomically(files_out)
    print(
        f"analyzer: {analysis} of {len(records)} records from {len(files)} file(s) -> "
        f"{', '.join(sorted(p.name for p in files_out))} in {output}"
    )
    for violation in violations or []:
        subject = violation.get("feature_name") or violation.get("metric_name")
        check = violation["constraint_check_type"]
        print(f"violation: {subject}: {check}: {violation['description']}")
    return violations or []


def main(argv: Sequence[str] | None = None) -> int:
    try:
        analyze(parse_settings(argv))
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

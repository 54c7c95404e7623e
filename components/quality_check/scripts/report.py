"""The analyzer's output: baseline files read back, CloudWatch metric records, and the report
files written all or none."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from components.quality_check.scripts.errors import InputError


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
    """Indented JSON (as json.dumps(indent=2)), each list of numbers (a KLL sketch's level, a
    curve) on one line: a sketch holds thousands of numbers per feature, one a line would be
    most of the file."""
    return _rendered(document, "") + "\n"


def _rendered(node: Any, indent: str) -> str:
    inner = indent + "  "
    if isinstance(node, dict) and node:
        items = (f"{inner}{json.dumps(str(k))}: {_rendered(v, inner)}" for k, v in node.items())
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    if isinstance(node, list) and node and not all(_numbers(item) for item in node):
        return "[\n" + ",\n".join(inner + _rendered(v, inner) for v in node) + f"\n{indent}]"
    return json.dumps(node, allow_nan=False)


def _numbers(node: Any) -> bool:
    """A number, or a list of numbers (a list of lists of numbers folds as one)."""
    kinds = set(map(type, node)) if isinstance(node, list) else {type(node)}
    return kinds <= {int, float}

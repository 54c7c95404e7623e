"""Data quality: each feature's statistics, suggested constraints, and checks against a baseline
(types, completeness, domains, and drift by KLL sketches), as Model Monitor computes them."""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Iterable
from typing import Any

import numpy as np

from components.quality_check.scripts.columns import (
    Column,
    Profile,
    count_texts,
    profile_records,
    profile_text_rows,
)
from components.quality_check.scripts.errors import InputError, Record
from components.quality_check.scripts.reading import Dataset, read_csv_columns
from components.quality_check.scripts.sketch import KLL_C, KLL_K, KllSketch

# Model Monitor's defaults for suggested data-quality constraints.
MONITORING_CONFIG: dict[str, Any] = {
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
BUCKETS = 10  # "By default, the distribution is materialized in 10 buckets."
MAX_DOMAIN = 20  # string features with at most this many distinct values get a domain
ROBUST_ALPHA = 0.001  # significance of the two-sample KS gate of comparison_method=Robust


def buckets(column: Column) -> list[dict[str, float]]:
    """10 equal-width buckets from min to max (one when all values are equal), counted from the
    KLL sketch as Deequ counts them: exact below KLL_K values."""
    low, high = column.moments.low, column.moments.high
    if low == high:
        return [{"lower_bound": low, "upper_bound": high, "count": float(column.numbers)}]
    edges = np.linspace(low, high, BUCKETS + 1)
    items, weights = column.sketch.weighted_items()
    counts, _ = np.histogram(items, bins=edges, weights=weights)
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
        return {
            "name": column.name,
            "inferred_type": kind,
            "string_statistics": {
                "common": common,
                "distinct_count": float(len(column.texts)),
                "distribution": {
                    "categorical": {
                        "buckets": [
                            {"value": v, "count": float(n)} for v, n in sorted(column.texts.items())
                        ]
                    }
                },
            },
        }
    moments = column.moments
    return {
        "name": column.name,
        "inferred_type": kind,
        "numerical_statistics": {
            "common": common,
            "mean": moments.mean,
            "sum": moments.total,
            "std_dev": moments.std_dev,
            "min": moments.low,
            "max": moments.high,
            "distribution": {
                "kll": {
                    "buckets": buckets(column),
                    "sketch": {
                        "parameters": {"c": KLL_C, "k": float(KLL_K)},
                        "data": column.sketch.data(),
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
        distinct = sorted(column.texts)
        if 0 < len(distinct) <= MAX_DOMAIN:
            feature["string_constraints"] = {"domains": distinct}
    else:
        feature["num_constraints"] = {"is_non_negative": column.moments.low >= 0}
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
        at_points: np.ndarray = cumulative[np.searchsorted(items, points, side="right")]
        return at_points

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
        ratio = sum(n for text, n in column.texts.items() if text in allowed) / column.present
        threshold = float(config.get("domain_content_threshold", 1.0))
        if ratio < threshold:
            unknown = sorted(t for t in column.texts if t not in allowed)
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


def domain_features(constraints: dict[str, Any] | None) -> set[str]:
    """The features a baseline's constraints give a domain (their values are checked as text)."""
    features = (constraints or {}).get("features")
    return {
        str(f.get("name"))
        for f in (features if isinstance(features, list) else [])
        if isinstance(f, dict) and (f.get("string_constraints") or {}).get("domains")
    }


def data_quality(
    records: Iterable[Record], texts_for: Collection[str] = ()
) -> tuple[list[Column], dict[str, Any], dict[str, Any]]:
    """Statistics and suggested constraints of the records, read in one pass in bounded memory.

    Features whose numbers are needed as text (a String feature holding numbers, or one in
    `texts_for`, whose domain a check counts) are read a second time: `records` must then be
    re-iterable (a list, a reading.Dataset, a captured.CapturedRecords).
    """
    profile = Profile()
    if isinstance(records, Dataset) and records.kind == "csv":
        for path in records.files:
            for names, block in read_csv_columns(path, records.option):
                if isinstance(block, np.ndarray):  # unsigned integers: all present, Integral
                    profile.add_block(names, block, np.ones(block.shape, dtype=bool))
                else:
                    profile_text_rows(profile, names, block)
    else:
        profile_records(profile, records)
    columns = profile.finish()
    needed = [c for c in columns if c.numbers and (c.kinds["String"] or c.name in texts_for)]
    if needed:
        assert iter(records) is not records, "a second reading needs a re-iterable dataset"
        count_texts(needed, records)
    item_count = profile.item_count
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


def kll_sketch(values: np.ndarray) -> list[list[float]]:
    """The KLL sketch of `values` as the analyzer builds it (blocks of KLL_K): its levels."""
    sketch = KllSketch()
    for start in range(0, len(values), KLL_K):
        sketch.update(np.asarray(values[start : start + KLL_K], dtype=float))
    return sketch.data()

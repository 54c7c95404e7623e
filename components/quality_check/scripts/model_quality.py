"""Model quality: classification and regression metrics with their deviations, suggested
constraints, and checks against a baseline, as Model Monitor computes them."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from components.quality_check.scripts.errors import InputError, Record

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
STD_MIN_SAMPLES = 200  # Model Monitor gives metric standard deviations from 200 samples on
STD_ROUNDS, STD_FRACTION, STD_SEED = 5, 0.8, 0


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
    records: Iterable[Record], settings: dict[str, str | None]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Metrics and suggested constraints of the records, read once; only each record's label,
    prediction and probability are kept."""
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
    # One reading keeps only the three values of each record, as (where, value) pairs, so a bad
    # value is reported with its file and line.
    truths: list[tuple[str, Any]] = []
    predictions: list[tuple[str, Any]] | None = [] if inference_path else None
    probabilities: list[tuple[str, Any]] = []
    for w, r in records:
        truths.append((w, attribute(w, r, truth_path, "ground_truth_attribute")))
        if predictions is not None:
            predictions.append((w, attribute(w, r, str(inference_path), "inference_attribute")))
        if probability_path and problem == "BinaryClassification":
            probabilities.append((w, attribute(w, r, probability_path, "probability_attribute")))
    count = len(truths)
    metrics: dict[str, Any]
    if problem == "MulticlassClassification":
        assert predictions is not None
        actual = np.array([label_text(v) for _, v in truths], dtype=object)
        predicted = np.array([label_text(v) for _, v in predictions], dtype=object)
        labels = sorted(set(actual) | set(predicted))
        metrics = {"confusion_matrix": confusion(actual, predicted, labels)}
        metrics.update(
            with_deviation(lambda i: multiclass_all(actual[i], predicted[i], labels), count)
        )
    elif problem == "BinaryClassification":
        positive = settings["positive_label"]
        actual = np.array(
            [binary_label(w, v, positive, "ground_truth_attribute") for w, v in truths]
        )
        scores = (
            np.array([number(w, v, "probability_attribute", 0.0, 1.0) for w, v in probabilities])
            if probability_path
            else None
        )
        threshold = settings["probability_threshold_attribute"]
        if scores is not None and (threshold or predictions is None):
            # As Model Monitor pairs them: a probability at or above the threshold (0.5 unless
            # given) is the positive class; a given threshold decides over inference_attribute.
            cut = number("setting", threshold or 0.5, "probability_threshold_attribute", 0.0, 1.0)
            predicted = (scores >= cut).astype(int)
        else:
            assert predictions is not None
            predicted = np.array(
                [binary_label(w, v, positive, "inference_attribute") for w, v in predictions]
            )
        metrics = {"confusion_matrix": confusion(actual, predicted, [0, 1])}  # type: ignore[list-item]
        metrics.update(
            with_deviation(
                lambda i: binary_all(
                    actual[i], predicted[i], None if scores is None else scores[i]
                ),
                count,
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
        metrics = with_deviation(lambda i: regression_all(actual[i], predicted[i]), count)
    statistics = {
        "version": 0.0,
        "dataset": {"item_count": count},
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

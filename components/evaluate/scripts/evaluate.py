"""Evaluate a trained model on the test split and write the evaluation report.

Runs as a SageMaker Processing job in the framework's training container, uploaded alone, so it
is self-contained: standard library and numpy. The model is loaded and run by its own inference
handler (`code/inference.py`'s `predictor`), which imports its framework: nothing here is
per framework. Inputs under `--base_dir` (default /opt/ml/processing):
`model/model.tar.gz` (the training job's output) and `test/test.csv` (header `label,<features>`;
an image's raw 0..255 pixels, divided here by the model's transformer.json `scale`).
Output: `evaluation/evaluation.json`, which follows components/evaluate/report.schema.json.
`--positive_class NAME` (a binary project's) adds ROC AUC and PR AUC of that class's probability.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import sys
import tarfile
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, NoReturn

import numpy as np

BATCH = 1024


class InputError(Exception):
    """Bad input the user can fix; reported in one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise InputError(f"bad argument: {message}")


def extract_model(archive: Path, target: Path) -> None:
    """Unpack model.tar.gz, refusing members that would land outside `target`."""
    if not archive.is_file():
        raise InputError(f"{archive} not found (the training job's model.tar.gz)")
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar.getmembers():
                name = PurePosixPath(member.name)
                if name.is_absolute() or ".." in name.parts or member.issym() or member.islnk():
                    raise InputError(f"{archive}: unsafe member {member.name!r}")
            if hasattr(tarfile, "data_filter"):
                tar.extractall(target, filter="data")
            else:  # Python < 3.12 without the backported filters; members checked above
                tar.extractall(target)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise InputError(f"{archive}: not a readable tar.gz ({exc})") from None


def read_test(path: Path, transformer: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Read test.csv as the model's float32 features and int64 class indices: an image's raw
    0..255 pixels (read as integers, a bounded parse) divided by transformer.json's scale."""
    with path.open(newline="") as fh:
        header = next(csv.reader(fh), None)
    if not header or header[0] != "label":
        raise InputError(f"{path}: the first column must be 'label'")
    image = transformer.get("kind") == "image"
    try:
        with warnings.catch_warnings():  # a header-only file is reported below, not warned of
            warnings.simplefilter("ignore", UserWarning)
            table = np.loadtxt(
                path, delimiter=",", skiprows=1, ndmin=2, dtype=np.int64 if image else np.float64
            )
    except ValueError as exc:
        raise InputError(f"{path}: not a table of numbers (is it preprocessed?): {exc}") from None
    if table.size == 0:
        raise InputError(f"{path}: no rows")
    if table.shape[1] != len(header) or not np.all(np.isfinite(table)):
        raise InputError(f"{path}: every row needs {len(header)} finite numbers")
    labels, features = table[:, 0], table[:, 1:]
    if np.any(labels != np.round(labels)) or labels.min() < 0:
        raise InputError(f"{path}: 'label' must be class indices (0, 1, ...)")
    if not image:
        return features.astype(np.float32), labels.astype(np.int64)
    if features.min() < 0 or features.max() > 255:
        raise InputError(f"{path}: pixels must be 0..255 integers (is it preprocessed?)")
    return features.astype(np.float32) / np.float32(transformer["scale"]), labels.astype(np.int64)


def read_transformer(model_dir: Path) -> dict[str, Any]:
    """The model's code/artifacts/transformer.json: how test.csv's columns become features."""
    path = model_dir / "code" / "artifacts" / "transformer.json"
    if not path.is_file():
        raise InputError("model.tar.gz has no code/artifacts/transformer.json (training copies it)")
    transformer = json.loads(path.read_text())
    if not isinstance(transformer, dict):
        raise InputError(f"{path}: not a JSON object")
    return transformer


def load_predictor(model_dir: Path) -> Callable[[np.ndarray], np.ndarray]:
    """The model's own inference handler's `predictor(model_dir)`: features -> probabilities.

    The handler (code/inference.py, with its sibling modules) knows its framework; this job
    does not, so it scores every framework's model the same way.
    """
    handler = model_dir / "code" / "inference.py"
    if not handler.is_file():
        raise InputError("model.tar.gz has no code/inference.py (the model's inference handler)")
    sys.path.insert(0, str(handler.parent))
    try:
        spec = importlib.util.spec_from_file_location("model_inference_handler", handler)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(handler.parent))
    predictor = getattr(module, "predictor", None)
    if predictor is None:
        raise InputError(f"{handler} defines no predictor(model_dir), which evaluation calls")
    loaded: Callable[[np.ndarray], np.ndarray] = predictor(str(model_dir))
    return loaded


def predict(model: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """Class probabilities of every row, in batches, by the model's own handler."""
    batches = [np.asarray(model(x[start : start + BATCH])) for start in range(0, len(x), BATCH)]
    return np.concatenate(batches)


def read_classes(model_dir: Path, n_outputs: int) -> list[str]:
    """Class names from the artifact's code/artifacts/classes.json, else the indices."""
    path = model_dir / "code" / "artifacts" / "classes.json"
    if not path.is_file():
        return [str(i) for i in range(n_outputs)]
    classes = json.loads(path.read_text())
    if not isinstance(classes, list) or len(classes) != n_outputs:
        raise InputError(
            f"{path}: {len(classes)} classes but the model outputs {n_outputs} probabilities"
        )
    return [str(c) for c in classes]


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (sklearn's `zero_division=0`)."""
    out = np.zeros(len(numerator), dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def compute_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """Accuracy, precision/recall/F1 (macro, weighted, per class), support, confusion matrix."""
    n = len(classes)
    matrix = np.zeros((n, n), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    tp = np.diag(matrix).astype(np.float64)
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    per_class = {
        "precision": _ratio(tp, predicted.astype(np.float64)),
        "recall": _ratio(tp, support.astype(np.float64)),
        "f1": _ratio(2 * tp, (support + predicted).astype(np.float64)),
    }
    total = int(support.sum())
    metrics: dict[str, Any] = {"accuracy": {"value": float(tp.sum() / total)}}
    for name, values in per_class.items():
        metrics[name] = {
            "macro": float(values.mean()),
            "weighted": float((values * support).sum() / total),
            "per_class": {c: float(values[i]) for i, c in enumerate(classes)},
        }
    metrics["support"] = {
        "value": total,
        "per_class": {c: int(support[i]) for i, c in enumerate(classes)},
    }
    metrics["confusion_matrix"] = {"labels": classes, "matrix": matrix.tolist()}
    return {"metrics": metrics}


def ranking_metrics(is_positive: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """(ROC AUC, average precision) of `scores` for the positive samples, as scikit-learn's
    roc_auc_score and average_precision_score: one point per distinct score, ties together."""
    order = np.argsort(-scores, kind="mergesort")
    ranked, hits = scores[order], is_positive[order].astype(np.float64)
    last = np.r_[np.nonzero(np.diff(ranked))[0], len(ranked) - 1]  # each threshold's last row
    tp = np.cumsum(hits)[last]
    fp = (last + 1) - tp
    tpr, fpr = np.r_[0.0, tp / tp[-1]], np.r_[0.0, fp / fp[-1]]
    roc_auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    average_precision = float(np.sum(np.diff(tpr) * (tp / (tp + fp))))
    return roc_auc, average_precision


def binary_metrics(
    y_true: np.ndarray, probabilities: np.ndarray, classes: list[str], positive_class: str
) -> dict[str, Any]:
    """ROC AUC and PR AUC (average precision) of the positive class's probability."""
    if len(classes) != 2 or positive_class not in classes:
        raise InputError(
            f"--positive_class {positive_class!r}: the model's classes are {classes}; "
            "a positive class is one of exactly two classes"
        )
    index = classes.index(positive_class)
    is_positive = y_true == index
    if is_positive.all() or not is_positive.any():
        raise InputError(
            f"test.csv: every sample is {'' if is_positive.all() else 'not '}{positive_class!r}, "
            "so ROC and PR AUC are undefined; the test split needs samples of both classes"
        )
    roc_auc, pr_auc = ranking_metrics(is_positive, probabilities[:, index].astype(np.float64))
    return {
        "roc_auc": {"value": roc_auc, "positive_class": positive_class},
        "pr_auc": {"value": pr_auc, "positive_class": positive_class},
    }


def evaluate(base_dir: Path, positive_class: str | None = None) -> dict[str, Any]:
    test_csv = base_dir / "test" / "test.csv"
    if not test_csv.is_file():
        raise InputError(f"{test_csv} not found (the preprocess output 'test')")
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp)
        extract_model(base_dir / "model" / "model.tar.gz", model_dir)
        model = load_predictor(model_dir)
        x, y_true = read_test(test_csv, read_transformer(model_dir))
        probabilities = predict(model, x)
        if probabilities.ndim != 2 or len(probabilities) != len(x):
            raise InputError(f"the model returned shape {probabilities.shape} for {len(x)} rows")
        classes = read_classes(model_dir, probabilities.shape[1])
    if y_true.max() >= len(classes):
        raise InputError(
            f"test.csv: label {int(y_true.max())} is not a class index below {len(classes)}"
        )
    report = compute_metrics(y_true, probabilities.argmax(axis=1), classes)
    if positive_class is not None:
        report["metrics"].update(binary_metrics(y_true, probabilities, classes, positive_class))
    print(
        f"evaluated the model on {len(x)} test samples: "
        f"accuracy {report['metrics']['accuracy']['value']:.6f}",
        flush=True,
    )
    return report


def main(argv: Sequence[str] | None = None) -> int:
    prog = Path(sys.argv[0]).name or "evaluate.py"
    try:
        parser = _Parser(description="Evaluate model.tar.gz on test.csv.")
        parser.add_argument("--base_dir", type=Path, default=Path("/opt/ml/processing"))
        parser.add_argument("--positive_class", default=None)
        args = parser.parse_args(argv)
        report = evaluate(args.base_dir, args.positive_class)
    except InputError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr, flush=True)
        return 2
    out = args.base_dir / "evaluation" / "evaluation.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    print(f"wrote {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

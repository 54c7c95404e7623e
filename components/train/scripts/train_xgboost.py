"""Train the project's classifier with XGBoost (gradient-boosted trees) on tabular data.

Runs in SageMaker's XGBoost framework container (`sagemaker-xgboost:3.2-0`) in script mode.
Writes `SM_MODEL_DIR/model.json` (the booster; objective `multi:softprob`, so it predicts class
probabilities `[n, n_classes]` for two classes too) and `SM_MODEL_DIR/code/` (the serving code).
Logs one line per boosting round with the validation accuracy the tuning job reads.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    Data,
    InputError,
    Parser,
    Paths,
    check_seed,
    compute_threads,
    log_epoch,
    run,
)

MODEL_FILE = "model.json"  # xgboost_handler.py loads it


@dataclass(frozen=True)
class BoostArgs:
    num_round: int
    max_depth: int
    eta: float
    min_child_weight: float
    subsample: float
    seed: int
    inference_handler: str | None = None


def _within(name: str, value: float, low: float, high: float, low_open: bool) -> None:
    below = value <= low if low_open else value < low
    if below or value > high or not np.isfinite(value):
        bracket = "(" if low_open else "["
        raise InputError(
            f"bad argument: --{name} must be in {bracket}{low:g}, {high:g}], got {value}"
        )


def parse_args(argv: Sequence[str] | None = None) -> BoostArgs:
    """Parse the hyperparameters SageMaker passes; ignore the rest."""
    parser = Parser("Train gradient-boosted trees on the preprocessed CSV channels.")
    parser.add_argument("--num_round", type=int, default=100)
    parser.add_argument("--max_depth", type=int, default=4)
    parser.add_argument("--eta", type=float, default=0.3)
    parser.add_argument("--min_child_weight", type=float, default=1.0)
    parser.add_argument("--subsample", type=float, default=1.0)
    ns, _unknown = parser.parse_known_args(argv)
    _within("num_round", ns.num_round, 0, 10_000, True)
    _within("max_depth", ns.max_depth, 0, 20, True)
    _within("eta", ns.eta, 0, 1, True)
    _within("min_child_weight", ns.min_child_weight, 0, 100, False)
    _within("subsample", ns.subsample, 0, 1, True)
    check_seed(ns.seed)
    return BoostArgs(
        ns.num_round,
        ns.max_depth,
        ns.eta,
        ns.min_child_weight,
        ns.subsample,
        ns.seed,
        ns.inference_handler,
    )


def train(args: BoostArgs, data: Data, paths: Paths) -> None:
    import xgboost as xgb

    if data.kind != "tabular":
        raise InputError("XGBoost learns tabular data only; use tensorflow or pytorch for images")
    params: dict[str, Any] = {
        "objective": "multi:softprob",
        "num_class": data.n_classes,
        "max_depth": args.max_depth,
        "eta": args.eta,
        "min_child_weight": args.min_child_weight,
        "subsample": args.subsample,
        "eval_metric": ["mlogloss", "merror"],
        "seed": args.seed,
        "nthread": compute_threads(),  # a rerun on as many threads gives the same model
        "tree_method": "hist",
    }
    train_set = xgb.DMatrix(data.x_train, label=data.y_train)
    validation = xgb.DMatrix(data.x_val, label=data.y_val)
    history: dict[str, Any] = {}
    booster = xgb.train(
        params,
        train_set,
        num_boost_round=args.num_round,
        evals=[(train_set, "train"), (validation, "validation")],
        evals_result=history,
        verbose_eval=False,
    )
    losses, errors = history["train"]["mlogloss"], history["validation"]["merror"]
    for index, loss in enumerate(losses):
        log_epoch(index + 1, float(loss), 1.0 - float(errors[index]))
    booster.save_model(str(paths.model_dir / MODEL_FILE))


def main(argv: Sequence[str] | None = None) -> int:
    return run("xgboost", train, argv, parse_args)


if __name__ == "__main__":
    sys.exit(main())

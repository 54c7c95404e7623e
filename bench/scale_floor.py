"""The floor for bench/scale: only what the work requires, in one plain process.

Read the CSVs, split them as Preprocess does (its own seeded, stratified split), scale as the
readers do, train the training script's own network with its own loop (imported from it, so it is
the same network trained the same way: optimizer, schedule, batch size, epochs, seeds, threads),
and score the test set. No pipeline, no baselines, no files written. Prints the test accuracy;
for the images, at the same thread count, of the pipeline's own model (same rows, same order).

    python bench/scale_floor.py image DIR --epochs 3 --batch-size 32 --learning-rate 0.001
    python bench/scale_floor.py tabular FILE --target diagnosis --test 0.15 --seed 7 ...
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TRAIN_SCRIPT = REPO / "components/train/scripts/train_pytorch.py"
PREPROCESS_SCRIPT = REPO / "components/preprocess/scripts/preprocess_image.py"


def script(path: Path) -> ModuleType:
    """A job script, loaded as its job loads it (its folder first on the path)."""
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = sys.modules[path.stem] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def image_splits(folder: Path, args: argparse.Namespace) -> tuple[Any, ...]:
    import numpy as np
    import pandas as pd

    preprocess, common = script(PREPROCESS_SCRIPT), script(TRAIN_SCRIPT.parent / "common.py")
    train = pd.read_csv(folder / "mnist_train.csv", dtype=np.uint8)
    test = pd.read_csv(folder / "mnist_test.csv", dtype=np.uint8)
    x, y = train.drop(columns="label").to_numpy(), train["label"].to_numpy(np.int64)
    x_test, y_test = test.drop(columns="label").to_numpy(), test["label"].to_numpy(np.int64)
    classes = [str(c) for c in range(int(y.max()) + 1)]
    rows, _ = preprocess.split_stratified(y, args.validation, args.seed, folder, classes)
    scale = preprocess.SCALE
    return common.scaled(x[rows], scale), y[rows], common.scaled(x_test, scale), y_test


def tabular_splits(path: Path, args: argparse.Namespace) -> tuple[Any, ...]:
    import numpy as np
    import pandas as pd
    from sklearn.model_selection import train_test_split

    frame = pd.read_csv(path)
    classes = sorted(frame[args.target].unique())
    y = frame[args.target].map({c: i for i, c in enumerate(classes)}).to_numpy(np.int64)
    x = frame.drop(columns=args.target).to_numpy(np.float32)
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=args.test, stratify=y, random_state=args.seed
    )
    x_train, _, y_train, _ = train_test_split(
        x_rest,
        y_rest,
        test_size=args.validation / (1 - args.test),
        stratify=y_rest,
        random_state=args.seed,
    )
    mean, std = x_train.mean(axis=0), x_train.std(axis=0) + 1e-12
    return (x_train - mean) / std, y_train, (x_test - mean) / std, y_test


def train_and_score(kind: str, splits: tuple[Any, ...], args: argparse.Namespace) -> float:
    import numpy as np
    import torch
    from torch import nn

    trainer = script(TRAIN_SCRIPT)
    trainer.configure(torch, args.seed)
    x_train, y_train, x_test, y_test = (torch.from_numpy(np.ascontiguousarray(a)) for a in splits)
    n_features, n_classes = x_train.shape[1], int(max(y_train.max(), y_test.max())) + 1
    shape = SimpleNamespace(
        kind=kind, side=round(n_features**0.5), n_features=n_features, n_classes=n_classes
    )
    network = trainer.build_network(nn, shape)
    hyperparameters = SimpleNamespace(
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
    )
    for _ in trainer.fit(torch, network, x_train, y_train, hyperparameters):
        pass  # the pipeline scores the validation split here; the floor has none to score
    return float(trainer.accuracy(torch, network, x_test, y_test))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["image", "tabular"])
    parser.add_argument(
        "data", type=Path, help="image: the folder of the MNIST CSVs; tabular: the CSV"
    )
    parser.add_argument("--target", default="label")
    parser.add_argument("--validation", type=float, default=0.2)
    parser.add_argument("--test", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    parser.add_argument("--learning-rate", type=float, required=True)
    args = parser.parse_args(argv)
    read = image_splits if args.kind == "image" else tabular_splits
    print(f"test accuracy {train_and_score(args.kind, read(args.data, args), args):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

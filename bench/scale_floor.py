"""The floor for bench/scale: only what the work requires, in one plain process.

Read the CSVs, split them as Preprocess does (seeded, stratified), scale, train the training
script's own network (imported from it, so it is the same one) with the same optimizer, schedule,
batch size, epochs and thread count, and score the test set. No pipeline, no baselines, no files
written. Prints the test accuracy.

    python bench/scale_floor.py image DIR --epochs 3 --batch-size 32 --learning-rate 0.01
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
EVAL_BATCH = 1024


def training_script() -> ModuleType:
    """components/train/scripts/train_pytorch.py, loaded as the job loads it."""
    sys.path.insert(0, str(TRAIN_SCRIPT.parent))
    spec = importlib.util.spec_from_file_location("train_pytorch", TRAIN_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def image_splits(folder: Path, args: argparse.Namespace) -> tuple[Any, ...]:
    import numpy as np
    import pandas as pd
    from sklearn.model_selection import train_test_split

    train = pd.read_csv(folder / "mnist_train.csv", dtype=np.float32)
    test = pd.read_csv(folder / "mnist_test.csv", dtype=np.float32)
    x, y = train.drop(columns="label").to_numpy() / 255.0, train["label"].to_numpy(np.int64)
    x_test, y_test = test.drop(columns="label").to_numpy() / 255.0, test["label"].to_numpy(np.int64)
    x_train, _, y_train, _ = train_test_split(
        x, y, test_size=args.validation, stratify=y, random_state=args.seed
    )
    return x_train, y_train, x_test, y_test


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

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x_train, y_train, x_test, y_test = (torch.from_numpy(np.ascontiguousarray(a)) for a in splits)
    n_features, n_classes = x_train.shape[1], int(max(y_train.max(), y_test.max())) + 1
    shape = SimpleNamespace(
        kind=kind, side=round(n_features**0.5), n_features=n_features, n_classes=n_classes
    )
    network = training_script().build_network(nn, shape)
    optimizer = torch.optim.Adam(network.parameters(), lr=args.learning_rate)
    steps = args.epochs * -(-len(y_train) // args.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(args.seed)
    network.train()
    for _ in range(args.epochs):
        order = torch.randperm(len(y_train), generator=generator)
        for start in range(0, len(order), args.batch_size):
            batch = order[start : start + args.batch_size]
            optimizer.zero_grad()
            loss_fn(network(x_train[batch]), y_train[batch]).backward()
            optimizer.step()
            schedule.step()
    network.eval()
    right = 0
    with torch.no_grad():
        for start in range(0, len(y_test), EVAL_BATCH):
            guess = network(x_test[start : start + EVAL_BATCH]).argmax(dim=1)
            right += int((guess == y_test[start : start + EVAL_BATCH]).sum())
    return right / len(y_test)


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
    parser.add_argument("--threads", type=int, default=1, help="as the training job sets")
    args = parser.parse_args(argv)
    read = image_splits if args.kind == "image" else tabular_splits
    print(f"test accuracy {train_and_score(args.kind, read(args.data, args), args):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

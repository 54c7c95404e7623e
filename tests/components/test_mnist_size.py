"""The MNIST-size generator the real-workload benchmark uses (projects/digits/mnist_size.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from projects.digits.mnist_size import SIDE, write_mnist_size

REPO = Path(__file__).resolve().parents[2]


def test_it_writes_the_mnist_in_csv_layout(tmp_path: Path) -> None:
    train, test = write_mnist_size(tmp_path, train=300, test=120, seed=3)
    for path, rows in ((train, 300), (test, 120)):
        frame = pd.read_csv(path)
        assert list(frame.columns[:3]) == ["label", "1x1", "1x2"]
        assert frame.columns[-1] == f"{SIDE}x{SIDE}" and frame.shape == (rows, 1 + SIDE * SIDE)
        pixels = frame.drop(columns="label").to_numpy()
        assert pixels.dtype == np.int64 and pixels.min() == 0 and pixels.max() == 255
        assert set(frame["label"]) == set(range(10))
        # Images, not noise: the border stays dark, the centre carries the strokes.
        image = pixels.reshape(-1, SIDE, SIDE)
        assert image[:, :2, :].mean() < 1.0 < image[:, 10:18, 10:18].mean()


def test_it_is_deterministic_and_the_sizes_are_independent(tmp_path: Path) -> None:
    first = write_mnist_size(tmp_path / "a", train=200, test=50, seed=3)
    again = write_mnist_size(tmp_path / "b", train=200, test=50, seed=3)
    other_train = write_mnist_size(tmp_path / "c", train=100, test=50, seed=3)
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in again]
    assert other_train[1].read_bytes() == first[1].read_bytes()  # the test set did not move


def test_the_command_refuses_a_size_of_zero(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "projects.digits.mnist_size", str(tmp_path), "--train", "0"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "--train and --test take a positive number of images" in done.stderr
    assert not list(tmp_path.iterdir())

"""Write an MNIST-size stand-in in the MNIST-in-CSV layout, made from scikit-learn's digits.

The course's Pipeline of Digits trains on MNIST: 60,000 + 10,000 images of 28x28 in
`mnist_train.csv` / `mnist_test.csv` (a `label` column, then `1x1 ... 28x28`, 0..255). MNIST is
not on this machine, so the benchmarks make a set of that size and layout: each image is one of
the 1,797 8x8 digits, scaled to MNIST's 20x20 box inside 28x28, then rotated, shifted and noised
at random. Deterministic for a given seed and size; the real MNIST files work the same way.

    python -m projects.digits.mnist_size OUTDIR                 # 60,000 + 10,000
    python -m projects.digits.mnist_size OUTDIR --train 6000 --test 1000
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

SIDE = 28  # MNIST's image side
BOX = 20  # MNIST's digits are size-normalised into a 20x20 box, centred in 28x28
MAX_ROTATION_DEG = 12.0
MAX_SHIFT_PX = 2.5
NOISE_STD = 8.0  # in 0..255 intensity units
CHUNK = 5_000  # images made and written at once: bounded memory at any size


def digit_templates() -> tuple[Any, Any]:
    """scikit-learn's digits as 28x28 float images (0..255) with their labels."""
    import numpy as np
    from scipy import ndimage
    from sklearn.datasets import load_digits

    digits = load_digits()
    small = digits.images * (255.0 / 16.0)
    boxed = ndimage.zoom(small, (1, BOX / 8, BOX / 8), order=1)
    margin = (SIDE - BOX) // 2
    images = np.zeros((len(small), SIDE, SIDE))
    images[:, margin : margin + BOX, margin : margin + BOX] = boxed
    return images, digits.target


def distorted(images: Any, labels: Any, count: int, rng: Any) -> tuple[Any, Any]:
    """`count` images drawn from the templates, each rotated, shifted and noised once."""
    import numpy as np
    from scipy import ndimage

    picks = rng.integers(0, len(images), size=count)
    angles = np.deg2rad(rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG, size=count))
    shifts = rng.uniform(-MAX_SHIFT_PX, MAX_SHIFT_PX, size=(count, 2))
    centre = np.array([(SIDE - 1) / 2, (SIDE - 1) / 2])
    out = np.empty((count, SIDE * SIDE), dtype=np.int64)
    for i, (pick, angle, shift) in enumerate(zip(picks, angles, shifts, strict=True)):
        cos, sin = np.cos(angle), np.sin(angle)
        matrix = np.array([[cos, -sin], [sin, cos]])
        offset = centre - matrix @ (centre + shift)
        moved = ndimage.affine_transform(images[pick], matrix, offset=offset, order=1)
        noisy = moved + rng.normal(0.0, NOISE_STD, size=moved.shape) * (moved > 0)
        out[i] = np.clip(np.rint(noisy), 0, 255).reshape(-1)
    return out, labels[picks]


def write_csv(path: Path, count: int, images: Any, labels: Any, rng: Any) -> None:
    """Write `count` images in the MNIST-in-CSV layout, CHUNK rows at a time."""
    import numpy as np

    header = ",".join(
        ["label"] + [f"{r}x{c}" for r in range(1, SIDE + 1) for c in range(1, SIDE + 1)]
    )
    with path.open("w", newline="\n") as out:
        out.write(header + "\n")
        for start in range(0, count, CHUNK):
            pixels, targets = distorted(images, labels, min(CHUNK, count - start), rng)
            rows = np.column_stack([targets, pixels])
            np.savetxt(out, rows, fmt="%d", delimiter=",")


def write_mnist_size(
    directory: str | Path, train: int = 60_000, test: int = 10_000, seed: int = 7
) -> tuple[Path, Path]:
    """Write `mnist_train.csv` and `mnist_test.csv` into `directory`; returns their paths.

    Train and test draw from separate random streams, so changing one size keeps the other's
    images.
    """
    import numpy as np

    images, labels = digit_templates()
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = out_dir / "mnist_train.csv", out_dir / "mnist_test.csv"
    streams = np.random.SeedSequence(seed).spawn(2)
    for path, count, stream in zip(paths, (train, test), streams, strict=True):
        write_csv(path, count, images, labels, np.random.default_rng(stream))
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m projects.digits.mnist_size", description=__doc__.split("\n")[0]
    )
    parser.add_argument("outdir")
    parser.add_argument(
        "--train", type=int, default=60_000, help="training images (default 60,000)"
    )
    parser.add_argument("--test", type=int, default=10_000, help="test images (default 10,000)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.train < 1 or args.test < 1:
        parser.error("--train and --test take a positive number of images")
    for path in write_mnist_size(args.outdir, args.train, args.test, args.seed):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

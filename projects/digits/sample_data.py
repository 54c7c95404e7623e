"""Write scikit-learn's 8x8 digits in the MNIST-in-CSV layout, so tests need no download.

The course trains on `mnist_train.csv`/`mnist_test.csv` (a `label` column, then one 0..255 column
per pixel named `1x1, 1x2, ...`). The digits set is the same task at 8x8 and ships with
scikit-learn, so the image pipeline runs end to end on real data in seconds.
"""

from __future__ import annotations

import sys
from pathlib import Path

from projects.sample import command, write_csvs

TEST_FRACTION = 0.2
SEED = 42


def write_digits_csvs(directory: str | Path) -> tuple[Path, Path]:
    """Write `mnist_train.csv` and `mnist_test.csv` (seeded stratified 80/20) into `directory`.

    Returns:
        The paths of the train and test files.
    """
    import numpy as np
    import pandas as pd
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    side = digits.images.shape[1]
    # The digits are 0..16 intensities; MNIST's are 0..255.
    pixels = np.rint(digits.data * 255.0 / 16.0).astype(np.int64)
    columns = [f"{row}x{col}" for row in range(1, side + 1) for col in range(1, side + 1)]
    frame = pd.DataFrame(pixels, columns=columns)
    frame.insert(0, "label", digits.target.astype(np.int64))
    train, test = train_test_split(
        frame, test_size=TEST_FRACTION, stratify=frame["label"], random_state=SEED
    )
    train_path, test_path = write_csvs(
        directory, {"mnist_train.csv": train, "mnist_test.csv": test}
    )
    return train_path, test_path


main = command("projects.digits.sample_data", write_digits_csvs)

if __name__ == "__main__":
    sys.exit(main())

"""Write scikit-learn's breast cancer data as one CSV, so tests and demos need no download.

569 tumours, 30 numeric measurements each (snake_case column names), and a `diagnosis` column of
`malignant` or `benign`: the shipped binary project.
"""

from __future__ import annotations

import sys
from pathlib import Path

from projects.sample import command, write_csvs


def write_cancer_csv(directory: str | Path) -> Path:
    """Write `<directory>/cancer.csv` and return its path."""
    from sklearn.datasets import load_breast_cancer  # here: only this function needs it

    data = load_breast_cancer(as_frame=True)
    frame = data.frame.rename(columns=lambda name: str(name).replace(" ", "_"))
    frame = frame.rename(columns={"target": "diagnosis"})
    frame["diagnosis"] = [str(data.target_names[t]) for t in frame["diagnosis"]]
    return write_csvs(directory, {"cancer.csv": frame})[0]


main = command("projects.cancer.sample_data", write_cancer_csv)

if __name__ == "__main__":
    sys.exit(main())

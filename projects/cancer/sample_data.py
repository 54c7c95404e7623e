"""Write scikit-learn's breast cancer data as one CSV, so tests and demos need no download.

569 tumours, 30 numeric measurements each (snake_case column names), and a `diagnosis` column of
`malignant` or `benign`: the shipped binary project.
"""

from __future__ import annotations

import sys
from pathlib import Path


def write_cancer_csv(directory: str | Path) -> Path:
    """Write `<directory>/cancer.csv` and return its path."""
    from sklearn.datasets import load_breast_cancer  # here: only this function needs it

    data = load_breast_cancer(as_frame=True)
    frame = data.frame.rename(columns=lambda name: str(name).replace(" ", "_"))
    frame = frame.rename(columns={"target": "diagnosis"})
    frame["diagnosis"] = [str(data.target_names[t]) for t in frame["diagnosis"]]
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "cancer.csv"
    frame.to_csv(path, index=False)
    return path


def main(argv: list[str] | None = None) -> int:
    """`python -m projects.cancer.sample_data OUTDIR`."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m projects.cancer.sample_data OUTDIR", file=sys.stderr)
        return 2
    print(write_cancer_csv(args[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

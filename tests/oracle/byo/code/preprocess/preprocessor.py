"""Session 1: split the penguins file, scale and encode it, written the usual way for SageMaker.

The container paths are opened directly: /opt/ml/processing/input holds the one raw file, and
each split goes to its own output folder. Rows: the label (species index) first, then features
(the measurements standardised with the training split's statistics, the island one-hot).
"""

import csv
import json
from pathlib import Path

import numpy as np

BASE = Path("/opt/ml/processing")
NUMERIC = ["culmen_length_mm", "culmen_depth_mm", "flipper_length_mm", "body_mass_g"]
SPECIES = ["Adelie", "Chinstrap", "Gentoo"]
ISLANDS = ["Biscoe", "Dream", "Torgersen"]


def main():
    with open(BASE / "input" / "penguins.csv", newline="") as source:
        rows = [r for r in csv.DictReader(source) if all(r[c] for c in NUMERIC)]
    order = np.random.RandomState(42).permutation(len(rows))
    n_train, n_validation = round(len(rows) * 0.7), round(len(rows) * 0.15)
    splits = {
        "train": order[:n_train],
        "validation": order[n_train : n_train + n_validation],
        "test": order[n_train + n_validation :],
    }
    measures = np.array([[float(r[c]) for c in NUMERIC] for r in rows])
    mean, std = measures[splits["train"]].mean(0), measures[splits["train"]].std(0)
    islands = np.array([[float(r["island"] == i) for i in ISLANDS] for r in rows])
    labels = np.array([SPECIES.index(r["species"]) for r in rows])
    table = np.column_stack([labels, (measures - mean) / std, islands])
    for name, index in splits.items():
        out = BASE / name
        out.mkdir(parents=True, exist_ok=True)
        np.savetxt(out / f"{name}.csv", table[index], delimiter=",", fmt="%.6g")
    baseline = BASE / "baseline"
    baseline.mkdir(parents=True, exist_ok=True)
    header = ",".join(NUMERIC)
    np.savetxt(
        baseline / "baseline.csv",
        measures[splits["train"]],
        delimiter=",",
        fmt="%g",
        header=header,
        comments="",
    )
    print(json.dumps({name: len(index) for name, index in splits.items()}))


if __name__ == "__main__":
    main()

"""Session 1: split the penguins file, scale and encode it, written the usual way for SageMaker.

The container paths are opened directly: /opt/ml/processing/input holds the one raw file, and
each split goes to its own output folder. Rows: the label (species index) first, then features.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

BASE = Path("/opt/ml/processing")
NUMERIC = ["culmen_length_mm", "culmen_depth_mm", "flipper_length_mm", "body_mass_g"]
SPECIES = ["Adelie", "Chinstrap", "Gentoo"]


def main():
    data = pd.read_csv(BASE / "input" / "penguins.csv").dropna(subset=["species", *NUMERIC])
    labels = data.pop("species").map(SPECIES.index).to_numpy()
    train, rest, y_train, y_rest = train_test_split(
        data, labels, test_size=0.3, random_state=42, stratify=labels
    )
    validation, test, y_validation, y_test = train_test_split(
        rest, y_rest, test_size=0.5, random_state=42, stratify=y_rest
    )
    transformer = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(), StandardScaler()), NUMERIC),
            ("island", OneHotEncoder(handle_unknown="ignore"), ["island"]),
        ]
    )
    features = transformer.fit_transform(train)
    for name, frame, y in [
        ("train", features, y_train),
        ("validation", transformer.transform(validation), y_validation),
        ("test", transformer.transform(test), y_test),
    ]:
        out = BASE / name
        out.mkdir(parents=True, exist_ok=True)
        np.savetxt(out / f"{name}.csv", np.column_stack([y, frame]), delimiter=",", fmt="%g")
    baseline = BASE / "baseline"
    baseline.mkdir(parents=True, exist_ok=True)
    train[NUMERIC].to_csv(baseline / "baseline.csv", index=False)
    print(json.dumps({"train": len(y_train), "validation": len(y_validation), "test": len(y_test)}))


if __name__ == "__main__":
    main()

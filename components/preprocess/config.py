"""Settings of the preprocess step: the raw data layout and how it is split."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from compiler.base import Settings

# The scikit-learn processing container the preprocess scripts target (Python 3.9).
SKLEARN_VERSION = "1.2-1"

Fraction = Annotated[float, Field(gt=0, lt=1)]
ColumnName = Annotated[str, Field(min_length=1, pattern=r"^[^,]+$")]


class TabularData(Settings):
    """One CSV with a header: a target column, numeric and categorical feature columns."""

    kind: Literal["tabular"]
    target: ColumnName
    numeric: tuple[ColumnName, ...] = ()
    categorical: tuple[ColumnName, ...] = ()

    @field_validator("categorical")
    @classmethod
    def _has_features(cls, categorical: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        numeric = info.data.get("numeric", [])
        if not numeric and not categorical:
            raise ValueError(
                "a tabular project needs at least one feature column; "
                "fix: list columns under data.numeric or data.categorical"
            )
        both = sorted(set(numeric) & set(categorical))
        if both:
            raise ValueError(
                f"{both} listed as both numeric and categorical; fix: keep each column in one list"
            )
        return categorical


class ImageData(Settings):
    """MNIST-in-CSV: a label column then one column per pixel of a square image."""

    kind: Literal["image"]
    label: ColumnName = "label"
    train_file: str = "mnist_train.csv"
    test_file: str = "mnist_test.csv"


class Split(Settings):
    """Seeded, stratified split fractions; `test` is None when the data ship their own test set."""

    validation: Fraction
    test: Fraction | None = None
    seed: int = 42

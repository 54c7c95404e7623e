"""Settings of the preprocess step: the raw data layout, how it is split, and its checks."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from kernel.errors import Issue
from kernel.settings import Settings, rule

Fraction = Annotated[float, Field(gt=0, lt=1)]
ColumnName = Annotated[str, Field(min_length=1, pattern=r"^[^,\s-][^,]*$")]
FILE_NAME = r"^[^/\\]+$"
FileName = Annotated[
    str,
    rule(
        lambda name: (
            None
            if re.match(FILE_NAME, name)
            else f"{name!r} is not a file name: the job reads it from its input folder, so it has "
            "no '/' and is not empty; fix: name the CSV file, e.g. 'mnist_train.csv'"
        )
    ),
]


class TabularData(Settings):
    """One CSV with a header: a target column, numeric and categorical feature columns."""

    kind: Literal["tabular"]
    target: ColumnName
    numeric: tuple[ColumnName, ...] = ()
    categorical: tuple[ColumnName, ...] = ()

    @field_validator("numeric", "categorical")
    @classmethod
    def _listed_once(cls, columns: tuple[str, ...]) -> tuple[str, ...]:
        repeated = sorted({c for c in columns if columns.count(c) > 1})
        if repeated:
            raise ValueError(f"{repeated} listed twice; fix: list each column once")
        return columns

    @field_validator("categorical")
    @classmethod
    def _has_features(cls, categorical: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        numeric = info.data.get("numeric", ())
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
    train_file: FileName = "mnist_train.csv"
    test_file: FileName = "mnist_test.csv"


class Split(Settings):
    """Seeded, stratified split fractions; `test` is None when the data ship their own test set."""

    validation: Fraction
    test: Fraction | None = None
    seed: int = 42


class Preprocess(Settings):
    """What the step is built from: the data layout, the split, the classes and the container."""

    data: TabularData | ImageData
    split: Split
    classes: tuple[str, ...]
    image: str
    script: str  # repository path of the script the job runs


def data_problems(data: TabularData | ImageData, split: Split, key: str) -> list[Issue]:
    """Rules across the data layout and the split, which sit at config key `key`."""
    problems = []
    if isinstance(data, TabularData):
        features = (*data.numeric, *data.categorical)
        if data.target in features:
            listed = "numeric" if data.target in data.numeric else "categorical"
            problems.append(
                Issue(
                    ("data", listed),
                    f"{key}.data.{listed} lists the target column '{data.target}'",
                    "the model would be given the answer it has to predict",
                    f"remove '{data.target}' from {key}.data.{listed}",
                )
            )
        if split.test is None:
            problems.append(
                Issue(
                    ("split", "test"),
                    f"{key}.split.test = None",
                    "a tabular project has one file, so the test set must be split off",
                    f"set {key}.split.test, e.g. 0.15",
                )
            )
    if isinstance(data, ImageData):
        if split.test is not None:
            problems.append(
                Issue(
                    ("split", "test"),
                    f"{key}.split.test = {split.test}",
                    f"an image project reads its test set from {data.test_file}",
                    f"set {key}.split.test=null",
                )
            )
        if data.train_file == data.test_file:
            problems.append(
                Issue(
                    ("data", "test_file"),
                    f"{key}.data.test_file = {data.test_file!r}",
                    "the test file is also the train file, so the test score would be meaningless",
                    "name the file that holds the test images",
                )
            )
    total = split.validation + (split.test or 0)
    if total >= 1:
        problems.append(
            Issue(
                ("split", "validation"),
                f"{key}.split = {total} held out",
                "validation and test fractions leave nothing to train on",
                "keep validation + test below 1, e.g. 0.15 each",
            )
        )
    return problems

"""Preprocess images in the MNIST-in-CSV layout inside a SageMaker Processing job.

Runs in the scikit-learn processing container (Python 3.9, pandas 1.x), uploaded as this one file,
so it depends on numpy, pandas and the standard library only. Reads `<base_dir>/input/<train_file>`
and `<test_file>` (a label column, then one 0..255 column per pixel, row-major), takes a seeded,
stratified validation split from the train file, keeps the test file as the test split, scales
pixels to 0..1 and writes the outputs named in components/README.md. The image side is
sqrt(pixel columns), so 28x28 MNIST and 8x8 scikit-learn digits both work.

Bad data exits with status 2 and a message naming the file, the column/line, the problem and the
fix; nothing is written unless every check passes.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

PROG = "preprocess_image"
SCALE = 255.0


class DataError(Exception):
    """A problem with the input data that the user can fix; printed without a traceback."""

    def __init__(self, where: str, what: str, fix: str) -> None:
        super().__init__(f"{where}: {what}\n  fix: {fix}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the contract's arguments; argparse itself exits 2 on malformed ones."""
    parser = argparse.ArgumentParser(prog=PROG, description="Split and scale MNIST-in-CSV images.")
    parser.add_argument("--base_dir", default="/opt/ml/processing")
    parser.add_argument("--train_file", default="mnist_train.csv")
    parser.add_argument("--test_file", default="mnist_test.csv")
    parser.add_argument("--label", default="label", help="label column")
    # One argument a class (an API limit caps each argument at 256 characters); commas also
    # separate classes.
    parser.add_argument("--classes", nargs="+", required=True, help="class names, in order")
    parser.add_argument("--validation", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    args.classes = [c.strip() for value in args.classes for c in value.split(",") if c.strip()]
    if not args.classes or len(set(args.classes)) != len(args.classes):
        parser.error(f"--classes must list distinct class names, got {args.classes}")
    if not 0.0 < args.validation < 1.0:
        parser.error("--validation must be between 0 and 1 (exclusive)")
    return args


def line_of(row: int) -> int:
    """File line of a 0-based data row (line 1 is the header)."""
    return row + 2


def read_images(path: Path, label: str) -> tuple[pd.Series, np.ndarray, list[str]]:
    """Labels (as text), pixels (float, checked 0..255 integers) and the pixel column names."""
    if not path.is_file():
        raise DataError(
            str(path),
            "file not found",
            "upload it there (project.input_data_uri) or fix project.data.train_file/test_file",
        )
    try:
        header = list(pd.read_csv(path, nrows=0).columns)
        frame = pd.read_csv(path, dtype={label: str}) if label in header else None
    except pd.errors.EmptyDataError:
        raise DataError(str(path), "the file is empty", "upload a CSV with a header row") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        what = f"not a readable CSV ({str(exc).strip()})"
        raise DataError(str(path), what, "check the delimiter and quoting") from None
    if frame is None:
        raise DataError(
            str(path),
            f"no label column {label!r} in the header (starts: {', '.join(header[:5])})",
            "name the label column in the CSV header or fix project.data.label",
        )
    if frame.empty:
        raise DataError(str(path), "no data rows after the header", "upload the data rows")
    pixel_columns = [c for c in frame.columns if c != label]
    side = math.isqrt(len(pixel_columns))
    if side == 0 or side * side != len(pixel_columns):
        raise DataError(
            str(path),
            f"{len(pixel_columns)} pixel columns is not a square image (side x side)",
            "give one column per pixel of a square image (784 for 28x28, 64 for 8x8) "
            "besides the label column",
        )
    for name in pixel_columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            continue
        parsed = pd.to_numeric(column, errors="coerce")
        bad = np.flatnonzero((column.notna() & parsed.isna()).to_numpy())
        if bad.size:
            raise DataError(
                f"{path}: column {name!r}, line {line_of(bad[0])}",
                f"pixel {column.iloc[bad[0]]!r} is not a number",
                "pixels must be integers 0..255; fix or remove the row",
            )
        frame[name] = parsed
    pixels = frame[pixel_columns].to_numpy(dtype=np.float64, na_value=np.nan)
    problems = np.isnan(pixels) | (pixels < 0) | (pixels > 255) | (pixels != np.round(pixels))
    if problems.any():
        row, col = (int(v) for v in np.argwhere(problems)[0])
        value = pixels[row, col]
        what = "missing pixel value" if np.isnan(value) else f"pixel {value:g} out of 0..255"
        if not np.isnan(value) and 0 <= value <= 255:
            what = f"pixel {value:g} is not a whole number"
        raise DataError(
            f"{path}: column {pixel_columns[col]!r}, line {line_of(row)}",
            f"{what} ({int(problems.any(axis=1).sum())} such row(s))",
            "pixels must be integers 0..255; fix or remove the row",
        )
    return frame[label], pixels, pixel_columns


def in_order_of(
    wanted: list[str], columns: list[str], pixels: np.ndarray, path: Path, reference: Path
) -> np.ndarray:
    """`pixels` (whose columns are `columns`) with its columns in the order of `wanted`: pixels
    are matched by column name, never by position (a reordered file is read right)."""
    if columns == wanted:
        return pixels
    missing = [name for name in wanted if name not in columns]
    if missing or len(set(columns)) != len(columns):
        raise DataError(
            str(path),
            f"its pixel columns are not those of {reference.name} (missing: "
            f"{', '.join(missing[:5]) or 'none'}; repeated: "
            f"{', '.join(sorted({c for c in columns if columns.count(c) > 1})[:5]) or 'none'})",
            "give both files the same pixel column names (e.g. 1x1 ... 28x28)",
        )
    return pixels[:, [columns.index(name) for name in wanted]]


def encode_labels(column: pd.Series, path: Path, label: str, classes: list[str]) -> np.ndarray:
    """Class index per row; a missing or unknown label is a data error."""
    values = column.to_numpy(dtype=object)
    missing = [i for i, value in enumerate(values) if pd.isna(value)]
    if missing:
        raise DataError(
            f"{path}: column {label!r}, line {line_of(missing[0])}",
            f"missing label ({len(missing)} row(s) without one)",
            "fill in the label or remove those rows",
        )
    index = {name: i for i, name in enumerate(classes)}
    texts = [str(value).strip() for value in values]
    unknown = [i for i, text in enumerate(texts) if text not in index]
    if unknown:
        bad = sorted({texts[i] for i in unknown})
        raise DataError(
            f"{path}: column {label!r}, line {line_of(unknown[0])}",
            f"unknown label(s) {', '.join(repr(b) for b in bad)} "
            f"(project.classes is {','.join(classes)})",
            "correct or remove those rows, or add the class to project.classes",
        )
    return np.array([index[text] for text in texts], dtype=np.int64)


def split_stratified(
    labels: np.ndarray, fraction: float, seed: int, path: Path, classes: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of (train, validation); every class gets at least one row in each.

    numpy-only (RandomState's stream is stable across versions), so the container's old
    scikit-learn and a newer local one give the same rows.
    """
    rng = np.random.RandomState(seed)
    train: list[np.ndarray] = []
    validation: list[np.ndarray] = []
    for index, name in enumerate(classes):
        rows = np.flatnonzero(labels == index)
        count = max(1, int(np.floor(len(rows) * fraction + 0.5)))
        if len(rows) - count < 1:
            raise DataError(
                str(path),
                f"class {name!r} has {len(rows)} row(s), too few to put at least one in each of "
                "train, validation",
                f"add rows of class {name!r} (at least 2) or remove it from project.classes",
            )
        rows = rng.permutation(rows)
        train.append(rows[count:])
        validation.append(rows[:count])
    # Shuffle within each split so neither is ordered by class.
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(validation))


def write_split(path: Path, labels: np.ndarray, pixels: np.ndarray) -> None:
    """CSV with header `label,p0,...`; label is the class index, features pixel / 255."""
    path.parent.mkdir(parents=True, exist_ok=True)
    names = [f"p{i}" for i in range(pixels.shape[1])]
    frame = pd.DataFrame(pixels / SCALE, columns=names)
    frame.insert(0, "label", labels.astype(np.int64))
    frame.to_csv(path, index=False)


def write_baseline(path: Path, labels: np.ndarray, pixels: np.ndarray, classes: list[str]) -> None:
    """One JSON object a line, as a request carries it: the raw 0..255 pixels, and the class."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ints = pixels.astype(np.int64).tolist()
    names = [classes[label] for label in labels.tolist()]
    with path.open("w", encoding="utf-8") as handle:
        for i, row in enumerate(ints):
            handle.write(json.dumps({"pixels": row, "ground_truth": names[i]}) + "\n")


def write_pixel_columns(path: Path, pixels: np.ndarray) -> None:
    """CSV with a header p0..pN, one image a row of 0..255 integers: the data-quality baseline's
    input, no bigger than the images' CSV, which both analyzers read ({"csv": {"header": true}})."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = ",".join(f"p{i}" for i in range(pixels.shape[1]))
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        np.savetxt(
            handle, pixels.astype(np.int64), fmt="%d", delimiter=",", header=header, comments=""
        )


def write_json(path: Path, value: Any) -> None:
    """Canonical JSON: sorted keys, 2-space indent, trailing newline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def run(args: argparse.Namespace) -> str:
    """Check and split the data, then write every output; returns the summary line."""
    base = Path(args.base_dir)
    train_path = base / "input" / args.train_file
    test_path = base / "input" / args.test_file
    train_labels_text, train_pixels, train_columns = read_images(train_path, args.label)
    test_labels_text, test_pixels, test_columns = read_images(test_path, args.label)
    if len(train_columns) != len(test_columns):
        raise DataError(
            str(test_path),
            f"{len(test_columns)} pixel columns, but {train_path.name} has {len(train_columns)}",
            "use images of the same size in both files",
        )
    test_pixels = in_order_of(train_columns, test_columns, test_pixels, test_path, train_path)
    train_labels = encode_labels(train_labels_text, train_path, args.label, args.classes)
    test_labels = encode_labels(test_labels_text, test_path, args.label, args.classes)
    train, validation = split_stratified(
        train_labels, args.validation, args.seed, train_path, args.classes
    )
    side = math.isqrt(len(train_columns))
    spec = {
        "kind": "image",
        "side": side,
        "scale": SCALE,
        "features": [f"p{i}" for i in range(side * side)],
    }

    # Every check has passed: only now touch the output directories.
    write_split(base / "train" / "train.csv", train_labels[train], train_pixels[train])
    write_split(
        base / "validation" / "validation.csv", train_labels[validation], train_pixels[validation]
    )
    write_split(base / "test" / "test.csv", test_labels, test_pixels)
    write_json(base / "artifacts" / "classes.json", list(args.classes))
    write_json(base / "artifacts" / "transformer.json", spec)
    write_baseline(
        base / "baseline" / "train.jsonl", train_labels[train], train_pixels[train], args.classes
    )
    write_baseline(base / "baseline" / "test.jsonl", test_labels, test_pixels, args.classes)
    # The data-quality baseline's input: the train images without labels, as flat pixel
    # columns p0..pN (0..255, the transformer's feature names), which the analyzers take.
    write_pixel_columns(base / "baseline" / "data-quality.csv", train_pixels[train])
    total = len(train_labels) + len(test_labels)
    return (
        f"{PROG}: {total} rows ({train_path.name} {len(train_labels)}, "
        f"{test_path.name} {len(test_labels)}) -> train {len(train)}, "
        f"validation {len(validation)}, test {len(test_labels)} "
        f"({len(args.classes)} classes, {side}x{side} pixels)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; bad data -> status 2 with a message, no traceback."""
    args = parse_args(argv)
    try:
        summary = run(args)
    except DataError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Preprocess images in the MNIST-in-CSV layout inside a SageMaker Processing job.

Runs in the scikit-learn processing container (1.9-0: Python 3.12, pandas 2.2.3; it keeps to what
1.2-1's Python 3.9 and pandas 1.1.3 also run, for bundles compiled before), uploaded as this one
file, so it depends on numpy, pandas and the standard library only. Reads
`<base_dir>/input/<train_file>` and `<test_file>` (a label column, then one 0..255 column per pixel,
row-major), takes a seeded, stratified validation split from the train file, keeps the test file as
the test split and writes the outputs named in components/README.md. The splits keep the raw 0..255
integer pixels, so they are no bigger than the input; every reader divides by transformer.json's
`scale`. The image side is sqrt(pixel columns), so 28x28 MNIST and 8x8 scikit-learn digits both
work.

Bad data exits with status 2 and a message naming the file, the column/line, the problem and the
fix; nothing is written unless every check passes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

PROG = "preprocess_image"
SCALE = 255.0  # transformer.json's: readers take features = pixel / scale
CHUNK_ROWS = 8192  # rows read, checked and written at a time: bounded memory at any size
FIX_PIXEL = "pixels must be integers 0..255; fix or remove the row"


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


def read_header(path: Path, label: str) -> list[str]:
    """The pixel column names of an MNIST-in-CSV file, checked: a label column, a square image."""
    if not path.is_file():
        raise DataError(
            str(path),
            "file not found",
            "upload it there (project.input_data_uri) or fix project.data.train_file/test_file",
        )
    try:
        header = [str(name) for name in pd.read_csv(path, nrows=0).columns]
    except pd.errors.EmptyDataError:
        raise DataError(str(path), "the file is empty", "upload a CSV with a header row") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise unreadable(path, exc) from None
    if label not in header:
        raise DataError(
            str(path),
            f"no label column {label!r} in the header (starts: {', '.join(header[:5])})",
            "name the label column in the CSV header or fix project.data.label",
        )
    pixel_columns = [c for c in header if c != label]
    side = math.isqrt(len(pixel_columns))
    if side == 0 or side * side != len(pixel_columns):
        raise DataError(
            str(path),
            f"{len(pixel_columns)} pixel columns is not a square image (side x side)",
            "give one column per pixel of a square image (784 for 28x28, 64 for 8x8) "
            "besides the label column",
        )
    return pixel_columns


def unreadable(path: Path, exc: Exception) -> DataError:
    what = f"not a readable CSV ({str(exc).strip()})"
    return DataError(str(path), what, "check the delimiter and quoting")


def read_images(path: Path, label: str) -> tuple[pd.Series, np.ndarray, list[str]]:
    """Labels (as text), pixels (uint8, checked 0..255 integers) and the pixel column names.

    Read in chunks as float32 (exact for every 0..255 integer, and it shows a fraction, a
    missing or an out-of-range value), kept as uint8: memory stays near the pixels' own size.
    """
    pixel_columns = read_header(path, label)
    dtypes: dict[str, Any] = {name: np.float32 for name in pixel_columns}
    labels: list[pd.Series] = []
    blocks: list[np.ndarray] = []
    problem: tuple[int, int, float] | None = None  # (row, column, value) of the first bad pixel
    bad_rows = 0
    try:
        chunks = pd.read_csv(path, dtype={**dtypes, label: str}, chunksize=CHUNK_ROWS)
        for number, chunk in enumerate(chunks):
            pixels = chunk[pixel_columns].to_numpy(dtype=np.float32)
            wrong = np.isnan(pixels) | (pixels < 0) | (pixels > 255) | (pixels != np.rint(pixels))
            if wrong.any():
                if problem is None:
                    row, col = (int(v) for v in np.argwhere(wrong)[0])
                    problem = (number * CHUNK_ROWS + row, col, float(pixels[row, col]))
                bad_rows += int(wrong.any(axis=1).sum())
            elif problem is None:
                blocks.append(pixels.astype(np.uint8))
                labels.append(chunk[label])
    except ValueError:  # text where a pixel should be: find it with a slower, exact read
        raise text_pixel(path, label, pixel_columns) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise unreadable(path, exc) from None
    if problem is not None:
        row, col, value = problem
        what = "missing pixel value" if np.isnan(value) else f"pixel {value:g} out of 0..255"
        if not np.isnan(value) and 0 <= value <= 255:
            what = f"pixel {value:g} is not a whole number"
        raise DataError(
            f"{path}: column {pixel_columns[col]!r}, line {line_of(row)}",
            f"{what} ({bad_rows} such row(s))",
            FIX_PIXEL,
        )
    if not blocks:
        raise DataError(str(path), "no data rows after the header", "upload the data rows")
    return pd.concat(labels, ignore_index=True), np.concatenate(blocks), pixel_columns


def text_pixel(path: Path, label: str, pixel_columns: list[str]) -> DataError:
    """The first pixel that is not a number, by column, then line."""
    frame = pd.read_csv(path, dtype=str, usecols=pixel_columns)
    for name in pixel_columns:
        column = frame[name]
        parsed = pd.to_numeric(column, errors="coerce")
        bad = np.flatnonzero((column.notna() & parsed.isna()).to_numpy())
        if bad.size:
            return DataError(
                f"{path}: column {name!r}, line {line_of(bad[0])}",
                f"pixel {column.iloc[bad[0]]!r} is not a number",
                FIX_PIXEL,
            )
    return DataError(str(path), "a pixel is not a number", FIX_PIXEL)


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


def csv_lines(table: np.ndarray) -> bytes:
    """Rows of small non-negative integers as CSV lines, built by numpy, not value by value: each
    value's text comes from a lookup table, right-aligned in a fixed width whose padding (NUL
    bytes) is then dropped."""
    width = len(str(int(table.max()))) + 1
    lookup = np.zeros((int(table.max()) + 1, width), dtype=np.uint8)
    for value in range(len(lookup)):
        text = f"{value},".encode("ascii")
        lookup[value, width - len(text) :] = np.frombuffer(text, dtype=np.uint8)
    cells = lookup[table]  # rows x columns x width
    cells[:, -1, -1] = ord("\n")  # the last value of a row ends the line, not a comma
    flat = cells.reshape(-1)
    return bytes(flat[flat != 0].tobytes())


def write_split(
    path: Path, labels: np.ndarray, pixels: np.ndarray, pixels_only: Path | None = None
) -> None:
    """CSV with header `label,p0,...`: the class index, then the raw 0..255 pixels (readers
    divide by transformer.json's scale), so the file is no bigger than the input's rows.

    With `pixels_only`, the same rows without the label go there too, header p0..pN: the
    data-quality baseline's input, which both analyzers read ({"csv": {"header": true}}). Both
    files come from one pass of csv_lines, CHUNK_ROWS rows at a time.
    """
    names = feature_names(pixels)
    prefixes = [f"{label},".encode("ascii") for label in range(int(labels.max(initial=0)) + 1)]
    with contextlib.ExitStack() as files:
        split = files.enter_context(created(path, ["label", *names]))
        only = files.enter_context(created(pixels_only, names)) if pixels_only else None
        for start in range(0, len(labels), CHUNK_ROWS):
            rows = slice(start, start + CHUNK_ROWS)
            text = csv_lines(pixels[rows])
            if only is not None:
                only.write(text)
            lines = text.split(b"\n")[:-1]
            heads = [prefixes[label] for label in labels[rows].tolist()]
            split.write(b"".join(heads[i] + line + b"\n" for i, line in enumerate(lines)))


def created(path: Path, header: list[str]) -> BinaryIO:
    """`path`, new, open for writing, its CSV header written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("wb")
    handle.write((",".join(header) + "\n").encode("ascii"))
    return handle


def feature_names(pixels: np.ndarray) -> list[str]:
    return [f"p{i}" for i in range(pixels.shape[1])]


def write_baseline(path: Path, labels: np.ndarray, pixels: np.ndarray, classes: list[str]) -> None:
    """One JSON object a line, as a request carries it: the raw 0..255 pixels, and the class;
    compact (no spaces), as the batch transform sends it. The pixel lists are csv_lines' text
    (a JSON list of integers is the same text inside brackets)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    endings = [f'],"ground_truth":{json.dumps(name)}}}\n'.encode() for name in classes]
    with path.open("wb") as handle:
        for start in range(0, len(labels), CHUNK_ROWS):
            rows = slice(start, start + CHUNK_ROWS)
            lines = csv_lines(pixels[rows]).split(b"\n")[:-1]
            ends = [endings[label] for label in labels[rows].tolist()]
            handle.write(b"".join(b'{"pixels":[' + line + ends[i] for i, line in enumerate(lines)))


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
    # The train images go to train.csv and, without labels, to the data-quality baseline's
    # input as flat pixel columns p0..pN (0..255, the transformer's feature names).
    write_split(
        base / "train" / "train.csv",
        train_labels[train],
        train_pixels[train],
        pixels_only=base / "baseline" / "data-quality.csv",
    )
    write_split(
        base / "validation" / "validation.csv", train_labels[validation], train_pixels[validation]
    )
    write_split(base / "test" / "test.csv", test_labels, test_pixels)
    write_json(base / "artifacts" / "classes.json", list(args.classes))
    write_json(base / "artifacts" / "transformer.json", spec)
    # No baseline/train.jsonl for images: nothing reads it, and at MNIST's size it would be as
    # big as the train file (the train images are train.csv and data-quality.csv already).
    write_baseline(base / "baseline" / "test.jsonl", test_labels, test_pixels, args.classes)
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

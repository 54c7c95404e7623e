"""Datasets as the analyzer reads them: JSON lines, a JSON document, CSV, data capture."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from components.quality_check.scripts.columns import BLOCK_ROWS
from components.quality_check.scripts.errors import InputError, Record
from jobkit.capture import CaptureError, json_lines

CAPTURE_FORMAT = "sagemakerCaptureJson"


def parse_format(text: str | None) -> tuple[str, bool]:
    """('json', lines), ('csv', header) or ('capture', True) from dataset_format."""
    if text is None:
        return "json", True
    fix = (
        '  fix: use {"json": {"lines": true}}, {"csv": {"header": true}} or '
        '{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}'
    )
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"setting dataset_format={text!r} is not JSON ({exc})\n{fix}") from None
    kinds = ("json", "csv", CAPTURE_FORMAT)
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in kinds:
        raise InputError(
            f"setting dataset_format={text!r}: expected one key, json, csv or {CAPTURE_FORMAT}\n"
            f"  why: this analyzer reads JSON (lines), CSV and data-capture datasets\n{fix}"
        )
    kind, options = next(iter(spec.items()))
    if kind == CAPTURE_FORMAT:
        return "capture", True
    option = "lines" if kind == "json" else "header"
    value = (options or {}).get(option, True) if isinstance(options, dict) else None
    if isinstance(value, str) and value.lower() in ("true", "false"):
        value = value.lower() == "true"
    if not isinstance(value, bool):
        raise InputError(
            f"setting dataset_format={text!r}: {kind}.{option} must be true/false\n{fix}"
        )
    return kind, value


def dataset_files(source: Path, setting: str = "dataset_source") -> list[Path]:
    if source.is_file():
        return [source]
    files = (
        sorted(
            path
            for path in source.rglob("*")
            if path.is_file()
            and not any(part.startswith(".") for part in path.relative_to(source).parts)
        )
        if source.is_dir()
        else []
    )
    if not files:
        raise InputError(
            f"setting {setting}={source}: no file there\n"
            f"  why: the data are read from that file or the files under that folder\n"
            f"  fix: point {setting} at the data (the job's input LocalPath)"
        )
    return files


class Dataset:
    """The records of a dataset's files, read afresh on each iteration (one record held at a
    time), so an analysis can read them twice. CSV files also come as blocks of text rows.

    Raises (when iterated):
        InputError: a file that is not in the dataset's format.
    """

    def __init__(self, files: list[Path], kind: str, option: bool) -> None:
        self.files, self.kind, self.option = files, kind, option

    def __iter__(self) -> Iterator[Record]:
        for path in self.files:
            if self.kind == "csv":
                for names, numbers, rows in read_csv_blocks(path, self.option):
                    for i, row in enumerate(rows):  # (zip(strict=) is Python 3.10)
                        cells = {names[j]: (c if c.strip() else None) for j, c in enumerate(row)}
                        yield f"{path}:{numbers[i]}", cells
            elif self.kind == "capture" or self.option:
                yield from read_json_lines(path)
            else:
                yield from read_json_document(path)

    def empty(self) -> InputError:
        return InputError(
            f"dataset {', '.join(str(f) for f in self.files)}: no records\n"
            f"  why: statistics need at least one record\n"
            f"  fix: check the dataset and dataset_format"
        )


def _record(where: str, value: Any) -> Record:
    if not isinstance(value, dict):
        raise InputError(
            f"{where}: a record must be a JSON object, not {type(value).__name__}\n"
            f'  fix: write one object per record, e.g. {{"feature": 1.5}}'
        )
    return where, value


def read_json_lines(path: Path) -> Iterator[Record]:
    try:
        for where, value in json_lines(path):
            yield _record(where, value)
    except CaptureError as error:
        raise InputError(
            f"{error.where}: {error.what}\n"
            f"  why: dataset_format says JSON lines, one object per line\n"
            f"  fix: fix the line, or set dataset_format to the data's real format"
        ) from None


def read_json_document(path: Path) -> Iterator[Record]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: not a JSON document ({exc})\n"
            f'  fix: for one object per line set dataset_format to {{"json": {{"lines": true}}}}'
        ) from None
    for index, item in enumerate(value if isinstance(value, list) else [value]):
        yield _record(f"{path}[{index}]", item)


def read_csv_blocks(
    path: Path, header: bool
) -> Iterator[tuple[list[str], list[int], list[list[str]]]]:
    """(column names, row numbers, rows of text) in blocks of up to BLOCK_ROWS rows."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = enumerate(csv.reader(handle), 1)
        yield from _text_blocks(path, rows, None if header else [])


def read_csv_columns(
    path: Path, header: bool
) -> Iterator[tuple[list[str], np.ndarray | list[list[str]]]]:
    """(column names, block) in blocks of up to BLOCK_ROWS rows, for the one-pass profile.

    While every cell is an unsigned integer (pixels, counts), a block comes parsed at once by
    numpy's C reader, as float64 rows (about 20 times faster than the csv module at MNIST's
    size); from the first block that is not, the rest of the file comes as rows of text (the
    csv module: quotes, empty cells, errors with their line). The numbers are the ones the text
    gives, so the profile is the same either way."""
    with path.open("rb") as handle:
        first = handle.readline()
        if not first.strip() or b'"' in first:  # a quoted or blank first line: all as text
            yield from ((names, rows) for names, _, rows in read_csv_blocks(path, header))
            return
        names = next(csv.reader([first.decode("utf-8")]))
        if not header:
            names = [f"_c{i}" for i in range(len(names))]
        carried = [] if header else [first]  # lines read before the block's start
        number = 1 if header else 0  # line number of the last line before the block
        while True:
            start = handle.tell()
            lines = carried + list(itertools.islice(handle, BLOCK_ROWS - len(carried)))
            if not lines:
                return
            block = unsigned_integers(lines, len(names))
            if block is None:  # from here on the csv module reads, quotes and all
                handle.seek(start)
                text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
                rest = csv.reader(itertools.chain((c.decode("utf-8") for c in carried), text))
                numbered = enumerate(rest, number + 1)
                yield from ((n, rows) for n, _, rows in _text_blocks(path, numbered, names))
                return
            carried = []
            number += len(lines)
            yield names, block


UNSIGNED_TEXT = b"0123456789,\n"


def unsigned_integers(lines: list[bytes], width: int) -> np.ndarray | None:
    """Lines of `width` unsigned integers each, no cell empty, as float64 rows; else None."""
    text = b"".join(lines)
    if (
        text.translate(None, UNSIGNED_TEXT)
        or text.startswith(b",")
        or any(pair in text for pair in (b",,", b",\n", b"\n,", b"\n\n"))
        or text.rstrip(b"\n").endswith(b",")
    ):
        return None
    try:
        values = np.loadtxt(io.BytesIO(text), delimiter=",", dtype=np.int64, ndmin=2)
    except (ValueError, OverflowError):  # a row of another width, a number past int64
        return None
    return values.astype(float) if values.shape[1] == width else None


def _text_blocks(
    path: Path,
    rows: Iterable[tuple[int, list[str]]],
    names: list[str] | None,
) -> Iterator[tuple[list[str], list[int], list[list[str]]]]:
    """Numbered CSV rows in blocks of up to BLOCK_ROWS, each checked against the column names:
    `names`, or the first row's (None), or `_c0`, `_c1`, ... after the first row's width ([])."""
    numbers: list[int] = []
    block: list[list[str]] = []
    for number, row in rows:
        if not row:
            continue
        if names is None:  # the header row
            names = row
            continue
        if not names:  # no header: as many columns as the first row has
            names = [f"_c{i}" for i in range(len(row))]
        if len(row) != len(names):
            raise InputError(
                f"{path}:{number}: {len(row)} fields, the header has {len(names)}\n"
                f"  fix: give every row one field per column (empty for missing)"
            )
        numbers.append(number)
        block.append(row)
        if len(block) == BLOCK_ROWS:
            yield names, numbers, block
            numbers, block = [], []
    if block and names is not None:
        yield names, numbers, block

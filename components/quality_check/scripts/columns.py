"""A dataset's features read in one pass and bounded memory: each feature's counts by type,
its numbers' moments and KLL sketch (sketch.py), its text values counted.

Records come one by one (JSON values) or as blocks of CSV text; runs of records that hold only
numbers (or nulls) under the same keys, and CSV columns that hold only number text, are read a
block at a time with numpy. The result depends on the values alone, not on how they came.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

import numpy as np

from components.quality_check.scripts.errors import InputError, Record
from components.quality_check.scripts.sketch import KLL_K, KllSketch, Moments

BLOCK_ROWS = 1024  # records (or CSV rows) read as one numpy block
INTEGRAL_RE = re.compile(r"^[+-]?\d+$")
FRACTIONAL_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
MISSING = "missing"


def flatten(where: str, record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects become dotted names; lists are refused (Model Monitor takes flat data)."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(where, value, f"{name}."))
        elif isinstance(value, list):
            raise InputError(
                f"{where}: feature {name!r} holds a list of {len(value)} items\n"
                f"  why: data-quality analysis takes flat records (numbers, strings, null) or "
                f"nested objects, as Model Monitor does\n"
                f"  fix: write one feature per item (e.g. {name}_0, {name}_1, ...) first"
            )
        else:
            flat[name] = value
    return flat


def classify(value: Any) -> tuple[str, Any]:
    """(kind, value): kind is Integral, Fractional, String or missing, as Deequ infers types."""
    if value is None:
        return MISSING, None
    if isinstance(value, bool):
        return "String", "true" if value else "false"
    if isinstance(value, int):
        return "Integral", float(value)
    if isinstance(value, float):
        return ("Fractional", value) if math.isfinite(value) else (MISSING, None)
    text = str(value).strip()
    if not text:
        return MISSING, None
    kind = (
        "Integral" if INTEGRAL_RE.match(text) else "Fractional" if FRACTIONAL_RE.match(text) else ""
    )
    if not kind:
        return "String", text
    number = float(text)
    return (kind, number) if math.isfinite(number) else (MISSING, None)


def text_of(value: Any) -> str:
    """The string a value is counted as in string statistics."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


class Column:
    """What one feature holds across the dataset, in bounded memory.

    Numbers go to the moments and the KLL sketch in blocks of KLL_K values (the values waiting
    for a block are all that is held); text values are counted. The text forms of the numbers are
    counted only on request (`count_texts`, a second reading), when a feature turns out String or
    a domain check needs them.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.kinds: dict[str, int] = {"Integral": 0, "Fractional": 0, "String": 0}
        self.moments = Moments()
        self.sketch = KllSketch()
        self.waiting: list[np.ndarray] = []  # numbers not yet in a full block, in order
        self.loose: list[float] = []  # numbers added one at a time, not yet in `waiting`
        self.texts: dict[str, int] = {}  # text values (every value's text after count_texts)

    def add(self, value: Any) -> None:
        """One value as read (JSON value or CSV text)."""
        kind, parsed = classify(value)
        if kind == MISSING:
            return
        self.kinds[kind] += 1
        if kind == "String":
            self.texts[parsed] = self.texts.get(parsed, 0) + 1
        else:
            self.loose.append(parsed)
            if len(self.loose) >= KLL_K:
                self._gather()

    def add_numbers(self, values: np.ndarray, integral: int) -> None:
        """Finite numbers read in a block, `integral` of them Integral, the rest Fractional."""
        self.kinds["Integral"] += integral
        self.kinds["Fractional"] += len(values) - integral
        self._gather()
        self.waiting.append(values)
        if sum(len(v) for v in self.waiting) >= KLL_K:
            self._feed(final=False)

    def _gather(self) -> None:
        if self.loose:
            self.waiting.append(np.asarray(self.loose, dtype=float))
            self.loose = []
            self._feed(final=False)

    def _feed(self, final: bool) -> None:
        """Full blocks of waiting numbers into the moments and the sketch (all when final)."""
        values = np.concatenate(self.waiting) if self.waiting else np.empty(0)
        whole = len(values) if final else len(values) - len(values) % KLL_K
        for start in range(0, whole, KLL_K):
            block = values[start : start + KLL_K]
            self.moments.update(block)
            self.sketch.update(block)
        self.waiting = [values[whole:]] if whole < len(values) else []

    def finish(self) -> None:
        self._gather()
        self._feed(final=True)

    def count_texts(self, value: Any) -> None:
        """Second reading: count the text of a present value (numbers included)."""
        if classify(value)[0] != MISSING:
            text = text_of(value)
            self.texts[text] = self.texts.get(text, 0) + 1

    @property
    def numbers(self) -> int:
        return self.kinds["Integral"] + self.kinds["Fractional"]

    @property
    def present(self) -> int:
        return self.numbers + self.kinds["String"]

    @property
    def inferred_type(self) -> str:
        """String if any value is text, else Fractional if any has a fraction, else Integral.

        A feature with no value at all is reported as String (Model Monitor's statistics have no
        type for it).
        """
        if self.kinds["String"] or not self.present:
            return "String"
        return "Fractional" if self.kinds["Fractional"] else "Integral"


class Profile:
    """The dataset's columns in the order their features first appear, and its item count."""

    def __init__(self) -> None:
        self.columns: dict[str, Column] = {}
        self.item_count = 0

    def column(self, name: str) -> Column:
        found = self.columns.get(name)
        if found is None:
            found = self.columns[name] = Column(name)
        return found

    def add_record(self, where: str, record: dict[str, Any]) -> None:
        for name, value in flatten(where, record).items():
            self.column(name).add(value)
        self.item_count += 1

    def add_block(self, names: list[str], values: np.ndarray, integral: np.ndarray) -> None:
        """Rows of numbers (NaN where missing); `integral` marks the Integral values."""
        finite = np.isfinite(values)
        for j, name in enumerate(names):
            present = finite[:, j]
            self.column(name).add_numbers(values[present, j], int(integral[present, j].sum()))
        self.item_count += len(values)

    def finish(self) -> list[Column]:
        for column in self.columns.values():
            column.finish()
        return list(self.columns.values())


NUMBER_ROW_TYPES = ({float, type(None)}, {int, type(None)})  # a record read as a numpy row


def profile_records(profile: Profile, records: Iterable[Record]) -> None:
    """Records into the profile: runs of number-only records with the same keys as blocks."""
    keys: tuple[str, ...] = ()
    rows: list[list[Any]] = []
    integral: list[bool] = []
    wheres: list[Record] = []

    def flush() -> None:
        if rows:
            try:
                values = np.array(rows, dtype=float)  # None -> NaN: missing
            except (OverflowError, ValueError):  # an integer too large for a float
                for where, record in wheres:
                    profile.add_record(where, record)
            else:
                marks = np.repeat(np.array(integral)[:, None], len(keys), axis=1)
                profile.add_block(list(keys), values, marks)
        rows.clear()
        integral.clear()
        wheres.clear()

    for where, record in records:
        types = set(map(type, record.values()))
        if record and any(types <= allowed for allowed in NUMBER_ROW_TYPES):
            if tuple(record) != keys or len(rows) == BLOCK_ROWS:
                flush()
                keys = tuple(record)
            rows.append(list(record.values()))
            integral.append(int in types)
            wheres.append((where, record))
        else:
            flush()
            profile.add_record(where, record)
    flush()


NUMBER_CHARS = np.zeros(128, dtype=bool)
NUMBER_CHARS[[ord(c) for c in "0123456789+-.eE"]] = True
NUMBER_CHARS[0] = True  # numpy pads shorter strings with NUL


def profile_text_rows(profile: Profile, names: list[str], rows: list[list[str]]) -> None:
    """CSV rows (text) into the profile: columns of number text parsed by numpy at once, the
    others value by value; empty cells are missing."""
    cells = np.array(rows, dtype=str).reshape(len(rows), len(names))
    codes = cells.view(np.uint32).reshape(*cells.shape, -1)
    empty = codes[:, :, 0] == 0
    plain = np.asarray(((codes < 128) & NUMBER_CHARS[np.minimum(codes, 127)]).all(axis=(0, 2)))
    digits = np.asarray(((codes == 0) | ((codes >= 48) & (codes <= 57))).all(axis=(0, 2)))
    values: dict[int, tuple[np.ndarray, int]] = {}  # column: (present numbers, Integral ones)
    if digits.any() and codes.shape[2] <= 15:  # unsigned integers, exact in int64 and float64
        values.update(_integers(codes[:, digits], empty[:, digits], np.flatnonzero(digits)))
    for j in np.flatnonzero(plain & ~digits).tolist():
        try:
            numbers = np.where(empty[:, j], "0", cells[:, j]).astype(float)
        except ValueError:  # number characters, but not a number (e.g. 1-2)
            continue
        if np.isfinite(numbers).all():
            text = codes[:, j]
            marked = ((text == ord(".")) | (text == ord("e")) | (text == ord("E"))).any(axis=1)
            present = ~empty[:, j]
            values[j] = numbers[present], int((present & ~marked).sum())
    for j, name in enumerate(names):
        column = profile.column(name)
        if j in values:
            column.add_numbers(*values[j])
            continue
        for value in cells[:, j].tolist():
            column.add(value if value.strip() else None)
    profile.item_count += len(rows)


def _integers(
    codes: np.ndarray, empty: np.ndarray, columns: np.ndarray
) -> dict[int, tuple[np.ndarray, int]]:
    """Columns of digit text (code points, NUL-padded) as numbers, by place value."""
    lengths = (codes != 0).sum(axis=2)
    power = lengths[:, :, None] - 1 - np.arange(codes.shape[2])
    place = np.where(power >= 0, 10 ** np.maximum(power, 0), 0)
    numbers = ((codes.astype(np.int64) - 48) * place).sum(axis=2).astype(float)
    found = {}
    for i, j in enumerate(columns.tolist()):
        present = ~empty[:, i]
        found[j] = numbers[present, i], int(present.sum())
    return found


def count_texts(columns: list[Column], records: Iterable[Record]) -> None:
    """A second reading: every present value's text, for the columns that need it."""
    for column in columns:
        column.texts = {}
    for where, record in records:
        flat = flatten(where, record)
        for column in columns:
            column.count_texts(flat.get(column.name))

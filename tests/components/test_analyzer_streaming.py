"""The analyzer reads its dataset as a stream: summaries that merge, blocks read by numpy that
count exactly as values read one by one, and the KLL sketch within its error bound."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from components.quality_check.scripts import data_quality, reading
from components.quality_check.scripts.errors import InputError
from components.quality_check.scripts.reading import Dataset
from components.quality_check.scripts.sketch import KLL_K, KllSketch, Moments
from tests.components.runner import REPO, run_script

ANALYZER = REPO / "components/quality_check/scripts/analyzer.py"
KLL_RANK_ERROR = 0.005  # README: about 0.2% at k 2048; checked with room to spare


def rank_error(sketch: KllSketch, values: np.ndarray) -> float:
    """The largest difference between the sketch's and the data's cumulative distributions."""
    items, weights = sketch.weighted_items()
    order = np.argsort(items, kind="stable")
    items, weights = items[order], weights[order]
    points = np.unique(values)
    estimated = np.concatenate([[0.0], np.cumsum(weights)])[
        np.searchsorted(items, points, side="right")
    ]
    exact = np.searchsorted(np.sort(values), points, side="right")
    return float(np.max(np.abs(estimated - exact)) / len(values))


def sketch_of(values: np.ndarray) -> KllSketch:
    sketch = KllSketch()
    for start in range(0, len(values), KLL_K):
        sketch.update(values[start : start + KLL_K])
    return sketch


@pytest.mark.parametrize(
    "draw",
    [
        pytest.param(lambda rng, n: rng.normal(size=n), id="normal"),
        pytest.param(lambda rng, n: rng.integers(0, 256, size=n).astype(float), id="pixels"),
        pytest.param(lambda rng, n: np.sort(rng.exponential(size=n)), id="sorted"),
    ],
)
def test_kll_sketch_stays_within_its_rank_error_bounded_and_repeatable(draw: Any) -> None:
    values = draw(np.random.default_rng(3), 300_000)
    sketch = sketch_of(values)
    assert sketch.count == len(values)  # compaction keeps the total weight
    assert sum(len(level) for level in sketch.levels) < KLL_K / (1 - sketch.c) + 8 * 20
    assert rank_error(sketch, values) < KLL_RANK_ERROR
    assert sketch_of(values).data() == sketch.data()  # seeded: the same run gives the same bytes


def test_kll_sketches_merge_into_one_of_both_halves() -> None:
    rng = np.random.default_rng(5)
    first, second = rng.normal(size=120_000), rng.normal(1.0, 2.0, size=80_000)
    merged = sketch_of(first)
    merged.merge(sketch_of(second))
    both = np.concatenate([first, second])
    assert merged.count == len(both)
    assert rank_error(merged, both) < KLL_RANK_ERROR


def test_kll_sketch_below_k_values_is_the_sorted_data() -> None:
    values = np.random.default_rng(0).normal(size=KLL_K)
    assert sketch_of(values).data() == [sorted(values.tolist())]


def test_moments_merged_block_by_block_match_numpy() -> None:
    values = np.random.default_rng(2).normal(1e6, 3.0, size=50_001)  # a mean far from zero
    moments = Moments()
    for start in range(0, len(values), KLL_K):
        moments.update(values[start : start + KLL_K])
    assert moments.count == len(values)
    assert moments.total == pytest.approx(values.sum(), rel=1e-12)
    assert moments.mean == pytest.approx(values.mean(), rel=1e-12)
    assert moments.std_dev == pytest.approx(values.std(), rel=1e-9)
    assert (moments.low, moments.high) == (values.min(), values.max())


CELLS: dict[
    str, Callable[[int], str]
] = {  # CSV text per column: numpy's block path must type them as the per-value path does
    "ints": lambda i: str(i % 7 - 3),
    "floats": lambda i: f"{i * 0.25:.2f}" if i % 5 else "",
    "exponents": lambda i: f"{i}e-3" if i % 2 else f"+{i}",
    "mixed": lambda i: "n/a" if i % 97 == 0 else str(i),  # text among numbers: String
    "not_numbers": lambda i: ["nan", "inf", "1-2", " 7", "1_0"][i % 5],
    "empty": lambda i: "",
}


def write_csv(path: Path, rows: int) -> Path:
    lines = [",".join(CELLS)] + [",".join(cell(i) for cell in CELLS.values()) for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_csv_blocks_read_by_numpy_count_as_values_read_one_by_one(tmp_path: Path) -> None:
    """The same text, as CSV blocks (numpy) and as JSON records of strings (value by value)."""
    path = write_csv(tmp_path / "data.csv", 5_000)
    _, from_blocks, suggested = data_quality.data_quality(Dataset([path], "csv", True))
    records = [
        (f"r{i}", {name: cell(i) or None for name, cell in CELLS.items()}) for i in range(5_000)
    ]
    _, from_values, _ = data_quality.data_quality(records)
    assert json.dumps(from_blocks) == json.dumps(from_values)
    found = {f["name"]: f for f in from_blocks["features"]}
    assert [found[n]["inferred_type"] for n in CELLS] == [
        "Integral",
        "Fractional",
        "Fractional",
        "String",
        "String",
        "String",
    ]
    # "mixed" is String: its numbers were counted as text in a second reading
    mixed = found["mixed"]["string_statistics"]
    assert mixed["distinct_count"] == len({CELLS["mixed"](i) for i in range(5_000)}) == 4_949
    assert sum(b["count"] for b in mixed["distribution"]["categorical"]["buckets"]) == 5_000
    assert {f["name"]: f["completeness"] for f in suggested["features"]}["floats"] == 0.8


@pytest.mark.parametrize("header", [True, False], ids=["header", "no-header"])
@pytest.mark.parametrize(
    "later",
    [
        pytest.param(lambda i, row: row if i % 9 else ["", *row[1:]], id="empty-cells"),
        pytest.param(lambda i, row: [*row[:2], "-4" if i % 5 else "7.5"], id="signs-fractions"),
        pytest.param(lambda i, row: ['"1,5"', *row[1:]] if i == 1500 else row, id="quoted"),
    ],
)
def test_unsigned_integer_blocks_read_at_once_count_as_text_read_row_by_row(
    tmp_path: Path, header: bool, later: Callable[[int, list[str]], list[str]]
) -> None:
    """Pixel-like blocks go through numpy's reader until a block holds anything else; from there
    the csv module reads: the profile is the one of the same values read one by one."""
    rng = np.random.default_rng(3)
    rows = [[str(v) for v in values] for values in rng.integers(0, 256, size=(2_600, 3))]
    rows = [later(i, row) if i >= 1_100 else row for i, row in enumerate(rows)]
    path = tmp_path / "pixels.csv"
    names = ["p0", "p1", "p2"] if header else ["_c0", "_c1", "_c2"]
    lines = ([",".join(names)] if header else []) + [",".join(row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    blocks = list(reading.read_csv_columns(path, header))
    assert isinstance(blocks[0][1], np.ndarray) and isinstance(blocks[-1][1], list)
    assert all(found == names for found, _ in blocks)
    _, from_file, _ = data_quality.data_quality(Dataset([path], "csv", header))
    text = [next(csv.reader([line])) for line in lines[1 if header else 0 :]]
    records = [(f"r{i}", dict(zip(names, row, strict=True))) for i, row in enumerate(text)]
    _, one_by_one, _ = data_quality.data_quality(
        [(w, {k: v or None for k, v in r.items()}) for w, r in records]
    )
    assert json.dumps(from_file) == json.dumps(one_by_one)


def test_a_short_row_after_blocks_read_at_once_is_refused_with_its_line(tmp_path: Path) -> None:
    lines = ["a,b"] + [f"{i},{i + 1}" for i in range(1_500)]
    lines[1_400] = "7"  # line 1401 of the file
    path = tmp_path / "short.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"short.csv:1401: 1 fields, the header has 2"):
        data_quality.data_quality(Dataset([path], "csv", True))


def test_records_of_numbers_read_as_blocks_count_as_values_read_one_by_one() -> None:
    rng = np.random.default_rng(4)
    numbers = [
        ("r", {"a": float(a), "b": int(b), "c": None if i % 3 else float(a)})
        for i, (a, b) in enumerate(
            zip(rng.normal(size=6_000), rng.integers(0, 9, 6_000), strict=True)
        )
    ]
    # a bool (a String) in every record sends each one down the value-by-value path
    one_by_one = [(w, {**r, "flag": True}) for w, r in numbers]
    _, blocks, _ = data_quality.data_quality(numbers)
    _, values, _ = data_quality.data_quality(one_by_one)
    assert blocks["features"] == values["features"][:3]
    assert [f["inferred_type"] for f in blocks["features"]] == [
        "Fractional",
        "Integral",
        "Fractional",
    ]


def test_large_csv_statistics_match_numpy_and_repeat_byte_for_byte(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    pixels = rng.integers(0, 256, size=(30_000, 12)) * (rng.random((30_000, 12)) < 0.4)
    path = tmp_path / "pixels.csv"
    header = ",".join(f"p{i}" for i in range(12))
    np.savetxt(path, pixels, fmt="%d", delimiter=",", header=header, comments="")
    outputs = []
    for run in ("first", "second"):
        out = tmp_path / run
        env = {"dataset_source": str(path), "output_path": str(out)}
        run_script(ANALYZER, env={**env, "dataset_format": '{"csv": {"header": true}}'})
        outputs.append((out / "statistics.json").read_bytes())
    assert outputs[0] == outputs[1]
    statistics = json.loads(outputs[0])
    for j, feature in enumerate(statistics["features"]):
        column = pixels[:, j].astype(float)
        stats = feature["numerical_statistics"]
        assert feature["inferred_type"] == "Integral"
        assert stats["mean"] == pytest.approx(column.mean(), rel=1e-12)
        assert stats["std_dev"] == pytest.approx(column.std(), rel=1e-9)
        assert (stats["min"], stats["max"]) == (column.min(), column.max())
        counts = [b["count"] for b in stats["distribution"]["kll"]["buckets"]]
        exact, _ = np.histogram(column, bins=10, range=(column.min(), column.max()))
        assert sum(counts) == len(column)
        assert np.max(np.abs(np.array(counts) - exact)) <= KLL_RANK_ERROR * 2 * len(column)


@pytest.mark.parametrize(
    ("pixels", "record"),
    [
        pytest.param([0, 16, 255], {"p0": 0, "p1": 16, "p2": 255}, id="ints"),
        pytest.param([0.0, 16.5, "7"], {"p0": 0, "p1": 16.5, "p2": 7}, id="mixed"),
        pytest.param([[0, 1], [2, True]], {"p0": 0, "p1": 1, "p2": 2, "p3": None}, id="rows"),
    ],
)
def test_image_requests_become_pixel_columns(pixels: list[Any], record: dict[str, Any]) -> None:
    """Whole-int requests take the fast path; any other value is typed one by one."""
    from jobkit.capture import flat_pixels

    found = flat_pixels({"pixels": pixels})
    assert found == record
    assert found is not None and [type(v) for v in found.values()] == [
        type(v) for v in record.values()
    ]

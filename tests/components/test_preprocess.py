"""The preprocess scripts, run as SageMaker runs them (a separate process) on real data."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.components.fixtures_data import (
    DIGITS_ARGS,
    DIGITS_CLASSES,
    IMAGE_SCRIPT,
    PENGUINS_ARGS,
    PENGUINS_CLASSES,
    PENGUINS_NUMERIC,
    TABULAR_SCRIPT,
    penguins_train_records,
)
from tests.components.runner import REPO, load_module, run_script

OUTPUTS = [
    "train/train.csv",
    "validation/validation.csv",
    "test/test.csv",
    "artifacts/classes.json",
    "artifacts/transformer.json",
    "baseline/test.jsonl",
]
SPLITS = ["train", "validation", "test"]


def read_split(base_dir: Path, name: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(header, labels, features) of one split CSV."""
    frame = pd.read_csv(base_dir / name / f"{name}.csv")
    return list(frame.columns), frame["label"].to_numpy(), frame.iloc[:, 1:].to_numpy(float)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def apply_tabular(spec: dict[str, Any], records: list[dict[str, Any]]) -> np.ndarray:
    """transformer.json applied with numpy alone, as the contract says inference does."""
    columns = []
    for item in spec["numeric"]:
        raw = np.array([np.nan if r[item["name"]] is None else r[item["name"]] for r in records])
        columns.append((np.where(np.isnan(raw), item["fill"], raw) - item["mean"]) / item["scale"])
    for item in spec["categorical"]:
        values = [item["fill"] if r[item["name"]] is None else r[item["name"]] for r in records]
        columns.extend(np.array([float(v == c) for v in values]) for c in item["categories"])
    return np.column_stack(columns)


def rerun(raw_dir: Path, base_dir: Path, script: str, *args: str) -> str:
    """Run a preprocess script on a copy of `raw_dir`; returns its stdout."""
    shutil.copytree(raw_dir, base_dir / "input")
    return run_script(script, "--base_dir", str(base_dir), *args).stdout


# --- penguins ---------------------------------------------------------------------------------


def test_penguins_no_row_lost(penguins_processed: Path) -> None:
    raw = pd.read_csv(penguins_processed / "input" / "penguins.csv")
    per_class: Counter[str] = Counter()
    for name in SPLITS:
        _, labels, _ = read_split(penguins_processed, name)
        per_class.update(PENGUINS_CLASSES[i] for i in labels)
    assert sum(per_class.values()) == len(raw) == 344
    assert per_class == Counter(raw["species"])


def test_penguins_splits_stratified_and_proportioned(penguins_processed: Path) -> None:
    raw = pd.read_csv(penguins_processed / "input" / "penguins.csv")
    sizes = {}
    for name in SPLITS:
        _, labels, _ = read_split(penguins_processed, name)
        sizes[name] = len(labels)
        counts = Counter(labels.tolist())
        assert sorted(counts) == [0, 1, 2], f"{name} lacks a class: {counts}"
        for index, cls in enumerate(PENGUINS_CLASSES):
            share = counts[index] / len(labels)
            expected = (raw["species"] == cls).mean()
            assert share == pytest.approx(expected, abs=0.03), (name, cls)
    assert sizes["validation"] / len(raw) == pytest.approx(0.15, abs=0.01)
    assert sizes["test"] / len(raw) == pytest.approx(0.15, abs=0.01)


def test_penguins_artifacts(penguins_processed: Path) -> None:
    assert read_json(penguins_processed / "artifacts" / "classes.json") == PENGUINS_CLASSES
    spec = read_json(penguins_processed / "artifacts" / "transformer.json")
    assert spec["kind"] == "tabular"
    assert [item["name"] for item in spec["numeric"]] == PENGUINS_NUMERIC
    assert spec["categorical"] == [
        {"name": "island", "fill": "Biscoe", "categories": ["Biscoe", "Dream", "Torgersen"]}
    ]
    assert spec["features"] == [
        *PENGUINS_NUMERIC,
        "island_Biscoe",
        "island_Dream",
        "island_Torgersen",
    ]
    for name in SPLITS:
        header, _, _ = read_split(penguins_processed, name)
        assert header == ["label", *spec["features"]]


def test_penguins_transformer_fitted_on_train_only(penguins_processed: Path) -> None:
    spec = read_json(penguins_processed / "artifacts" / "transformer.json")
    train = penguins_train_records(penguins_processed)
    for item in spec["numeric"]:
        raw = np.array([np.nan if r[item["name"]] is None else r[item["name"]] for r in train])
        filled = np.where(np.isnan(raw), np.nanmedian(raw), raw)
        assert item["fill"] == pytest.approx(np.nanmedian(raw))
        assert item["mean"] == pytest.approx(filled.mean())
        assert item["scale"] == pytest.approx(filled.std())
    _, _, features = read_split(penguins_processed, "train")
    numeric = features[:, : len(PENGUINS_NUMERIC)]
    # The CSV holds float32 values (what training computes in): scaled to within float32's error.
    np.testing.assert_allclose(numeric.mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(numeric.std(axis=0), 1.0, atol=1e-6)


@pytest.mark.parametrize("split", ["train", "test"], ids=["train", "test"])
def test_penguins_transformer_reproduces_csv(penguins_processed: Path, split: str) -> None:
    """The split's raw records (train: data-quality.csv; test: test.jsonl, with the label)
    transformed by transformer.json give the split's CSV, row by row."""
    spec = read_json(penguins_processed / "artifacts" / "transformer.json")
    _, labels, features = read_split(penguins_processed, split)
    if split == "train":
        records = penguins_train_records(penguins_processed)
        keys = ("island", *PENGUINS_NUMERIC)
    else:
        records = read_jsonl(penguins_processed / "baseline" / "test.jsonl")
        assert [r["ground_truth"] for r in records] == [PENGUINS_CLASSES[i] for i in labels]
        keys = ("island", *PENGUINS_NUMERIC, "ground_truth")
    assert len(records) == len(labels)
    assert {tuple(r) for r in records} == {keys}, (
        "record keys: the CSV's feature columns in file order (then ground_truth)"
    )
    # Each CSV value is the float32 of what serving computes in float64, read back exactly.
    np.testing.assert_array_equal(
        features.astype(np.float32), apply_tabular(spec, records).astype(np.float32)
    )
    # ...written in 9 significant digits: no more text than that exactness needs.
    with (penguins_processed / split / f"{split}.csv").open(newline="") as handle:
        cells = [cell for row in list(csv.reader(handle))[1:] for cell in row[1:]]
    assert cells == [f"{np.float32(float(cell)):.9g}" for cell in cells]


def test_penguins_train_records_keep_missing_as_empty(penguins_processed: Path) -> None:
    records = penguins_train_records(penguins_processed)
    # Line 5 of penguins.csv (Adelie, Torgersen, no measurements) lands in train with seed 42.
    blank = {name: None for name in PENGUINS_NUMERIC}
    assert {"island": "Torgersen", **blank} in records
    # No step reads the train records with their labels: preprocess writes no train.jsonl.
    assert sorted(p.name for p in (penguins_processed / "baseline").iterdir()) == [
        "data-quality.csv",
        "test.jsonl",
    ]
    for record in records:
        assert isinstance(record["island"], str)
        for name in PENGUINS_NUMERIC:
            assert record[name] is None or isinstance(record[name], float)


# --- digits -----------------------------------------------------------------------------------


def test_digits_no_row_lost(digits_processed: Path) -> None:
    raw_train = pd.read_csv(digits_processed / "input" / "mnist_train.csv")
    raw_test = pd.read_csv(digits_processed / "input" / "mnist_test.csv")
    _, train, _ = read_split(digits_processed, "train")
    _, validation, _ = read_split(digits_processed, "validation")
    _, test, _ = read_split(digits_processed, "test")
    assert len(train) + len(validation) == len(raw_train)
    assert Counter(train.tolist()) + Counter(validation.tolist()) == Counter(
        raw_train["label"].tolist()
    )
    # The test file is kept as the test split, rows in file order.
    assert test.tolist() == raw_test["label"].tolist()


def test_digits_splits_stratified_and_proportioned(digits_processed: Path) -> None:
    _, train, _ = read_split(digits_processed, "train")
    _, validation, _ = read_split(digits_processed, "validation")
    _, test, _ = read_split(digits_processed, "test")
    for name, labels in (("train", train), ("validation", validation), ("test", test)):
        assert sorted(set(labels.tolist())) == list(range(10)), name
    assert len(validation) / (len(train) + len(validation)) == pytest.approx(0.2, abs=0.01)
    for digit in range(10):
        share = (validation == digit).sum() / ((train == digit).sum() + (validation == digit).sum())
        assert share == pytest.approx(0.2, abs=0.03), digit


def test_digits_artifacts(digits_processed: Path) -> None:
    assert read_json(digits_processed / "artifacts" / "classes.json") == DIGITS_CLASSES
    spec = read_json(digits_processed / "artifacts" / "transformer.json")
    assert spec == {
        "kind": "image",
        "side": 8,
        "scale": 255.0,
        "features": [f"p{i}" for i in range(64)],
    }
    for name in SPLITS:
        header, _, _ = read_split(digits_processed, name)
        assert header == ["label", *spec["features"]]


def test_digits_splits_keep_the_raw_integer_pixels(digits_processed: Path) -> None:
    """The splits hold the input's own 0..255 integers (readers divide by the scale), so each
    is no bigger than the input rows it came from."""
    raw_train = pd.read_csv(digits_processed / "input" / "mnist_train.csv").iloc[:, 1:]
    raw_test = pd.read_csv(digits_processed / "input" / "mnist_test.csv").iloc[:, 1:]
    _, _, test = read_split(digits_processed, "test")
    np.testing.assert_array_equal(test, raw_test.to_numpy())
    rows = [read_split(digits_processed, name)[2] for name in ("train", "validation")]
    assert sorted(map(tuple, np.concatenate(rows).tolist())) == sorted(
        map(tuple, raw_train.to_numpy().tolist())
    )
    bodies = [(digits_processed / n / f"{n}.csv").read_text().split("\n", 1)[1] for n in SPLITS]
    assert "." not in "".join(bodies), "a split holds a non-integer"
    inputs = [p.read_text().split("\n", 1)[1] for p in (digits_processed / "input").iterdir()]
    assert sum(map(len, bodies)) <= sum(map(len, inputs)), "the rows grew"


def test_digits_test_records_reproduce_csv_compactly(digits_processed: Path) -> None:
    path = digits_processed / "baseline" / "test.jsonl"
    records = read_jsonl(path)
    _, labels, features = read_split(digits_processed, "test")
    assert len(records) == len(labels)
    assert {tuple(r) for r in records} == {("pixels", "ground_truth")}
    assert [r["ground_truth"] for r in records] == [DIGITS_CLASSES[i] for i in labels]
    pixels = np.array([r["pixels"] for r in records])
    assert pixels.dtype.kind == "i"
    assert pixels.shape == (len(labels), 64)
    np.testing.assert_array_equal(pixels, features)
    assert " " not in path.read_text(), "no spaces between JSON values"
    # Nothing reads an image train.jsonl; at MNIST's size it would be as big as the train file.
    assert not (digits_processed / "baseline" / "train.jsonl").exists()


def test_image_28x28(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    columns = [f"{r}x{c}" for r in range(1, 29) for c in range(1, 29)]
    raw = tmp_path / "raw"
    raw.mkdir()
    for name, per_class in (("mnist_train.csv", 5), ("mnist_test.csv", 2)):
        frame = pd.DataFrame(rng.integers(0, 256, size=(3 * per_class, 784)), columns=columns)
        frame.insert(0, "label", np.repeat([0, 1, 2], per_class))
        frame.to_csv(raw / name, index=False)
    args = [*DIGITS_ARGS]
    args[args.index("--classes") + 1] = "0,1,2"
    stdout = rerun(raw, tmp_path / "base", IMAGE_SCRIPT, *args)
    assert stdout == (
        "preprocess_image: 21 rows (mnist_train.csv 15, mnist_test.csv 6) -> "
        "train 12, validation 3, test 6 (3 classes, 28x28 pixels)\n"
    )
    spec = read_json(tmp_path / "base" / "artifacts" / "transformer.json")
    assert spec["side"] == 28
    assert len(spec["features"]) == 784
    _, labels, features = read_split(tmp_path / "base", "validation")
    assert sorted(labels.tolist()) == [0, 1, 2]
    assert features.shape == (3, 784)


def test_image_test_records_are_json_for_any_class_name(tmp_path: Path) -> None:
    """The baseline's lines are built from the pixels' CSV text: each one is still the compact
    JSON of its record, whatever the class names hold (quotes, backslashes, non-ASCII)."""
    rng = np.random.default_rng(1)
    classes = ['say "hi"', "back\\slash", "éa"]
    raw = tmp_path / "raw"
    raw.mkdir()
    for name, per_class in (("mnist_train.csv", 4), ("mnist_test.csv", 3)):
        frame = pd.DataFrame(rng.integers(0, 256, size=(3 * per_class, 4)))
        frame.columns = [f"p{i}" for i in range(4)]
        frame.insert(0, "label", np.repeat(classes, per_class))
        frame.to_csv(raw / name, index=False)
    args = [*DIGITS_ARGS]
    args[args.index("--classes") + 1] = ",".join(classes)
    rerun(raw, tmp_path / "base", IMAGE_SCRIPT, *args)
    test = pd.read_csv(raw / "mnist_test.csv")
    expected = [
        json.dumps({"pixels": row[1:], "ground_truth": row[0]}, separators=(",", ":")) + "\n"
        for row in test.to_numpy().tolist()
    ]
    written = (tmp_path / "base" / "baseline" / "test.jsonl").read_text(encoding="utf-8")
    assert written == "".join(expected)


# --- both -------------------------------------------------------------------------------------

DATASETS = [
    pytest.param(
        "penguins_raw",
        TABULAR_SCRIPT,
        PENGUINS_ARGS,
        "preprocess_tabular: 344 rows from penguins.csv -> train 240, validation 52, test 52 "
        "(3 classes, 7 features)\n",
        id="penguins",
    ),
    pytest.param(
        "digits_raw",
        IMAGE_SCRIPT,
        DIGITS_ARGS,
        "preprocess_image: 1797 rows (mnist_train.csv 1437, mnist_test.csv 360) -> "
        "train 1150, validation 287, test 360 (10 classes, 8x8 pixels)\n",
        id="digits",
    ),
]


@pytest.mark.parametrize(("raw_fixture", "script", "args", "summary"), DATASETS)
def test_seeded_rerun_is_byte_identical(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    raw_fixture: str,
    script: str,
    args: tuple[str, ...],
    summary: str,
) -> None:
    raw: Path = request.getfixturevalue(raw_fixture)
    assert rerun(raw, tmp_path / "first", script, *args) == summary
    assert rerun(raw, tmp_path / "second", script, *args) == summary
    for output in OUTPUTS:
        first = (tmp_path / "first" / output).read_bytes()
        assert first == (tmp_path / "second" / output).read_bytes(), output
    other = [*args]
    other[other.index("--seed") + 1] = "7"
    rerun(raw, tmp_path / "other_seed", script, *other)
    assert (tmp_path / "other_seed" / "train/train.csv").read_bytes() != (
        tmp_path / "first" / "train/train.csv"
    ).read_bytes(), "--seed changes the split"


# --- bad data ---------------------------------------------------------------------------------

Mutation = Callable[[dict[str, pd.DataFrame]], None]


def set_cell(file: str, row: int, column: str, value: str) -> Mutation:
    def mutate(frames: dict[str, pd.DataFrame]) -> None:
        frames[file].loc[row, column] = value

    return mutate


def drop_column(file: str, column: str) -> Mutation:
    def mutate(frames: dict[str, pd.DataFrame]) -> None:
        frames[file] = frames[file].drop(columns=column)

    return mutate


def remove_file(file: str) -> Mutation:
    def mutate(frames: dict[str, pd.DataFrame]) -> None:
        del frames[file]

    return mutate


def keep_rows_of_class(file: str, column: str, value: str, keep: int) -> Mutation:
    def mutate(frames: dict[str, pd.DataFrame]) -> None:
        frame = frames[file]
        matching = frame.index[frame[column] == value]
        frames[file] = frame.drop(index=matching[keep:]).reset_index(drop=True)

    return mutate


FIX_LABEL = "  fix: correct or remove those rows, or add the class to project.classes\n"
FIX_NUMBER = "  fix: fix the value, or leave the cell empty if it is unknown\n"
FIX_PIXEL = "  fix: pixels must be integers 0..255; fix or remove the row\n"

BAD_TABULAR = [
    pytest.param(
        remove_file("penguins.csv"),
        "{input}/: no CSV file found\n"
        "  fix: upload exactly one CSV with a header to the pipeline's input location "
        "(project.input_data_uri) (or name it with --input_file)\n",
        id="missing-file",
    ),
    pytest.param(
        drop_column("penguins.csv", "culmen_depth_mm"),
        "{input}/penguins.csv: column(s) 'culmen_depth_mm' not in the header (found: species, "
        "island, culmen_length_mm, flipper_length_mm, body_mass_g, sex)\n"
        "  fix: rename the column in the CSV or fix project.data.target/numeric/categorical\n",
        id="missing-feature-column",
    ),
    pytest.param(
        drop_column("penguins.csv", "species"),
        "{input}/penguins.csv: column(s) 'species' not in the header (found: island, "
        "culmen_length_mm, culmen_depth_mm, flipper_length_mm, body_mass_g, sex)\n"
        "  fix: rename the column in the CSV or fix project.data.target/numeric/categorical\n",
        id="missing-target-column",
    ),
    pytest.param(
        set_cell("penguins.csv", 10, "species", "Emperor"),
        "{input}/penguins.csv: column 'species', line 12: unknown label(s) 'Emperor' "
        "(project.classes is Adelie,Chinstrap,Gentoo)\n" + FIX_LABEL,
        id="unknown-label",
    ),
    pytest.param(
        set_cell("penguins.csv", 20, "species", ""),
        "{input}/penguins.csv: column 'species', line 22: missing label (1 row(s) without one)\n"
        "  fix: fill in the label or remove those rows\n",
        id="missing-label",
    ),
    pytest.param(
        set_cell("penguins.csv", 5, "body_mass_g", "heavy"),
        "{input}/penguins.csv: column 'body_mass_g', line 7: 'heavy' is not a number "
        "(1 such row(s))\n"
        "  fix: fix the value, leave the cell empty if it is unknown, "
        "or list the column under project.data.categorical\n",
        id="non-numeric-feature",
    ),
    pytest.param(
        set_cell("penguins.csv", 8, "culmen_length_mm", "inf"),
        "{input}/penguins.csv: column 'culmen_length_mm', line 10: 'inf' is not a finite number "
        "of at most 3.40282e+38 in size (1 such row(s))\n" + FIX_NUMBER,
        id="infinite-feature",
    ),
    pytest.param(
        set_cell("penguins.csv", 3, "body_mass_g", "1e39"),
        "{input}/penguins.csv: column 'body_mass_g', line 5: '1e39' is not a finite number of at "
        "most 3.40282e+38 in size (1 such row(s))\n" + FIX_NUMBER,
        id="feature-past-float32",
    ),
    pytest.param(
        set_cell("penguins.csv", 4, "body_mass_g", "-1e400"),
        "{input}/penguins.csv: column 'body_mass_g', line 6: '-1e400' is not a finite number of "
        "at most 3.40282e+38 in size (1 such row(s))\n" + FIX_NUMBER,
        id="feature-past-float64",
    ),
    pytest.param(
        keep_rows_of_class("penguins.csv", "species", "Chinstrap", keep=2),
        "{input}/penguins.csv: class 'Chinstrap' has 2 row(s), too few to put at least one in "
        "each of train, validation, test\n"
        "  fix: add rows of class 'Chinstrap' (at least 3) or remove it from project.classes\n",
        id="class-too-small",
    ),
]

BAD_IMAGE = [
    pytest.param(
        remove_file("mnist_test.csv"),
        "{input}/mnist_test.csv: file not found\n"
        "  fix: upload it there (project.input_data_uri) or fix "
        "project.data.train_file/test_file\n",
        id="missing-file",
    ),
    pytest.param(
        drop_column("mnist_train.csv", "label"),
        "{input}/mnist_train.csv: no label column 'label' in the header (starts: 1x1, 1x2, 1x3, "
        "1x4, 1x5)\n  fix: name the label column in the CSV header or fix project.data.label\n",
        id="missing-label-column",
    ),
    pytest.param(
        drop_column("mnist_train.csv", "8x8"),
        "{input}/mnist_train.csv: 63 pixel columns is not a square image (side x side)\n"
        "  fix: give one column per pixel of a square image (784 for 28x28, 64 for 8x8) "
        "besides the label column\n",
        id="non-square",
    ),
    pytest.param(
        set_cell("mnist_train.csv", 3, "2x5", "dark"),
        "{input}/mnist_train.csv: column '2x5', line 5: pixel 'dark' is not a number\n" + FIX_PIXEL,
        id="non-numeric-pixel",
    ),
    pytest.param(
        set_cell("mnist_test.csv", 7, "1x1", ""),
        "{input}/mnist_test.csv: column '1x1', line 9: missing pixel value (1 such row(s))\n"
        + FIX_PIXEL,
        id="missing-pixel",
    ),
    pytest.param(
        set_cell("mnist_test.csv", 0, "3x3", "300"),
        "{input}/mnist_test.csv: column '3x3', line 2: pixel 300 out of 0..255 (1 such row(s))\n"
        + FIX_PIXEL,
        id="pixel-out-of-range",
    ),
    pytest.param(
        set_cell("mnist_test.csv", 4, "label", "11"),
        "{input}/mnist_test.csv: column 'label', line 6: unknown label(s) '11' "
        "(project.classes is 0,1,2,3,4,5,6,7,8,9)\n" + FIX_LABEL,
        id="unknown-label",
    ),
    pytest.param(
        set_cell("mnist_train.csv", 2, "label", ""),
        "{input}/mnist_train.csv: column 'label', line 4: missing label (1 row(s) without one)\n"
        "  fix: fill in the label or remove those rows\n",
        id="missing-label",
    ),
    pytest.param(
        keep_rows_of_class("mnist_train.csv", "label", "3", keep=1),
        "{input}/mnist_train.csv: class '3' has 1 row(s), too few to put at least one in "
        "each of train, validation\n"
        "  fix: add rows of class '3' (at least 2) or remove it from project.classes\n",
        id="class-too-small",
    ),
]


def run_bad(
    raw_dir: Path, tmp_path: Path, mutate: Mutation, script: str, args: tuple[str, ...]
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Write mutated copies of the raw files, run the script, return (process, input dir)."""
    input_dir = tmp_path / "input"
    input_dir.mkdir()
    frames = {
        path.name: pd.read_csv(path, dtype=str, keep_default_na=False)
        for path in sorted(raw_dir.glob("*.csv"))
    }
    mutate(frames)
    for name, frame in frames.items():
        frame.to_csv(input_dir / name, index=False)
    proc = run_script(script, "--base_dir", str(tmp_path), *args, check=False)
    return proc, input_dir


def assert_clean_failure(
    proc: subprocess.CompletedProcess[str], tmp_path: Path, prog: str, expected: str
) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr == f"{prog}: error: {expected}"
    assert proc.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["input"], "no partial outputs"


@pytest.mark.parametrize(("mutate", "expected"), BAD_TABULAR)
def test_tabular_bad_data(
    penguins_raw: Path, tmp_path: Path, mutate: Mutation, expected: str
) -> None:
    proc, input_dir = run_bad(penguins_raw, tmp_path, mutate, TABULAR_SCRIPT, PENGUINS_ARGS)
    assert_clean_failure(proc, tmp_path, "preprocess_tabular", expected.format(input=input_dir))


@pytest.mark.parametrize(("mutate", "expected"), BAD_IMAGE)
def test_image_bad_data(digits_raw: Path, tmp_path: Path, mutate: Mutation, expected: str) -> None:
    proc, input_dir = run_bad(digits_raw, tmp_path, mutate, IMAGE_SCRIPT, DIGITS_ARGS)
    assert_clean_failure(proc, tmp_path, "preprocess_image", expected.format(input=input_dir))


def test_image_test_file_is_read_by_column_name(digits_raw: Path, tmp_path: Path) -> None:
    """A test file whose pixel columns come in another order gives the same test split (before,
    they were read by position: the model was scored on scrambled images)."""
    rerun(digits_raw, tmp_path / "as_given", IMAGE_SCRIPT, *DIGITS_ARGS)

    def reverse_pixels(frames: dict[str, pd.DataFrame]) -> None:
        frame = frames["mnist_test.csv"]
        frames["mnist_test.csv"] = frame[["label", *reversed(frame.columns[1:])]]

    (tmp_path / "reordered").mkdir()
    proc, _ = run_bad(digits_raw, tmp_path / "reordered", reverse_pixels, IMAGE_SCRIPT, DIGITS_ARGS)
    assert proc.returncode == 0, proc.stderr
    for name in ("test/test.csv", "train/train.csv"):
        assert (tmp_path / "reordered" / name).read_bytes() == (
            tmp_path / "as_given" / name
        ).read_bytes()


def test_image_test_file_with_other_column_names_is_refused(
    digits_raw: Path, tmp_path: Path
) -> None:
    def rename(frames: dict[str, pd.DataFrame]) -> None:
        frames["mnist_test.csv"] = frames["mnist_test.csv"].rename(columns={"1x1": "pixel0"})

    proc, input_dir = run_bad(digits_raw, tmp_path, rename, IMAGE_SCRIPT, DIGITS_ARGS)
    assert_clean_failure(
        proc,
        tmp_path,
        "preprocess_image",
        f"{input_dir}/mnist_test.csv: its pixel columns are not those of mnist_train.csv "
        "(missing: 1x1; repeated: none)\n"
        "  fix: give both files the same pixel column names (e.g. 1x1 ... 28x28)\n",
    )


@pytest.mark.parametrize(
    ("script", "args", "expected"),
    [
        pytest.param(
            TABULAR_SCRIPT,
            (*PENGUINS_ARGS, "--validation", "0.6", "--test", "0.5"),
            "--validation + --test must leave rows for training (sum below 1)",
            id="tabular-fractions-too-large",
        ),
        pytest.param(
            TABULAR_SCRIPT,
            ("--target", "species", "--classes", "Adelie"),
            "give at least one feature column with --numeric or --categorical",
            id="tabular-no-features",
        ),
        pytest.param(
            IMAGE_SCRIPT,
            (*DIGITS_ARGS, "--validation", "1.5"),
            "--validation must be between 0 and 1 (exclusive)",
            id="image-validation-out-of-range",
        ),
    ],
)
def test_bad_arguments(tmp_path: Path, script: str, args: tuple[str, ...], expected: str) -> None:
    proc = run_script(script, "--base_dir", str(tmp_path), *args, check=False)
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1].endswith(f"error: {expected}")
    assert "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("project", ["penguins", "digits"], ids=["penguins", "digits"])
def test_data_quality_baseline_is_the_train_baseline_without_labels(
    project: str, request: pytest.FixtureRequest
) -> None:
    """Live requests carry no label, so the data-quality baseline must not have one either; an
    image's pixels are flat columns p0..pN (the analyzers take flat records only). It is CSV
    with a header, each value as Python writes it (empty when missing)."""
    processed = request.getfixturevalue(f"{project}_processed")
    base = processed / "baseline"
    with (base / "data-quality.csv").open(newline="") as handle:
        quality = list(csv.DictReader(handle))
    if project == "digits":  # the train split's raw pixels, by the transformer's feature names
        header, _, pixels = read_split(processed, "train")
        rows = pixels.astype(int).tolist()
        assert len(quality) == len(rows) > 0
        assert quality == [dict(zip(header[1:], map(str, row), strict=True)) for row in rows]
    else:  # the train split's raw rows, each one of the input's rows (as Python reads them)
        raw = pd.read_csv(processed / "input" / "penguins.csv", dtype=str)
        as_read = Counter(
            tuple(None if pd.isna(v) else v if k == "island" else float(v) for k, v in r.items())
            for r in raw[["island", *PENGUINS_NUMERIC]].to_dict(orient="records")
        )
        records = penguins_train_records(processed)
        assert len(records) == len(read_split(processed, "train")[1]) > 0
        assert Counter(tuple(r.values()) for r in records) <= as_read
        assert quality == [{k: "" if v is None else str(v) for k, v in r.items()} for r in records]


def test_a_baseline_file_that_cannot_be_written_fails_the_job_in_one_line(
    penguins_raw: Path, tmp_path: Path
) -> None:
    """The data-quality baseline's file is written by a second process: when it cannot write,
    the job still fails, with that process's reason and which file, and no traceback."""
    quality = tmp_path / "baseline" / "data-quality.csv"
    quality.mkdir(parents=True)  # a directory where the file goes
    shutil.copytree(penguins_raw, tmp_path / "input")
    proc = run_script(TABULAR_SCRIPT, "--base_dir", str(tmp_path), *PENGUINS_ARGS, check=False)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == (
        f"preprocess_tabular: error: [Errno 21] Is a directory: '{quality}'\n"
        f"preprocess_tabular: error: {quality} was not written (its writer stopped with 1)\n"
    )
    assert proc.stdout == ""


def test_without_fork_the_baseline_file_is_written_in_the_job_itself(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Where there is no fork the writer runs at once, in this process."""
    script = load_module(REPO / TABULAR_SCRIPT, "preprocess_tabular_under_test")
    monkeypatch.setattr(script.multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    calls: list[int] = []
    written = script.beside(tmp_path / "file", lambda: calls.append(os.getpid()))
    assert calls == [os.getpid()]
    written()
    assert calls == [os.getpid()]

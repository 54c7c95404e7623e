"""Real data for the component tests, raw and preprocessed by the real preprocess scripts.

Each data set is written and preprocessed once per test run (the xdist workers share it), and the
train, evaluate and inference tests all start from the same preprocess outputs SageMaker would
hand them.
Treat the returned directories as read-only; copy them before changing anything.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Any

import pytest

from projects.cancer.sample_data import write_cancer_csv
from projects.digits.sample_data import write_digits_csvs
from projects.penguins.sample_data import write_penguins_csv
from tests.components.compiled_jobs import preprocess_arguments
from tests.components.runner import run_script
from tests.run_once import once

__all__ = [
    "cancer_processed",
    "digits_processed",
    "digits_raw",
    "penguins_processed",
    "penguins_raw",
]

TABULAR_SCRIPT = "components/preprocess/scripts/preprocess_tabular.py"
IMAGE_SCRIPT = "components/preprocess/scripts/preprocess_image.py"

PENGUINS_CLASSES = ["Adelie", "Chinstrap", "Gentoo"]
PENGUINS_NUMERIC = ["culmen_length_mm", "culmen_depth_mm", "flipper_length_mm", "body_mass_g"]
PENGUINS_CATEGORICAL = ["island"]
# The arguments the compiler passes for the penguins project (components/README.md).
PENGUINS_ARGS = (
    "--target",
    "species",
    "--numeric",
    ",".join(PENGUINS_NUMERIC),
    "--categorical",
    ",".join(PENGUINS_CATEGORICAL),
    "--classes",
    ",".join(PENGUINS_CLASSES),
    "--validation",
    "0.15",
    "--test",
    "0.15",
    "--seed",
    "42",
)

DIGITS_CLASSES = [str(digit) for digit in range(10)]
DIGITS_ARGS = (
    "--train_file",
    "mnist_train.csv",
    "--test_file",
    "mnist_test.csv",
    "--label",
    "label",
    "--classes",
    ",".join(DIGITS_CLASSES),
    "--validation",
    "0.2",
    "--seed",
    "42",
)


def preprocess(raw_dir: Path, base_dir: Path, script: str, *args: str) -> Path:
    """Copy the raw files to `<base_dir>/input/` and run the preprocess script on them."""
    input_dir = base_dir / "input"
    input_dir.mkdir(parents=True, exist_ok=True)
    for path in sorted(raw_dir.iterdir()):
        shutil.copy2(path, input_dir / path.name)
    run_script(script, "--base_dir", str(base_dir), *args)
    return base_dir


@pytest.fixture(scope="session")
def penguins_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Directory holding the real `penguins.csv` (344 rows, missing values as empty cells)."""
    directory = tmp_path_factory.mktemp("penguins_raw")
    write_penguins_csv(directory)
    return directory


@pytest.fixture(scope="session")
def digits_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Directory holding scikit-learn's 8x8 digits as `mnist_train.csv` and `mnist_test.csv`."""
    directory = tmp_path_factory.mktemp("digits_raw")
    write_digits_csvs(directory)
    return directory


def processed_data(project: str, factory: pytest.TempPathFactory) -> Path:
    """The project's sample data after its real preprocess script, once per test run."""
    return once(factory, f"processed-{project}", lambda folder: preprocess_project(project, folder))


def preprocess_project(project: str, folder: Path) -> Path:
    """The project's sample data written to `folder`/raw and preprocessed into `folder`/processed
    by its real preprocess script, with the arguments the tests (and bench/pairs) use."""
    raw_dir = folder / "raw"
    raw_dir.mkdir(parents=True)
    if project == "penguins":
        write_penguins_csv(raw_dir)
        script, args = TABULAR_SCRIPT, PENGUINS_ARGS
    elif project == "digits":
        write_digits_csvs(raw_dir)
        script, args = IMAGE_SCRIPT, DIGITS_ARGS
    else:  # split with the arguments the compiled pipeline passes (conf/project/cancer.yaml)
        write_cancer_csv(raw_dir)
        script, args = TABULAR_SCRIPT, preprocess_arguments(project)
    return preprocess(raw_dir, folder / "processed", script, *args)


@pytest.fixture(scope="session")
def penguins_processed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Processing base_dir after `preprocess_tabular.py`: input/, train/, validation/, test/,
    artifacts/, baseline/ as in components/README.md."""
    return processed_data("penguins", tmp_path_factory)


@pytest.fixture(scope="session")
def digits_processed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Processing base_dir after `preprocess_image.py` on the 8x8 digits (same layout)."""
    return processed_data("digits", tmp_path_factory)


@pytest.fixture(scope="session")
def cancer_processed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The breast cancer data (569 rows, 30 features, 2 classes) after `preprocess_tabular.py`."""
    return processed_data("cancer", tmp_path_factory)


def penguins_train_records(processed: Path) -> list[dict[str, Any]]:
    """The train split's raw records as requests carry them in JSON (numbers as float, None where
    missing), read from the one file of them preprocess writes: baseline/data-quality.csv."""
    with (processed / "baseline" / "data-quality.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [
        {k: None if v == "" else v if k in PENGUINS_CATEGORICAL else float(v) for k, v in r.items()}
        for r in rows
    ]

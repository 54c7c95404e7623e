"""Trained models for the component tests: the real train scripts on the preprocessed fixtures.

`trained_model(project, framework)` trains once per test run (the xdist workers share it) and
returns the model directory, the `model.tar.gz` SageMaker would upload, the training log, and the
model's own probabilities on the test split (computed in a subprocess, so no framework is
imported into pytest). The frameworks and their scripts come from the framework table.
"""

from __future__ import annotations

import functools
import shutil
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bundle.assets import pack_model_dir
from compiler.load import load_config
from kernel.frameworks import FRAMEWORKS
from tests.components.compiled_jobs import training_hyperparameters
from tests.components.fixtures_data import processed_data
from tests.components.runner import REPO, run_script
from tests.run_once import once

__all__ = ["trained_model"]

PROJECTS = ("penguins", "digits")  # the contract tests' projects
TABULAR_PROJECTS = ("penguins", "cancer")  # trained with their configs' own hyperparameters
# A short run for the images: the tests check the contract, bench/models its accuracy. The
# tabular projects train as their pipelines do: a test checks them against a linear baseline.
DIGITS_HYPERPARAMETERS = {"epochs": 3, "batch_size": 32, "learning_rate": 0.01}


@functools.cache  # a Hydra compose: asked at collection and by every model fixture
def data_kind(project: str) -> str:
    return str(load_config([f"project={project}"]).data["project"]["data"]["kind"])


def cases(projects: tuple[str, ...]) -> list[Any]:
    """(project, framework) for every framework of the table that learns the project's data."""
    return [
        pytest.param(project, name, id=f"{project}-{name}")
        for project in projects
        for name, framework in FRAMEWORKS.items()
        if data_kind(project) in framework.kinds
    ]


# Reads test.csv and runs the model through its own handler's `predictor`, both as the evaluate
# job does (its own functions), and saves the test-set probabilities.
_PREDICT = textwrap.dedent(
    """
    import importlib.util, sys
    from pathlib import Path
    import numpy as np
    model_dir, csv_path, out, script = (Path(arg) for arg in sys.argv[1:5])
    spec = importlib.util.spec_from_file_location("evaluate", script)
    evaluate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(evaluate)
    model = evaluate.load_predictor(model_dir)
    x, _ = evaluate.read_test(csv_path, evaluate.read_transformer(model_dir))
    np.save(out, evaluate.predict(model, x))
    """
)
EVALUATE_SCRIPT = REPO / "components/evaluate/scripts/evaluate.py"


@dataclass(frozen=True)
class TrainedModel:
    """One training run of `train_<framework>.py` on `<project>_processed`."""

    project: str
    framework: str
    data_dir: Path  # the preprocessed base dir: train/, validation/, test/, artifacts/
    model_dir: Path  # SM_MODEL_DIR after training
    tarball: Path  # model.tar.gz: the contents of model_dir at the archive root
    stdout: str
    hyperparameters: dict[str, Any]
    test_probabilities: np.ndarray  # the model's output on test/test.csv


def hyperparameter_args(hyperparameters: dict[str, Any], seed: int = 42) -> list[str]:
    """`--epochs=5 --batch_size=16 ...` as SageMaker passes them, plus the `--model_dir` it adds."""
    args = [f"--{name}={value}" for name, value in hyperparameters.items()]
    return [*args, f"--seed={seed}", "--model_dir=s3://bucket/ignored"]


def train_env(data_dir: Path, model_dir: Path, cpus: int = 1) -> dict[str, str]:
    """The SM_* variables of a training job whose channels are the preprocess outputs, on an
    instance of `cpus` vCPUs (one by default: the same model on any test machine)."""
    return {
        "SM_CHANNEL_TRAIN": str(data_dir / "train"),
        "SM_CHANNEL_VALIDATION": str(data_dir / "validation"),
        "SM_CHANNEL_ARTIFACTS": str(data_dir / "artifacts"),
        "SM_MODEL_DIR": str(model_dir),
        "SM_NUM_CPUS": str(cpus),
    }


def package_model(model_dir: Path, tarball: Path) -> Path:
    """Pack the model dir's contents at the archive root, as SageMaker does for model.tar.gz."""
    return pack_model_dir(model_dir, tarball)


def predict_test_split(model_dir: Path, test_csv: Path, work_dir: Path) -> np.ndarray:
    """The model's probabilities on `test_csv`, computed in a separate process."""
    script = work_dir / "predict.py"
    script.write_text(_PREDICT)
    out = work_dir / "probabilities.npy"
    run_script(script, str(model_dir), str(test_csv), str(out), str(EVALUATE_SCRIPT))
    return np.load(out)


def run_hyperparameters(project: str, framework: str) -> dict[str, Any]:
    """Digits' short run, or the hyperparameters the compiled tabular pipeline passes."""
    if project == "digits":
        return {**DIGITS_HYPERPARAMETERS, "inference_handler": handler_of(framework)}
    return training_hyperparameters(project, framework)


def handler_of(framework: str) -> str:
    """The `--inference_handler` the compiler passes for the framework."""
    return FRAMEWORKS[framework].inference_handler


def train_model(
    project: str,
    framework: str,
    data_dir: Path,
    work_dir: Path,
    hyperparameters: dict[str, Any] | None = None,
) -> TrainedModel:
    """Run the real train script in `work_dir`, package and score what it wrote."""
    hyperparameters = hyperparameters or run_hyperparameters(project, framework)
    model_dir = work_dir / "model"
    proc = run_script(
        FRAMEWORKS[framework].training_script,
        *hyperparameter_args(hyperparameters),
        env=train_env(data_dir, model_dir),
    )
    tarball = package_model(model_dir, work_dir / "output" / "model.tar.gz")
    probabilities = predict_test_split(model_dir, data_dir / "test" / "test.csv", work_dir)
    return TrainedModel(
        project,
        framework,
        data_dir,
        model_dir,
        tarball,
        proc.stdout,
        hyperparameters,
        probabilities,
    )


def trained(project: str, framework: str, factory: pytest.TempPathFactory) -> TrainedModel:
    """The project's model trained by the framework's real script, once per test run."""
    assert project in {*PROJECTS, *TABULAR_PROJECTS}, project
    assert data_kind(project) in FRAMEWORKS[framework].kinds, (project, framework)

    def build(folder: Path) -> TrainedModel:
        return train_model(project, framework, processed_data(project, factory), folder)

    return once(factory, f"trained-{project}-{framework}", build)


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], TrainedModel]:
    """Factory: `trained_model("digits", "pytorch")` -> TrainedModel, trained once per run."""
    return lambda project, framework: trained(project, framework, tmp_path_factory)


def copy_processed(data_dir: Path, target: Path) -> Path:
    """A writable copy of a preprocessed base dir, for tests that break it on purpose."""
    shutil.copytree(data_dir, target)
    return target

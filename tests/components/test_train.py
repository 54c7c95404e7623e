"""The train scripts, run as SageMaker runs them, against the contract in components/README.md."""

from __future__ import annotations

import json
import re
import shutil
import tarfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from kernel.frameworks import FRAMEWORKS
from tests.components.compiled_jobs import preprocess_arguments, training_hyperparameters
from tests.components.fixtures_data import PENGUINS_ARGS
from tests.components.fixtures_models import (
    PROJECTS,
    TABULAR_PROJECTS,
    TrainedModel,
    cases,
    copy_processed,
    handler_of,
    hyperparameter_args,
    train_env,
    train_model,
)
from tests.components.runner import REPO, page_faults_of_steps, run_script

TUNING_REGEX = re.compile(r"val_accuracy: ([0-9\.]+)")  # the tuning job's metric definition
EPOCH_LINE = re.compile(r"epoch: (\d+) loss: (\d+\.\d+) val_accuracy: (\d+\.\d+)")
INFERENCE = REPO / "components" / "model" / "scripts"
SERVING = {f"code/serving/{p.name}" for p in (INFERENCE / "serving").glob("*.py")}
CODE_FILES = {
    "code/inference.py",
    *SERVING,
    "code/requirements.txt",
    "code/artifacts/classes.json",
    "code/artifacts/transformer.json",
}
CASES = cases(PROJECTS)
TABULAR_CASES = cases(TABULAR_PROJECTS)

TrainedModelFactory = Callable[[str, str], TrainedModel]


def epoch_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("epoch:")]


def relative_files(directory: Path) -> set[str]:
    return {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()}


@pytest.mark.parametrize(("project", "framework"), CASES)
def test_prints_one_parseable_line_per_epoch(
    trained_model: TrainedModelFactory, project: str, framework: str
) -> None:
    model = trained_model(project, framework)
    lines = epoch_lines(model.stdout)
    assert len(lines) == model.hyperparameters[FRAMEWORKS[framework].rounds]
    for number, line in enumerate(lines, start=1):
        match = EPOCH_LINE.fullmatch(line)
        assert match, line
        assert int(match[1]) == number
        (value,) = TUNING_REGEX.findall(line)
        assert 0.0 <= float(value) <= 1.0
        assert float(value) == float(match[3])


@pytest.mark.parametrize(("project", "framework"), CASES)
def test_writes_the_contract_layout(
    trained_model: TrainedModelFactory, project: str, framework: str
) -> None:
    model = trained_model(project, framework)
    files = relative_files(model.model_dir)
    code = {f for f in files if f.startswith("code/")}
    assert code == CODE_FILES
    model_files = set(FRAMEWORKS[framework].model_files)
    assert model_files <= files
    assert {p.split("/")[0] for p in files - code} == {p.split("/")[0] for p in model_files}
    assert (model.model_dir / "code/inference.py").read_bytes() == (
        REPO / FRAMEWORKS[framework].inference_handler
    ).read_bytes()
    for name in ("requirements.txt", *(p.removeprefix("code/") for p in SERVING)):
        assert (model.model_dir / "code" / name).read_bytes() == (INFERENCE / name).read_bytes()
    for name in ("classes.json", "transformer.json"):
        assert (model.model_dir / "code/artifacts" / name).read_bytes() == (
            model.data_dir / "artifacts" / name
        ).read_bytes()
    with tarfile.open(model.tarball) as tar:
        assert {m.name for m in tar.getmembers() if m.isfile()} == files


@pytest.mark.parametrize(("project", "framework"), CASES)
def test_model_returns_class_probabilities(
    trained_model: TrainedModelFactory, project: str, framework: str
) -> None:
    model = trained_model(project, framework)
    classes = json.loads((model.data_dir / "artifacts/classes.json").read_text())
    n_test = len((model.data_dir / "test/test.csv").read_text().splitlines()) - 1
    probabilities = model.test_probabilities
    assert probabilities.shape == (n_test, len(classes))
    assert probabilities.dtype == np.float32
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def read_split(path: Path) -> tuple[np.ndarray, np.ndarray]:
    table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return table[:, 1:], table[:, 0].astype(np.int64)


def values_by_flag(arguments: Sequence[str]) -> dict[str, list[str]]:
    """`--numeric a,b --seed 1` -> {"--numeric": ["a", "b"], "--seed": ["1"]}, as scripts read."""
    values: dict[str, list[str]] = {}
    for token in ",".join(arguments).split(","):
        if token.startswith("--"):
            values[token] = []
        else:
            values[list(values)[-1]].append(token)
    return values


def test_penguins_fixture_is_split_as_the_pipeline_splits() -> None:
    # The baseline test below must score the pipeline's own split.
    assert values_by_flag(PENGUINS_ARGS) == values_by_flag(preprocess_arguments("penguins"))


@pytest.mark.parametrize(("project", "framework"), TABULAR_CASES)
def test_tabular_model_is_not_below_a_logistic_regression(
    trained_model: TrainedModelFactory, project: str, framework: str
) -> None:
    """The shipped hyperparameters, on the pipeline's split: at least a linear model's accuracy."""
    model = trained_model(project, framework)
    assert model.hyperparameters == training_hyperparameters(project, framework)
    x_train, y_train = read_split(model.data_dir / "train/train.csv")
    x_test, y_test = read_split(model.data_dir / "test/test.csv")
    linear = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    baseline = int(np.sum(linear.fit(x_train, y_train).predict(x_test) == y_test))
    correct = int(np.sum(model.test_probabilities.argmax(axis=1) == y_test))
    assert correct >= baseline, (
        f"{project}/{framework}: {correct} of {len(y_test)} test rows right, a logistic "
        f"regression on the same split gets {baseline}"
    )


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_seeded_rerun_reproduces_the_model(
    trained_model: TrainedModelFactory, tmp_path: Path, framework: str
) -> None:
    first = trained_model("cancer", framework)
    again = train_model("cancer", framework, first.data_dir, tmp_path, first.hyperparameters)
    assert epoch_lines(again.stdout) == epoch_lines(first.stdout)
    np.testing.assert_array_equal(again.test_probabilities, first.test_probabilities)


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_training_uses_the_cores_the_job_has(
    penguins_processed: Path, tmp_path: Path, framework: str
) -> None:
    """SageMaker sets SM_NUM_CPUS to the instance's vCPUs; the script computes on that many."""
    quick = {FRAMEWORKS[framework].rounds: 1, "inference_handler": handler_of(framework)}
    proc = run_script(
        FRAMEWORKS[framework].training_script,
        *hyperparameter_args(quick),
        env=train_env(penguins_processed, tmp_path / "model", cpus=3),
    )
    assert ", 3 thread(s); " in proc.stdout.splitlines()[0], proc.stdout


TRAINING_SETUP = """
import torch
sys.path.insert(0, "components/train/scripts")
import train_pytorch
train_pytorch.configure(torch, 0)
"""


def test_training_keeps_freed_memory_instead_of_faulting_it_in_again() -> None:
    """glibc's own thresholds hand the step's 32 MB back to the system and fault it in again on
    every step; the job's settings (`configure`, the job's and the floor's) keep it."""
    plain, configured = page_faults_of_steps("import torch"), page_faults_of_steps(TRAINING_SETUP)
    assert configured < 20_000, (plain, configured)
    assert plain > 10 * configured, (plain, configured)


def _remove(relative: str) -> Callable[[Path], None]:
    def apply(base: Path) -> None:
        target = base / relative
        shutil.rmtree(target) if target.is_dir() else target.unlink()

    return apply


def _edit_csv(transform: Callable[[list[str]], list[str]]) -> Callable[[Path], None]:
    def apply(base: Path) -> None:
        path = base / "train/train.csv"
        path.write_text("\n".join(transform(path.read_text().splitlines())) + "\n")

    return apply


def _set_kind(base: Path) -> None:
    path = base / "artifacts/transformer.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "kind": "audio"}))


def _keep(_: Path) -> None:
    pass


BAD_INPUTS = [
    pytest.param(
        _remove("train"), [], r"channel 'train': directory \S+ not found", id="missing-train-dir"
    ),
    pytest.param(
        _remove("validation/validation.csv"),
        [],
        r"channel 'validation': \S+/validation\.csv not found",
        id="missing-validation-file",
    ),
    pytest.param(
        _remove("artifacts/transformer.json"),
        [],
        r"channel 'artifacts': \S+/transformer\.json not found",
        id="missing-transformer",
    ),
    pytest.param(_set_kind, [], r"'kind' must be one of \['tabular', 'image'\]", id="unknown-kind"),
    pytest.param(
        _edit_csv(lambda lines: [lines[0], "7" + lines[1][lines[1].index(",") :], *lines[2:]]),
        [],
        r"'label' must be class indices 0\.\.2",
        id="label-out-of-range",
    ),
    pytest.param(
        _edit_csv(lambda lines: [line.rsplit(",", 1)[0] for line in lines]),
        [],
        r"header must be 'label' then the \d+ features of transformer\.json",
        id="missing-feature-column",
    ),
    pytest.param(_keep, ["--seed=-1"], r"--seed must be >= 0, got -1", id="negative-seed"),
]
# Argument errors of one hyperparameter: each framework whose script takes it is tested.
BAD_ARGUMENTS = [
    ("epochs", "0", r"--epochs must be a positive integer, got 0"),
    ("batch_size", "-4", r"--batch_size must be a positive integer, got -4"),
    ("learning_rate", "fast", r"argument --learning_rate: invalid float value: 'fast'"),
    ("num_round", "0", r"--num_round must be in \(0, 10000\], got 0"),
    ("max_depth", "21", r"--max_depth must be in \(0, 20\], got 21"),
    ("eta", "1.5", r"--eta must be in \(0, 1\], got 1\.5"),
    ("min_child_weight", "-1", r"--min_child_weight must be in \[0, 100\], got -1\.0"),
]
BAD_INPUTS += [
    pytest.param(_keep, [f"--{name}={value}"], message, id=f"{name}-{value}")
    for name, value, message in BAD_ARGUMENTS
]


def takes(framework: str, args: list[str]) -> bool:
    names = [a.removeprefix("--").split("=")[0] for a in args]
    return all(n == "seed" or n in FRAMEWORKS[framework].hyperparameters for n in names)


@pytest.mark.parametrize(
    ("framework", "corrupt", "args", "message"),
    [
        pytest.param(framework, *case.values, id=f"{framework}-{case.id}")
        for framework in FRAMEWORKS
        for case in BAD_INPUTS
        if takes(framework, case.values[1])  # type: ignore[arg-type]
    ],
)
def test_bad_input_exits_2_with_one_line(
    penguins_processed: Path,
    tmp_path: Path,
    framework: str,
    corrupt: Callable[[Path], None],
    args: list[str],
    message: str,
) -> None:
    base = copy_processed(penguins_processed, tmp_path / "data")
    corrupt(base)
    quick = {FRAMEWORKS[framework].rounds: 1, "inference_handler": handler_of(framework)}
    proc = run_script(
        FRAMEWORKS[framework].training_script,
        *hyperparameter_args(quick),
        *args,
        env=train_env(base, tmp_path / "model"),
        check=False,
    )
    script = Path(FRAMEWORKS[framework].training_script).name
    assert proc.returncode == 2, proc.stderr
    assert re.fullmatch(rf"{script}: error: .*{message}.*\n", proc.stderr), proc.stderr
    assert epoch_lines(proc.stdout) == []


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_missing_inference_code_exits_2_before_training(
    penguins_processed: Path, tmp_path: Path, framework: str
) -> None:
    # A source dir with the train scripts but without components/model/scripts/.
    scripts = tmp_path / "src/components/train/scripts"
    shutil.copytree(REPO / "components/train/scripts", scripts)
    script = scripts / Path(FRAMEWORKS[framework].training_script).name
    handler = handler_of(framework)
    proc = run_script(
        script,
        f"--{FRAMEWORKS[framework].rounds}=1",
        f"--inference_handler={handler}",
        env=train_env(penguins_processed, tmp_path / "model"),
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == (
        f"{script.name}: error: inference code missing: {handler}, "
        "components/model/scripts/serving/__init__.py, components/model/scripts/requirements.txt "
        "not in the source dir (the compiler packs the framework's handler and "
        "components/model/scripts/serving/)\n"
    )
    assert epoch_lines(proc.stdout) == []


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_a_run_without_a_handler_exits_2_before_training(
    penguins_processed: Path, tmp_path: Path, framework: str
) -> None:
    script = FRAMEWORKS[framework].training_script
    proc = run_script(script, env=train_env(penguins_processed, tmp_path / "model"), check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == (
        f"{Path(script).name}: error: bad argument: --inference_handler is required (the "
        "compiler passes its framework's handler, e.g. "
        "components/model/scripts/pytorch_handler.py)\n"
    )
    assert epoch_lines(proc.stdout) == []

"""Every fact about a supported framework, in one table.

A framework is a training script, an inference handler and the containers that run them. The
compiler reads everything here: the config's framework names, the images (images.json, by the
framework's name), the training entry point and the files its source dir holds, the handler it
copies into model.tar.gz, the serving container's environment (with the protocol the local engine
plays it by), the data kinds it can learn, and its hyperparameters with their valid and tuning
ranges. The job scripts cannot import this module (they run alone in AWS containers): the
compiler passes them what they need (`inference_handler`), and every handler exposes the same
`predictor(model_dir)` that the evaluate job calls, so evaluate.py has no per-framework code.

Adding a framework: a row here, conf/framework/<name>.yaml, its training script and its handler.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from kernel.errors import Issue, one_of

TRAIN_SCRIPTS = "components/train/scripts"
MODEL_SCRIPTS = "components/model/scripts"
# What every training source dir holds besides the framework's own files: the shared training
# code, and the serving package and requirements the training job copies beside the model.
COMMON_SOURCES = (
    f"{TRAIN_SCRIPTS}/common.py",
    f"{MODEL_SCRIPTS}/serving",
    f"{MODEL_SCRIPTS}/requirements.txt",
)
# The serving container's variable naming the protocol it calls the handler by. The containers
# ignore it; the local engine plays the container it names (engine/serving.py).
PROTOCOL_ENV = "INFERENCE_SERVING_PROTOCOL"
# The function every inference handler exposes for the evaluate job: model_dir -> predict, where
# predict maps float32 features [n, n_features] to class probabilities [n, n_classes].
PREDICTOR = "predictor"

Protocol = Literal["tensorflow-serving", "pytorch-toolkit", "sagemaker-containers"]
DataKind = Literal["tabular", "image"]
# The two images of a framework: training (and evaluation) and serving. AWS releases them apart
# (TensorFlow training 2.21, serving 2.20), so each has its own versions.
Scope = Literal["training", "inference"]
SCOPES: tuple[Scope, ...] = ("training", "inference")


@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter a training script takes as `--name value`.

    Attributes:
        integer: whole numbers (an IntegerParameterRange when tuned), else continuous.
        default: the value when the project sets none.
        minimum, maximum: the valid range, inclusive (`above` makes the minimum exclusive).
        tune: the range a tuning job searches unless the config names its own, or None.
    """

    integer: bool
    default: float
    minimum: float
    maximum: float
    above: bool = False
    tune: tuple[float, float] | None = None


@dataclass(frozen=True)
class Framework:
    """One framework, as the compiler, the engine and the tests need it.

    Attributes:
        name: the config option (`framework=<name>`) and the image table's key.
        versions: per image scope, the versions the image table holds containers for, oldest
            first (`framework.version` picks the training one, `framework.inference_version`
            the serving one).
        training_script: the training entry point (`sagemaker_program`), a repository path.
        inference_handler: copied into model.tar.gz as code/inference.py; exposes `predictor`.
        protocol: how the serving container calls the handler (the engine plays it).
        serving_environment: variables the serving container needs to find the handler.
        kinds: the data kinds (preprocess's `kind`) it can learn.
        hyperparameters: name -> its rule; the script takes exactly these.
        rounds: the hyperparameter counting its training passes; the script logs the tuning
            metric once a pass.
        model_files: what its training writes into the model dir beside code/ (what the
            handler loads), as paths inside model.tar.gz.
    """

    name: str
    versions: Mapping[Scope, tuple[str, ...]]
    training_script: str
    inference_handler: str
    protocol: Protocol
    kinds: tuple[DataKind, ...]
    hyperparameters: Mapping[str, Hyperparameter]
    rounds: str
    model_files: tuple[str, ...]
    serving_environment: Mapping[str, str] = field(default_factory=dict)

    def sources(self) -> tuple[str, ...]:
        """The repository paths its training source dir holds, and nothing else."""
        return (*COMMON_SOURCES, self.training_script, self.inference_handler)

    def environment(self) -> dict[str, str]:
        """The serving container's environment, with the protocol the engine reads."""
        return {**self.serving_environment, PROTOCOL_ENV: self.protocol}


# The neural networks' hyperparameters, shared by TensorFlow and PyTorch (common.py parses them).
NEURAL = {
    "epochs": Hyperparameter(True, 20, 0, 10_000, above=True),
    "batch_size": Hyperparameter(True, 32, 0, 100_000, above=True),
    "learning_rate": Hyperparameter(False, 0.01, 0, 1, above=True, tune=(0.01, 0.03)),
}


def neural(
    name: str,
    versions: Mapping[Scope, tuple[str, ...]],
    protocol: Protocol,
    model_files: tuple[str, ...],
) -> Framework:
    """A neural-network framework: common.py trains it on either data kind, epoch by epoch."""
    return Framework(
        name=name,
        versions=versions,
        training_script=f"{TRAIN_SCRIPTS}/train_{name}.py",
        inference_handler=f"{MODEL_SCRIPTS}/{name}_handler.py",
        protocol=protocol,
        kinds=("tabular", "image"),
        hyperparameters=NEURAL,
        rounds="epochs",
        model_files=model_files,
    )


FRAMEWORKS: dict[str, Framework] = {
    "tensorflow": neural(
        "tensorflow",
        versions={"training": ("2.19", "2.21"), "inference": ("2.19", "2.20")},
        protocol="tensorflow-serving",
        model_files=("1/saved_model.pb", "1/variables/variables.index"),  # a SavedModel
    ),
    "pytorch": neural(
        "pytorch",
        # AWS publishes no PyTorch inference image after 2.6 (kernel/image_environments.json).
        versions={"training": ("2.6", "2.10"), "inference": ("2.6",)},
        protocol="pytorch-toolkit",
        model_files=("model.pt",),
    ),
    "xgboost": Framework(
        name="xgboost",
        versions={"training": ("1.7-1", "3.2-0"), "inference": ("1.7-1", "3.2-0")},
        training_script=f"{TRAIN_SCRIPTS}/train_xgboost.py",
        inference_handler=f"{MODEL_SCRIPTS}/xgboost_handler.py",
        protocol="sagemaker-containers",
        kinds=("tabular",),
        hyperparameters={
            "num_round": Hyperparameter(True, 100, 0, 10_000, above=True, tune=(50, 300)),
            "max_depth": Hyperparameter(True, 4, 0, 20, above=True, tune=(2, 8)),
            "eta": Hyperparameter(False, 0.3, 0, 1, above=True, tune=(0.05, 0.5)),
            "min_child_weight": Hyperparameter(False, 1, 0, 100),
            "subsample": Hyperparameter(False, 1, 0, 1, above=True),
        },
        rounds="num_round",
        model_files=("model.json",),
        # The XGBoost container serves a script only when told which one and where it is.
        serving_environment={
            "SAGEMAKER_PROGRAM": "inference.py",
            "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
        },
    ),
}
NAMES = tuple(FRAMEWORKS)
if TYPE_CHECKING:  # a type checker cannot build a Literal from the table; pydantic can
    FrameworkName = str
else:
    FrameworkName = Literal[NAMES]
# Every hyperparameter any framework takes; a name two frameworks share has one rule.
HYPERPARAMETERS = {
    name: rule for fw in FRAMEWORKS.values() for name, rule in fw.hyperparameters.items()
}
# The scikit-learn container that runs preprocessing (and the builtin monitoring analyzer).
SKLEARN_VERSION = "1.9-0"


def hyperparameters(name: str, values: Mapping[str, float | None]) -> dict[str, float]:
    """The framework's hyperparameters: the project's value where it sets one, else the default.

    A project may set values for several frameworks; each takes only its own.
    """
    resolved: dict[str, float] = {}
    for key, rule in FRAMEWORKS[name].hyperparameters.items():
        value = values.get(key)
        value = rule.default if value is None else value
        resolved[key] = int(value) if rule.integer else value
    return resolved


def framework_issues(name: str, kind: str, ranges: Mapping[str, object] | None) -> list[Issue]:
    """What a framework cannot do with this project's data kind and tuning ranges."""
    framework = FRAMEWORKS[name]
    issues = []
    if kind not in framework.kinds:
        others = [n for n, fw in FRAMEWORKS.items() if kind in fw.kinds]
        issues.append(
            Issue(
                ("framework", "name"),
                f"framework = {name!r}, project.data.kind = {kind!r}",
                f"{name} learns only {' and '.join(framework.kinds)} data, and this project's "
                f"data.kind is {kind!r}",
                f"pick a framework that learns {kind} data: "
                + " or ".join(f"framework={other}" for other in others),
            )
        )
    for tuned in ranges or {}:
        if tuned not in framework.hyperparameters:
            issues.append(
                Issue(
                    ("training", "tuning", "ranges", tuned),
                    f"training.tuning.ranges.{tuned}",
                    f"{name}'s training script takes no {tuned!r}",
                    f"tune one of {one_of(framework.hyperparameters)}, or set "
                    "training.tuning.ranges to null for the framework's own ranges",
                )
            )
    return issues

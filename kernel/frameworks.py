"""Every fact about a supported framework, in one table.

Images come from the image table (images.json) by the framework's name; the scripts named here
are paths in the repository (and in the packed training source dir). The training scripts cannot
import this module (they run inside AWS containers), so a test checks that their own handler
table agrees with this one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FrameworkName = Literal["tensorflow", "pytorch"]


@dataclass(frozen=True)
class Framework:
    """What the compiler, the component scripts' tests and the local engine need to know.

    Attributes:
        name: the config option (`framework=<name>`) and the image table's key.
        versions: the versions the image table holds containers for (`framework.version`).
        training_script: the training entry point (`sagemaker_program`).
        inference_handler: copied into model.tar.gz as code/inference.py.
        local_module: the module a local run imports to train and serve.
        serving: how the inference container calls the handler.
    """

    name: FrameworkName
    versions: tuple[str, ...]
    training_script: str
    inference_handler: str
    local_module: str
    serving: Literal["tensorflow-serving", "pytorch-toolkit"]


FRAMEWORKS: dict[str, Framework] = {
    "tensorflow": Framework(
        "tensorflow",
        ("2.19",),
        "components/train/scripts/train_tensorflow.py",
        "components/model/scripts/tensorflow_handler.py",
        "tensorflow",
        "tensorflow-serving",
    ),
    "pytorch": Framework(
        "pytorch",
        ("2.6",),
        "components/train/scripts/train_pytorch.py",
        "components/model/scripts/pytorch_handler.py",
        "torch",
        "pytorch-toolkit",
    ),
}
# The scikit-learn container that runs preprocessing (and the builtin monitoring analyzer).
SKLEARN_VERSION = "1.2-1"

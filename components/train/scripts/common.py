"""What every training script shares: arguments, the SM_CHANNEL_* data, the serving code copy.

Framework-free (numpy and the standard library only), so bad input is reported before a framework
is imported, and every script checks its input the same way. The compiler names the inference
handler (`--inference_handler`, from its framework table); this code copies it with the serving
package beside the model.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, Protocol, TypeVar

import numpy as np

# The inference code sits beside this component in the repository and in the packed source dir.
SOURCE_ROOT = Path(__file__).resolve().parents[3]
INFERENCE_DIR = SOURCE_ROOT / "components" / "model" / "scripts"
SERVING_PACKAGE = INFERENCE_DIR / "serving"
REQUIREMENTS = INFERENCE_DIR / "requirements.txt"
KINDS = ("tabular", "image")


class InputError(Exception):
    """Bad input the user can fix (arguments, channels, files); reported in one line, exit 2."""


class Parser(argparse.ArgumentParser):
    """Argument errors become InputError; every script takes --seed and --inference_handler."""

    def __init__(self, description: str) -> None:
        super().__init__(description=description)
        self.add_argument("--seed", type=int, default=42)
        # The handler the compiler names (a source dir path); copied as code/inference.py.
        self.add_argument("--inference_handler", default=None)

    def error(self, message: str) -> NoReturn:
        raise InputError(f"bad argument: {message}")


class ScriptArgs(Protocol):
    """What `run` reads of a script's parsed arguments."""

    @property
    def seed(self) -> int: ...

    @property
    def inference_handler(self) -> str | None: ...


A = TypeVar("A", bound=ScriptArgs)


@dataclass(frozen=True)
class Args:
    """The neural networks' arguments (TensorFlow and PyTorch)."""

    epochs: int
    batch_size: int
    learning_rate: float
    seed: int
    inference_handler: str | None = None


@dataclass(frozen=True)
class Paths:
    train: Path
    validation: Path
    artifacts: Path
    model_dir: Path


@dataclass(frozen=True)
class Data:
    """The preprocessed splits, ready for a framework: float32 features, int64 class indices."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    classes: list[str]
    transformer: dict[str, Any]

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def kind(self) -> str:
        return str(self.transformer["kind"])

    @property
    def side(self) -> int:
        return int(self.transformer["side"])


def parse_args(argv: Sequence[str] | None = None) -> Args:
    """Parse the hyperparameters SageMaker passes; ignore the rest (e.g. `--model_dir`)."""
    parser = Parser("Train a neural network on the preprocessed CSV channels.")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--learning_rate", type=float, default=0.01)
    ns, _unknown = parser.parse_known_args(argv)
    if ns.epochs <= 0:
        raise InputError(f"bad argument: --epochs must be a positive integer, got {ns.epochs}")
    if ns.batch_size <= 0:
        raise InputError(
            f"bad argument: --batch_size must be a positive integer, got {ns.batch_size}"
        )
    if not (np.isfinite(ns.learning_rate) and 0 < ns.learning_rate <= 1):
        raise InputError(f"bad argument: --learning_rate must be in (0, 1], got {ns.learning_rate}")
    check_seed(ns.seed)
    return Args(ns.epochs, ns.batch_size, ns.learning_rate, ns.seed, ns.inference_handler)


def check_seed(seed: int) -> None:
    if seed < 0:
        raise InputError(f"bad argument: --seed must be >= 0, got {seed}")


def channel_paths() -> Paths:
    """Where SageMaker mounts the channels and where the model must be written."""
    env = os.environ
    return Paths(
        train=Path(env.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train")),
        validation=Path(env.get("SM_CHANNEL_VALIDATION", "/opt/ml/input/data/validation")),
        artifacts=Path(env.get("SM_CHANNEL_ARTIFACTS", "/opt/ml/input/data/artifacts")),
        model_dir=Path(env.get("SM_MODEL_DIR", "/opt/ml/model")),
    )


def _channel_file(directory: Path, filename: str, channel: str) -> Path:
    if not directory.is_dir():
        raise InputError(
            f"channel '{channel}': directory {directory} not found "
            f"(set SM_CHANNEL_{channel.upper()} to the preprocess output '{channel}')"
        )
    path = directory / filename
    if not path.is_file():
        raise InputError(f"channel '{channel}': {path} not found (expected the file {filename})")
    return path


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not readable JSON ({exc})") from None


def read_artifacts(directory: Path) -> tuple[list[str], dict[str, Any]]:
    """Load and check classes.json and transformer.json from the artifacts channel."""
    classes = _read_json(_channel_file(directory, "classes.json", "artifacts"))
    if (
        not isinstance(classes, list)
        or len(classes) < 2
        or not all(isinstance(c, str) for c in classes)
    ):
        raise InputError(f"{directory / 'classes.json'}: expected a list of >= 2 class names")
    transformer = _read_json(_channel_file(directory, "transformer.json", "artifacts"))
    kind = transformer.get("kind") if isinstance(transformer, dict) else None
    if kind not in KINDS:
        raise InputError(
            f"{directory / 'transformer.json'}: 'kind' must be one of {list(KINDS)}, got {kind!r}"
        )
    features = transformer.get("features")
    if not isinstance(features, list) or not features:
        raise InputError(f"{directory / 'transformer.json'}: 'features' must be a non-empty list")
    if kind == "image":
        side, scale = transformer.get("side"), transformer.get("scale")
        if not isinstance(side, int) or side * side != len(features):
            raise InputError(
                f"{directory / 'transformer.json'}: 'side' ({side!r}) squared must equal "
                f"the number of features ({len(features)})"
            )
        if not isinstance(scale, (int, float)) or not scale > 0:
            raise InputError(
                f"{directory / 'transformer.json'}: 'scale' must be a positive number (features "
                f"are pixel / scale), got {scale!r}"
            )
    return classes, transformer


def read_split(
    directory: Path, channel: str, transformer: dict[str, Any], n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Read `<channel>.csv` (header `label,<features...>`) as float32 features and int64 labels.

    Images hold raw 0..255 integer pixels, read as such (a bounded, exact parse) and divided by
    transformer.json's `scale` here; tabular features are already transformed.
    """
    path = _channel_file(directory, f"{channel}.csv", channel)
    features = [str(f) for f in transformer["features"]]
    with path.open(newline="") as fh:
        header = next(csv.reader(fh), None)
    if header != ["label", *features]:
        raise InputError(
            f"{path}: header must be 'label' then the {len(features)} features of "
            f"transformer.json, got {(header or [])[:5]}..."
        )
    image = transformer["kind"] == "image"
    dtype = (np.uint8 if n_classes <= 256 else np.uint16) if image else np.float64
    try:
        with warnings.catch_warnings():  # a header-only file is reported below, not warned of
            warnings.simplefilter("ignore", UserWarning)
            table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=dtype, ndmin=2)
    except ValueError as exc:
        what = "0..255 integers" if image else "numbers"
        raise InputError(
            f"{path}: every cell must be {what} (is it preprocessed?): {exc}"
        ) from None
    if len(table) == 0:
        raise InputError(f"{path}: no rows")
    labels: np.ndarray = table[:, 0]
    if not np.all(np.isfinite(table)):
        raise InputError(f"{path}: empty, NaN or infinite values (is it preprocessed?)")
    if np.any(labels != np.round(labels)) or labels.min() < 0 or labels.max() >= n_classes:
        raise InputError(
            f"{path}: 'label' must be class indices 0..{n_classes - 1} (see classes.json)"
        )
    if image:
        if table[:, 1:].max() > 255:
            raise InputError(f"{path}: pixels must be 0..255 integers (is it preprocessed?)")
        return scaled(table[:, 1:], float(transformer["scale"])), labels.astype(np.int64)
    return table[:, 1:].astype(np.float32), labels.astype(np.int64)


def scaled(pixels: np.ndarray, scale: float) -> np.ndarray:
    """Image features: raw pixels / scale, in float32 (as serving computes them)."""
    return pixels.astype(np.float32) / np.float32(scale)


def load_data(paths: Paths) -> Data:
    classes, transformer = read_artifacts(paths.artifacts)
    x_train, y_train = read_split(paths.train, "train", transformer, len(classes))
    x_val, y_val = read_split(paths.validation, "validation", transformer, len(classes))
    return Data(x_train, y_train, x_val, y_val, classes, transformer)


def compute_threads() -> int:
    """The cores the job has: SageMaker's SM_NUM_CPUS (the instance's vCPUs), else the machine's.

    More threads change the order of floating-point sums, so a model is bit-identical on a rerun
    with the same thread count, not across counts (components/train/README.md).
    """
    value = os.environ.get("SM_NUM_CPUS", "")
    return max(1, int(value)) if value.isdigit() else (os.cpu_count() or 1)


def keep_freed_memory() -> None:
    """The C allocator's setting the model's handler makes too, from the serving package the
    source dir ships for the model (serving/memory.py: one home, not a copy). Imported when
    called: by then `run` has checked that the source dir has the package."""
    if str(INFERENCE_DIR) not in sys.path:
        sys.path.insert(0, str(INFERENCE_DIR))
    from serving.memory import keep_freed_memory as keep

    keep()


def handler_path(handler: str | None) -> Path:
    """The handler copied as code/inference.py (a source dir path the compiler names)."""
    if not handler:
        raise InputError(
            "bad argument: --inference_handler is required (the compiler passes its "
            "framework's handler, e.g. components/model/scripts/pytorch_handler.py)"
        )
    return SOURCE_ROOT / handler


def check_serving_code(handler: str | None) -> None:
    """Fail before training, not after, when the inference code is not in the source dir."""
    paths = [handler_path(handler), SERVING_PACKAGE / "__init__.py", REQUIREMENTS]
    missing = [str(p.relative_to(SOURCE_ROOT)) for p in paths if not p.is_file()]
    if missing:
        raise InputError(
            f"inference code missing: {', '.join(missing)} not in the source dir "
            "(the compiler packs the framework's handler and components/model/scripts/serving/)"
        )


def copy_serving_code(paths: Paths, handler: str | None) -> None:
    """Write `code/` beside the model: the handler, the serving package, requirements and
    artifacts."""
    check_serving_code(handler)
    code = paths.model_dir / "code"
    (code / "artifacts").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(handler_path(handler), code / "inference.py")
    shutil.copytree(
        SERVING_PACKAGE,
        code / "serving",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        dirs_exist_ok=True,
    )
    shutil.copyfile(REQUIREMENTS, code / "requirements.txt")
    for name in ("classes.json", "transformer.json"):
        shutil.copyfile(paths.artifacts / name, code / "artifacts" / name)


def log_epoch(epoch: int, loss: float, val_accuracy: float) -> None:
    """One line per epoch; the tuning job reads `val_accuracy: ([0-9\\.]+)`."""
    print(f"epoch: {epoch} loss: {loss:.6f} val_accuracy: {val_accuracy:.6f}", flush=True)


def run(
    framework: str,
    train: Callable[[A, Data, Paths], None],
    argv: Sequence[str] | None,
    parse: Callable[[Sequence[str] | None], A],
) -> int:
    """Check everything cheap first, then train and save; input errors exit 2 in one line."""
    prog = Path(sys.argv[0]).name or f"train_{framework}.py"
    try:
        args = parse(argv)
        paths = channel_paths()
        data = load_data(paths)
        check_serving_code(args.inference_handler)
        settings = " ".join(f"{k}={v}" for k, v in vars(args).items() if k != "inference_handler")
        print(
            f"training {framework} {data.kind} model: {len(data.y_train)} train / "
            f"{len(data.y_val)} validation samples, {data.n_features} features, "
            f"{data.n_classes} classes, {compute_threads()} thread(s); {settings}",
            flush=True,
        )
        paths.model_dir.mkdir(parents=True, exist_ok=True)
        train(args, data, paths)  # raises InputError only before it writes anything
    except InputError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr, flush=True)
        return 2
    copy_serving_code(paths, args.inference_handler)
    return 0

"""Serve a model.tar.gz on this machine: its own `code/inference.py`, called as its container would.

Which container a model needs is read from the container's environment, where the compiler wrote
the framework's serving protocol (`INFERENCE_SERVING_PROTOCOL`, kernel/frameworks.py):

- `pytorch-toolkit` (sagemaker-pytorch-inference-toolkit): `model_fn(model_dir)` once, then per
  request `input_fn(body, content_type)`, `predict_fn(data, model)`, `output_fn(prediction,
  accept)`; a function that takes one more parameter gets the request context, as the toolkit
  does; an error carrying `status_code`/`status` answers that status with its message, any other
  error 500. A missing or `*/*` Accept becomes `application/json`, the toolkit's default.
- `sagemaker-containers` (SageMaker's XGBoost container in script mode): `model_fn(model_dir)`
  once, then `input_fn(body, content_type)`, `predict_fn(data, model)`, `output_fn(prediction,
  accept)` without a context; a `(body, content type)` result answers 200, a response object its
  `status_code`, `get_data()` and `mimetype`; any handler error 500. Accept as the PyTorch toolkit.
- `tensorflow-serving` (sagemaker-tensorflow-serving-container): `input_handler(data, context)`
  builds the TensorFlow Serving REST body, which is answered here by the SavedModel's
  `serving_default` signature in this process (instead of a model server on port 8501), then
  `output_handler(response, context)` renders it; any handler error answers 500
  `{"error": "<message>"}` as the container does.

Frameworks are imported only when a model of theirs is loaded. Each handler is imported from its
own folder with its own sibling modules (the `serving` package), so two models in one process
never share them. Loaded models are safe to call from several threads (calls are serialised).
"""

from __future__ import annotations

import importlib.util
import inspect
import itertools
import json
import sys
import tarfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any, NamedTuple, get_args

from kernel.errors import ProblemError
from kernel.frameworks import PROTOCOL_ENV, Protocol

DEFAULT_ACCEPT = "application/json"
HANDLER = Path("code") / "inference.py"
SDK_PROGRAM_ENV = "SAGEMAKER_PROGRAM"  # the handler an SDK-created model names
# The serving container each SDK inference image is (its repository, as image_uris names it).
IMAGE_PROTOCOLS: dict[str, Protocol] = {
    "pytorch-inference": "pytorch-toolkit",
    "tensorflow-inference": "tensorflow-serving",
    "sagemaker-xgboost": "sagemaker-containers",
    "sagemaker-scikit-learn": "sagemaker-containers",
}
_module_ids = itertools.count()
_import_lock = threading.Lock()


@dataclass(frozen=True)
class Answer:
    """What the model container answered one request."""

    status: int
    body: bytes
    content_type: str


def protocol_of(container: dict[str, Any]) -> Protocol:
    """The serving protocol a model container's environment names, or for a model the SDK
    created (no such variable; SAGEMAKER_PROGRAM names its handler) the one its image is.

    Raises:
        ProblemError: neither says one the local engine can play, or the SDK's handler is not
            code/inference.py.
    """
    environment = container.get("Environment") or {}
    protocol = environment.get(PROTOCOL_ENV)
    image = str(container.get("Image", ""))
    known: tuple[Protocol, ...] = get_args(Protocol)
    for name in known:
        if protocol == name:
            return name
    program = environment.get(SDK_PROGRAM_ENV)
    if protocol is None and program not in (None, HANDLER.name):
        raise ProblemError(
            f"container Environment of image {image!r}",
            f"{SDK_PROGRAM_ENV} is {program!r}",
            f"the local engine serves a model with its {HANDLER.as_posix()}",
            f"name the inference script {HANDLER.name} (entry_point='{HANDLER.name}')",
        )
    by_image = IMAGE_PROTOCOLS.get(image.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0])
    if protocol is None and by_image is not None:
        return by_image
    raise ProblemError(
        f"container Environment of image {image!r}",
        f"{PROTOCOL_ENV} is {protocol!r}" if protocol else f"it has no {PROTOCOL_ENV}",
        f"the local engine plays the serving container that variable names (one of "
        f"{', '.join(known)}) or, without it, an SDK inference image "
        f"({', '.join(sorted(IMAGE_PROTOCOLS))})",
        "compile the pipeline again: the compiler writes the framework's protocol there; for "
        f"a definition of your own, set {PROTOCOL_ENV} in the model's Environment",
    )


def unpack_model(tarball: Path, dest: Path) -> Path:
    """Extract model.tar.gz into `dest` (as the container does into /opt/ml/model).

    Raises:
        ProblemError: the archive is unreadable or has no `code/inference.py`.
    """
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(tarball) as archive:
            archive.extractall(dest, filter="data")
    except (OSError, tarfile.TarError) as error:
        raise ProblemError(
            f"model data {tarball}",
            f"cannot unpack it ({type(error).__name__}: {str(error).splitlines()[0]})",
            "the model data must be the model.tar.gz a training job wrote",
            "check the ModelDataUrl (the training step's S3ModelArtifacts)",
        ) from error
    if not (dest / HANDLER).is_file():
        raise ProblemError(
            f"model data {tarball}",
            f"it has no {HANDLER.as_posix()}",
            "the model serves itself with the inference handler training copies next to it",
            "train with the project's train scripts, which copy components' inference code",
        )
    return dest


def import_handler(model_dir: Path) -> ModuleType:
    """Import `<model_dir>/code/inference.py` with its sibling modules private to it."""
    code = str(model_dir / "code")
    with _import_lock:
        before = set(sys.modules)
        sys.path.insert(0, code)
        try:
            spec = importlib.util.spec_from_file_location(
                f"_model_handler_{next(_module_ids)}", model_dir / HANDLER
            )
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        finally:
            sys.path.remove(code)
            # Siblings it imported (`serving`) stay referenced by the handler, not by name.
            for name in set(sys.modules) - before:
                origin = getattr(sys.modules[name], "__file__", None) or ""
                if origin.startswith(code):
                    del sys.modules[name]
    return module


def _call(function: Callable[..., Any], context: Any, *args: Any) -> Any:
    """Call a handler function as the PyTorch toolkit does: with the context if it takes one."""
    count = len(inspect.signature(function).parameters)
    if count == len(args) + 1:
        return function(*args, context)
    return function(*args)


class TorchContext:
    """The request context the PyTorch toolkit hands to handler functions."""

    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers
        self.status = 200
        self.phrase = "OK"
        self.content_type: str | None = None

    def set_response_status(self, code: int = 200, phrase: str = "", idx: int = 0) -> None:
        self.status, self.phrase = code, phrase

    def set_response_content_type(self, idx: int, value: str) -> None:
        self.content_type = value

    def get_request_header(self, idx: int, key: str) -> str | None:
        return self.headers.get(key.lower())


class TFSContext(NamedTuple):
    """The sagemaker-tensorflow-serving-container's handler context."""

    model_name: str
    model_version: str | None
    method: str
    rest_uri: str
    grpc_port: str
    channel: Any
    custom_attributes: str | None
    request_content_type: str | None
    accept_header: str | None
    content_length: int


def _text(body: Any) -> bytes:
    return body if isinstance(body, bytes) else str(body).encode("utf-8")


class PyTorchModel:
    """A model served by the PyTorch inference toolkit's rules."""

    def __init__(self, model_dir: Path) -> None:
        self.handler = import_handler(model_dir)
        self.lock = threading.Lock()
        self.model = _call(self.handler.model_fn, None, str(model_dir))

    def invoke(
        self, body: bytes, content_type: str | None, accept: str | None, attributes: str | None
    ) -> Answer:
        accept = accept if accept and accept != "*/*" else DEFAULT_ACCEPT
        headers = {"content-type": content_type or "", "accept": accept}
        if attributes is not None:
            headers["x-amzn-sagemaker-custom-attributes"] = attributes
        context = TorchContext(headers)
        handler = self.handler
        try:
            with self.lock:
                data = _call(handler.input_fn, context, body, content_type)
                prediction = _call(handler.predict_fn, context, data, self.model)
                result = _call(handler.output_fn, context, prediction, accept)
        except Exception as error:
            status = getattr(error, "status_code", None) or getattr(error, "status", None) or 500
            message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
            return Answer(int(status), _text(message), "text/plain")
        if isinstance(result, tuple):
            response, kind = result
        else:
            response, kind = result, context.content_type or accept
        return Answer(context.status, _text(response), str(kind))


class ContainersModel:
    """A model served by the sagemaker-containers rules (SageMaker's XGBoost container)."""

    def __init__(self, model_dir: Path) -> None:
        self.handler = import_handler(model_dir)
        self.lock = threading.Lock()
        self.model = self.handler.model_fn(str(model_dir))

    def invoke(
        self, body: bytes, content_type: str | None, accept: str | None, attributes: str | None
    ) -> Answer:
        accept = accept if accept and accept != "*/*" else DEFAULT_ACCEPT
        handler = self.handler
        try:
            with self.lock:
                data = handler.input_fn(body, content_type)
                prediction = handler.predict_fn(data, self.model)
                result = handler.output_fn(prediction, accept)
        except Exception as error:
            return Answer(500, _text(f"{type(error).__name__}: {error}"), "text/plain")
        if isinstance(result, tuple):
            response, kind = result
            return Answer(200, _text(response), str(kind))
        return Answer(int(result.status_code), _text(result.get_data()), str(result.mimetype))


class SavedModelServer:
    """TensorFlow Serving's REST predict API over a SavedModel, in this process."""

    def __init__(self, model_dir: Path) -> None:
        import tensorflow as tf

        versions = sorted(
            (p for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit()),
            key=lambda p: int(p.name),
        )
        if not versions:
            raise ProblemError(
                f"model data {model_dir}",
                "it has no SavedModel version folder (1/, 2/, ...)",
                "TensorFlow Serving loads <model>/<version>/saved_model.pb",
                "train with the project's TensorFlow train script",
            )
        self.tf = tf
        self.version = versions[-1].name
        self.signature = tf.saved_model.load(str(versions[-1])).signatures["serving_default"]
        self.inputs = self.signature.structured_input_signature[1]

    def predict(self, payload: Any) -> SimpleNamespace:
        """POST /v1/models/model:predict: `{"instances": ...}` or `{"inputs": ...}`."""
        try:
            request = json.loads(payload)
            rows = request["instances"] if "instances" in request else request["inputs"]
            if len(self.inputs) == 1:
                ((name, spec),) = self.inputs.items()
                feeds = {name: self.tf.constant(rows, dtype=spec.dtype)}
            else:
                feeds = {
                    name: self.tf.constant([row[name] for row in rows], dtype=spec.dtype)
                    for name, spec in self.inputs.items()
                }
            outputs = {
                name: value.numpy().tolist() for name, value in self.signature(**feeds).items()
            }
        except Exception as error:
            return SimpleNamespace(status_code=400, content=json.dumps({"error": str(error)}))
        if len(outputs) == 1:
            (predictions,) = outputs.values()
        else:
            count = len(next(iter(outputs.values())))
            predictions = [{k: v[i] for k, v in outputs.items()} for i in range(count)]
        return SimpleNamespace(status_code=200, content=json.dumps({"predictions": predictions}))


class TensorFlowModel:
    """A model served by the TensorFlow Serving container's rules."""

    def __init__(self, model_dir: Path) -> None:
        self.server = SavedModelServer(model_dir)
        self.handler = import_handler(model_dir)
        self.lock = threading.Lock()

    def invoke(
        self, body: bytes, content_type: str | None, accept: str | None, attributes: str | None
    ) -> Answer:
        import io

        context = TFSContext(
            model_name="model",
            model_version=self.server.version,
            method="predict",
            rest_uri="http://localhost:8501/v1/models/model:predict",
            grpc_port="9000",
            channel=None,
            custom_attributes=attributes,
            request_content_type=content_type,
            accept_header=accept,
            content_length=len(body),
        )
        try:
            with self.lock:
                request = self.handler.input_handler(io.BytesIO(body), context)
                response = self.server.predict(request)
                text, kind = self.handler.output_handler(response, context)
        except Exception as error:
            return Answer(500, json.dumps({"error": str(error)}).encode(), "application/json")
        return Answer(200, _text(text), str(kind))


Model = PyTorchModel | TensorFlowModel | ContainersModel
PLAYERS: dict[Protocol, Callable[[Path], Model]] = {
    "pytorch-toolkit": PyTorchModel,
    "tensorflow-serving": TensorFlowModel,
    "sagemaker-containers": ContainersModel,
}


def load_model(model_dir: Path, protocol: Protocol) -> Model:
    """The unpacked model at `model_dir`, served by the container `protocol` names."""
    return PLAYERS[protocol](model_dir)

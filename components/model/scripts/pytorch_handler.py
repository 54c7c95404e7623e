"""Handler functions for the SageMaker PyTorch inference container.

Training copies this file to `<model>/code/inference.py`, the `serving` package beside it and the
preprocess artifacts to `<model>/code/artifacts/`; the model is the TorchScript `model.pt`.

Bad requests: each function raises `InferenceRequestError` carrying the 4xx status (a
`sagemaker_inference.errors.GenericInferenceToolkitError` in the container). The toolkit appends
a traceback to the body of any error it catches, so when the toolkit hands over its request
context (the optional last argument), `input_fn` instead sets the status on the context and the
error travels as a value to `output_fn`, which answers `{"error", "status"}` without a trace.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

CODE_DIR = Path(__file__).resolve().parent
if str(CODE_DIR) not in sys.path:
    sys.path.insert(0, str(CODE_DIR))

import numpy as np  # noqa: E402
import serving  # noqa: E402

# Rows through the network at once: a 6 MB batch-transform request holds ~3,000 MNIST images,
# whose convolution outputs alone would take over a gigabyte in one pass.
MODEL_ROWS = 256

try:
    from sagemaker_inference.errors import GenericInferenceToolkitError
except ImportError:  # outside the container
    GenericInferenceToolkitError = None

if GenericInferenceToolkitError is not None:

    class InferenceRequestError(GenericInferenceToolkitError):  # type: ignore[misc]
        """A bad request; `status_code` (and `status`) is the HTTP status to answer."""

        def __init__(self, status: int, message: str) -> None:
            super().__init__(status, message, serving.status_phrase(status))
            self.status = status

        def __str__(self) -> str:
            return str(self.message)

else:
    InferenceRequestError = serving.RequestError  # type: ignore[misc,assignment]


_artifacts_dir = CODE_DIR / "artifacts"  # model_fn names the loaded model's


def artifacts() -> serving.Artifacts:
    """The classes and transformer: those of the model `model_fn` loaded, else those beside
    this file."""
    return serving.artifacts_in(_artifacts_dir)


def _raise(error: serving.RequestError) -> NoReturn:
    raise InferenceRequestError(error.status, error.message) from None


def _refuse(error: serving.RequestError, context: Any) -> serving.Refused:
    """Set the status on the request context, or raise when there is none to set it on."""
    setter = getattr(context, "set_response_status", None)
    if setter is None:
        _raise(error)
    setter(code=error.status, phrase=serving.status_phrase(error.status))
    return serving.Refused(error)


def model_fn(model_dir: str) -> Any:
    """Load the TorchScript model `model_dir/model.pt` and the artifacts in `model_dir/code`."""
    serving.keep_freed_memory()  # batches of MODEL_ROWS: their blocks kept, not faulted in again
    import torch

    global _artifacts_dir
    _artifacts_dir = Path(model_dir) / "code" / "artifacts"
    artifacts()  # a broken transformer.json fails the model's loading, not its first request
    path = str(Path(model_dir) / "model.pt")
    model = torch.jit.load(path, map_location="cpu").eval()  # type: ignore[no-untyped-call]
    with warnings.catch_warnings():  # PyTorch after 2.6 deprecates TorchScript; 2.6 serves it
        warnings.simplefilter("ignore", DeprecationWarning)
        # Weights as constants, each convolution fused with its ReLU: 10,000 28x28 digits
        # through the network in 1.7 s instead of 3.2.
        return torch.jit.optimize_for_inference(torch.jit.freeze(model))


def input_fn(request_body: Any, request_content_type: str, context: Any = None) -> Any:
    """Parse the request into float32 features [n, n_features].

    Raises:
        InferenceRequestError: a bad request (only when no context is given, see module docs).
    """
    try:
        return serving.parse_request(request_body, request_content_type, artifacts())
    except serving.RequestError as error:
        if context is None:
            _raise(error)
        return _refuse(error, context)


def predict_fn(data: Any, model: Any, context: Any = None) -> Any:
    """Class probabilities [n, n_classes] for the features (a refusal passes through)."""
    if isinstance(data, serving.Refused):
        return data
    import torch

    features = torch.from_numpy(np.ascontiguousarray(data, dtype=np.float32))
    with torch.no_grad():  # a few hundred rows at a time: a batch transform sends thousands
        parts = [
            model(features[start : start + MODEL_ROWS]) for start in range(0, len(data), MODEL_ROWS)
        ]
    return torch.cat(parts).numpy()


def output_fn(prediction: Any, accept: str | None, context: Any = None) -> tuple[str, str]:
    """Render the response (body, content type): predictions, or the refusal without a trace.

    Raises:
        InferenceRequestError: the accept type is not supported and there is no context.
    """
    if isinstance(prediction, serving.Refused):
        return serving.error_body(prediction.error), serving.JSON
    try:
        return serving.format_predictions(prediction, artifacts(), accept)
    except serving.RequestError as error:
        if context is None:
            _raise(error)
        refused = _refuse(error, context)
        return serving.error_body(refused.error), serving.JSON


def predictor(model_dir: str) -> Callable[[np.ndarray], np.ndarray]:
    """The evaluate job's view of the model: float32 features -> class probabilities."""
    model = model_fn(model_dir)

    def predict(features: np.ndarray) -> np.ndarray:
        return np.asarray(predict_fn(features, model))

    return predict

"""Pre- and post-processing for the SageMaker TensorFlow Serving container.

Training copies this file to `<model>/code/inference.py`, the `serving` package beside it and
the preprocess artifacts to `<model>/code/artifacts/`. The container calls `input_handler` with
the request and posts what it returns to TensorFlow Serving's REST API, then calls
`output_handler` with TensorFlow Serving's answer. Serving never imports TensorFlow: the model
runs in the model server; only `predictor` (the evaluate job's) loads the SavedModel itself.
The serving image has neither numpy nor Pillow, and nothing is installed at start: the handler
uses the standard library only (`serving.parse_rows`), and refuses image URLs there.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

CODE_DIR = Path(__file__).resolve().parent
ARTIFACTS_DIR = CODE_DIR / "artifacts"
if str(CODE_DIR) not in sys.path:
    # The container loads this file by path; its sibling `serving` is not importable otherwise.
    sys.path.insert(0, str(CODE_DIR))

import serving  # noqa: E402

if TYPE_CHECKING:
    import numpy as np

_artifacts: serving.Artifacts | None = None


def artifacts() -> serving.Artifacts:
    """The classes and transformer shipped with the model, read once."""
    global _artifacts
    if _artifacts is None:
        _artifacts = serving.load_artifacts(ARTIFACTS_DIR)
    return _artifacts


def _read(data: Any) -> Any:
    """The request body, whether the container hands over a stream, bytes or text."""
    if hasattr(data, "read"):
        return data.read()
    return data


def _refuse(error: serving.RequestError) -> serving.RequestError:
    # The container answers any handler exception with HTTP 500 and {"error": str(exception)},
    # so the message leads with the status the request deserves.
    status = f"{error.status} {serving.status_phrase(error.status)}"
    return serving.RequestError(error.status, f"{status}: {error.message}")


def input_handler(data: Any, context: Any) -> str:
    """Turn a request into the TensorFlow Serving REST body `{"instances": [[...], ...]}`.

    Args:
        data: the request body (a stream in the container).
        context: carries `request_content_type` and `accept_header`.

    Raises:
        serving.RequestError: a bad request; the message says what to fix.
    """
    try:
        serving.response_type(getattr(context, "accept_header", None))
        features = serving.parse_rows(
            _read(data), getattr(context, "request_content_type", None), artifacts()
        )
    except serving.RequestError as error:
        raise _refuse(error) from None
    return json.dumps({"instances": features})


def output_handler(response: Any, context: Any) -> tuple[str, str]:
    """Turn TensorFlow Serving's answer into the endpoint's response (body, content type).

    Args:
        response: TensorFlow Serving's HTTP response (`status_code`, `content`).
        context: carries `accept_header`.
    """
    content = response.content
    if isinstance(content, (bytes, bytearray)):
        content = content.decode("utf-8", errors="replace")
    if response.status_code != 200:
        raise RuntimeError(f"TensorFlow Serving answered {response.status_code}: {content[:500]}")
    predictions = json.loads(content)["predictions"]
    return serving.format_predictions(
        predictions,
        artifacts(),
        getattr(context, "accept_header", None),
    )


def predictor(model_dir: str) -> Callable[[np.ndarray], np.ndarray]:
    """The evaluate job's view of the model: float32 features -> class probabilities.

    Calls the SavedModel's `serving_default` signature, as TensorFlow Serving does.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf

    signature = tf.saved_model.load(str(Path(model_dir) / "1")).signatures["serving_default"]
    input_name = next(iter(signature.structured_input_signature[1]))

    def predict(features: np.ndarray) -> np.ndarray:
        result = signature(**{input_name: tf.constant(features)})
        return np.asarray(result["probabilities"].numpy())

    return predict

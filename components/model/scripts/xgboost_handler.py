"""Handler functions for SageMaker's XGBoost framework container (script mode).

Training copies this file to `<model>/code/inference.py`, the `serving` package beside it and the
preprocess artifacts to `<model>/code/artifacts/`; the model is the booster `model.json`. The
container finds this file by its environment (`SAGEMAKER_PROGRAM=inference.py`,
`SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code`, set by the pipeline), then calls
`model_fn(model_dir)` once and per request `input_fn(body, content_type)`,
`predict_fn(data, model)` and `output_fn(prediction, accept)`.

Bad requests: the container answers any handler exception with 500, so `input_fn` passes a
refusal on as a value and `output_fn` answers it as a response object carrying the 4xx status
(the container's `worker.Response`), with `{"error", "status"}` and no trace.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

CODE_DIR = Path(__file__).resolve().parent
if str(CODE_DIR) not in sys.path:
    sys.path.insert(0, str(CODE_DIR))

import numpy as np  # noqa: E402
import serving  # noqa: E402

MODEL_FILE = "model.json"  # written by train_xgboost.py


class Response:
    """Outside the container: the fields of the container's `worker.Response` that matter."""

    def __init__(self, response: str, status: int, mimetype: str) -> None:
        self.status_code, self.mimetype = status, mimetype
        self._body = response.encode("utf-8")

    def get_data(self) -> bytes:
        return self._body


try:
    from sagemaker_containers.beta.framework import worker

    _response: Any = worker.Response
except ImportError:  # outside the container
    _response = Response


def artifacts() -> serving.Artifacts:
    """The classes and transformer shipped with the model."""
    return serving.artifacts_in(CODE_DIR / "artifacts")


def model_fn(model_dir: str) -> Any:
    """Load the booster `model_dir/model.json`."""
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(str(Path(model_dir) / MODEL_FILE))
    return booster


def input_fn(request_body: Any, request_content_type: str) -> Any:
    """Parse the request into float32 features [n, n_features], or a refusal."""
    try:
        return serving.parse_request(request_body, request_content_type, artifacts())
    except serving.RequestError as error:
        return serving.Refused(error)


def predict_fn(data: Any, model: Any) -> Any:
    """Class probabilities [n, n_classes] for the features (a refusal passes through)."""
    if isinstance(data, serving.Refused):
        return data
    import xgboost as xgb

    features = xgb.DMatrix(np.ascontiguousarray(data, dtype=np.float32))
    return np.asarray(model.predict(features)).reshape(len(data), -1)


def output_fn(prediction: Any, accept: str | None) -> Any:
    """The response: (body, content type) for predictions, a 4xx response for a refusal."""
    try:
        if isinstance(prediction, serving.Refused):
            raise prediction.error
        return serving.format_predictions(prediction, artifacts(), accept)
    except serving.RequestError as error:
        return _response(
            response=serving.error_body(error), status=error.status, mimetype=serving.JSON
        )


def predictor(model_dir: str) -> Callable[[np.ndarray], np.ndarray]:
    """The evaluate job's view of the model: float32 features -> class probabilities."""
    model = model_fn(model_dir)

    def predict(features: np.ndarray) -> np.ndarray:
        return np.asarray(predict_fn(features, model))

    return predict

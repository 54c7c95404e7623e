"""One request end to end: parse, predict, format; a refusal never leaks a traceback."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .artifacts import Artifacts, load_artifacts
from .parse import parse_request
from .protocol import JSON, JSONLINES, RequestError, error_body, response_type

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

    from .parse import Body, Fetch

    Predict = Callable[[np.ndarray], Any]

log = logging.getLogger(__name__)


def format_predictions(
    probabilities: Any, artifacts: Artifacts, accept: str | None = None
) -> tuple[str, str]:
    """Render class probabilities [n, n_classes] as the response body and its content type.

    Each sample becomes `{"prediction": index, "label": name, "confidence": p}`, in request
    order: a JSON array, or one object a line for `application/jsonlines`. A binary model's
    answers also carry `"probability"`: the positive class's probability.
    """
    kind = response_type(accept)
    scores = _matrix(probabilities)
    width = len(artifacts.classes)
    if scores is None or any(len(row) != width for row in scores):
        raise ValueError(
            f"the model returned {_shape(probabilities)}; expected [n, {width}] class probabilities"
        )
    results = []
    for row in scores:
        index = row.index(max(row))  # the first of equal maxima, as numpy's argmax
        answer = {
            "prediction": index,
            "label": artifacts.classes[index],
            "confidence": _probability(row[index]),
        }
        if artifacts.positive is not None:
            answer["probability"] = _probability(row[artifacts.positive])
        results.append(answer)
    if kind == JSONLINES:
        return "".join(json.dumps(item) + "\n" for item in results), JSONLINES
    return json.dumps(results), JSON


def _matrix(probabilities: Any) -> list[list[float]] | None:
    """Probabilities (an array or nested lists; one row may come flat) as rows of floats, or
    None when they are not a matrix of numbers. Pure Python: TensorFlow Serving's image has no
    numpy."""
    rows = probabilities.tolist() if hasattr(probabilities, "tolist") else probabilities
    if not isinstance(rows, list) or not rows:
        return None
    if not any(isinstance(row, list) for row in rows):
        rows = [rows]
    try:
        return [[float(value) for value in row] for row in rows]
    except (TypeError, ValueError):
        return None


def _shape(probabilities: Any) -> str:
    shape = getattr(probabilities, "shape", None)
    if shape is not None:
        return f"shape {tuple(shape)}"
    return f"a {type(probabilities).__name__}"


def _probability(value: float) -> float:
    return float(min(1.0, max(0.0, value)))


def invoke(
    predict: Predict,
    artifacts: Artifacts | str | Path,
    body: Body | None,
    content_type: str | None,
    accept: str | None = None,
    *,
    fetch: Fetch | None = None,
) -> tuple[int, str | bytes, str]:
    """Answer one request end to end: parse, predict, format. Never raises, never leaks a trace.

    Args:
        predict: features float32 [n, n_features] -> probabilities [n, n_classes].
        artifacts: loaded artifacts or the folder holding them.
        body, content_type, accept: the request.
        fetch: image downloader (default: `fetch_image`).

    Returns:
        (status, body, content_type): 200 with predictions, 4xx with `{"error", "status"}` for a
        bad request, 500 with a generic message (details go to the log) for a server fault.
    """
    try:
        if not isinstance(artifacts, Artifacts):
            artifacts = load_artifacts(artifacts)
        response_type(accept)
        features = parse_request(body, content_type, artifacts, fetch=fetch)
        probabilities = predict(features)
        text, kind = format_predictions(probabilities, artifacts, accept)
        return 200, text, kind
    except RequestError as error:
        return error.status, error_body(error), JSON
    except Exception:
        log.exception("inference failed")
        message = "the model failed to answer this request; the endpoint logs have the details"
        return 500, json.dumps({"error": message, "status": 500}), JSON

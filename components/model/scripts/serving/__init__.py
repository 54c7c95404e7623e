"""Framework-free request handling shared by every inference handler.

Turns a request body into the float32 feature matrix the model was trained on (with the same
`transformer.json` the preprocess step wrote), downloads image URLs safely, and formats class
probabilities as the response. It needs only the standard library (TensorFlow Serving's image has
neither numpy nor Pillow, and no container installs anything at start): `parse_rows` gives plain
lists, `parse_request` the same as a numpy array for the images that have numpy; numpy and
Pillow are imported only when an image URL is decoded. It runs inside the serving containers
(Python 3.9+), so it never imports a framework or anything from the compiler. Training copies
this package beside the handler into model.tar.gz (code/serving/).

Every problem with a request raises `RequestError(status, message)`; `invoke` turns it into a
4xx JSON answer and never lets a traceback reach the client.

Modules: `protocol` (content types, errors), `artifacts` (classes and transformer), `parse`
(request -> features), `download` (image URLs), `respond` (predictions -> response, `invoke`),
`memory` (the C allocator's setting for scoring in batches, shared with training).
"""

from .artifacts import POSITIVE_CLASS_ENV, Artifacts, artifacts_in, load_artifacts
from .download import ALLOWLIST_ENV, download, fetch_image, forbidden_reason, image_pixels
from .memory import keep_freed_memory
from .parse import (
    MAX_IMAGE_URLS,
    MAX_REQUEST_BYTES,
    MAX_SAMPLES,
    parse_request,
    parse_rows,
    split_samples,
)
from .protocol import (
    CONTENT_TYPES,
    JSON,
    JSONLINES,
    Refused,
    RequestError,
    error_body,
    media_type,
    response_type,
    status_phrase,
)
from .respond import format_predictions, invoke

__all__ = [
    "ALLOWLIST_ENV",
    "CONTENT_TYPES",
    "JSON",
    "JSONLINES",
    "MAX_IMAGE_URLS",
    "MAX_REQUEST_BYTES",
    "MAX_SAMPLES",
    "POSITIVE_CLASS_ENV",
    "Artifacts",
    "Refused",
    "RequestError",
    "artifacts_in",
    "download",
    "error_body",
    "fetch_image",
    "forbidden_reason",
    "format_predictions",
    "image_pixels",
    "invoke",
    "keep_freed_memory",
    "load_artifacts",
    "media_type",
    "parse_request",
    "parse_rows",
    "response_type",
    "split_samples",
    "status_phrase",
]

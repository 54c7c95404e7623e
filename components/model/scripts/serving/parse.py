"""Request bodies to the float32 feature matrix the model was trained on.

The same `transformer.json` the preprocess step wrote turns records into features; image samples
are pixels or URLs (downloaded by `download.fetch_image`).
"""

from __future__ import annotations

import json
import math
from array import array
from typing import TYPE_CHECKING, Any

from .artifacts import Artifacts
from .download import fetch_image
from .protocol import CONTENT_TYPES, JSON, JSONLINES, RequestError, media_type

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

    Body = bytes | bytearray | memoryview | str
    # An image downloader: (url, side) -> side*side raw 0..255 pixels (a list or an array).
    Fetch = Callable[..., Any]

# SageMaker real-time endpoints accept at most 6 MB per request; larger bodies never reach us,
# the cap only protects local use (tests, a local endpoint).
MAX_REQUEST_BYTES = 6 * 1024 * 1024
# A batch transform's MultiRecord request holds up to MaxPayloadInMB (6 MB) of records: about
# 2,000 MNIST rows, 40,000 penguins rows. The cap only bounds memory, so it must not bind first.
MAX_SAMPLES = 100_000
# Each URL may take up to the download timeout; keep a request well under the 60 s endpoint limit.
MAX_IMAGE_URLS = 8


def _to_text(body: Body | None) -> str:
    if body is None:
        raise RequestError(400, "the request body is empty; send one sample or a list of samples")
    if isinstance(body, str):
        size = len(body.encode("utf-8"))
        text = body
    else:
        raw = bytes(body)
        size = len(raw)
        text = ""
    if size > MAX_REQUEST_BYTES:
        raise RequestError(
            413, f"the request body has {size} bytes; the limit is {MAX_REQUEST_BYTES} bytes"
        )
    if not isinstance(body, str):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise RequestError(
                400, f"the request body is not UTF-8 text (byte {error.start}); send JSON"
            ) from None
    if not text.strip():
        raise RequestError(400, "the request body is empty; send one sample or a list of samples")
    return text


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _load_json(text: str, where: str) -> Any:
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except ValueError as error:
        raise RequestError(400, f"{where} is not valid JSON: {error}") from None
    except RecursionError:
        raise RequestError(400, f"{where} is nested too deeply to be a sample") from None


_NUMBERS = {int, float}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_flat_pixels(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(_is_number(v) for v in value)


def split_samples(body: Body | None, content_type: str | None, artifacts: Artifacts) -> list[Any]:
    """Decode the body into a list of raw samples (records, pixel lists, URL objects).

    `application/json` holds one sample or a list of samples; for digits a bare list of numbers
    is one flat image, a list of lists is a batch. `application/jsonlines` holds one sample a line.
    """
    kind = media_type(content_type)
    if kind not in CONTENT_TYPES:
        shown = content_type if content_type else "none"
        raise RequestError(
            415, f"content type {shown!r} is not supported; send {JSON} or {JSONLINES}"
        )
    text = _to_text(body)
    if kind == JSONLINES:
        samples = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                samples.append(_load_json(line, f"line {number} of the JSON lines body"))
    else:
        document = _load_json(text, "the request body")
        if isinstance(document, list) and not (
            artifacts.kind == "image" and _is_flat_pixels(document)
        ):
            samples = document
        else:
            samples = [document]
    if not samples:
        raise RequestError(400, "the request holds no samples (empty list); send at least one")
    if len(samples) > MAX_SAMPLES:
        raise RequestError(
            413, f"the request holds {len(samples)} samples; the limit is {MAX_SAMPLES} a request"
        )
    return samples


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    return f"{value!r}"


def _numeric_value(record: dict[str, Any], spec: dict[str, Any], where: str) -> float:
    value = record.get(spec["name"])
    if value is None or (isinstance(value, str) and not value.strip()):
        return float(spec["fill"])
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = math.nan
    elif _is_number(value):
        number = float(value)
    else:
        number = math.nan
    if not math.isfinite(number):
        raise RequestError(
            400,
            f"{where}: {spec['name']!r} must be a number (or null when missing), "
            f"got {_describe(value)}",
        )
    return number


def _categorical_value(record: dict[str, Any], spec: dict[str, Any], where: str) -> str:
    value = record.get(spec["name"])
    if value is None or (isinstance(value, str) and not value.strip()):
        return str(spec["fill"])
    if _is_number(value):
        return str(value)  # the preprocess compares categories as text, too
    if not isinstance(value, str):
        raise RequestError(
            400,
            f"{where}: {spec['name']!r} must be a string, one of "
            f"{', '.join(map(str, spec['categories']))} (or null when missing), "
            f"got {_describe(value)}",
        )
    return value


def float32(values: Any) -> list[float]:
    """`values` rounded to float32, as Python floats (what `ndarray.tolist()` of float32 gives)."""
    return array("f", values).tolist()


def tabular_row(sample: Any, artifacts: Artifacts, where: str) -> list[float]:
    """Transform one raw record exactly as the preprocess did.

    Numeric: (value, or fill when missing, - mean) / scale. Categorical: one-hot over the fitted
    categories (unknown -> all zeros), missing -> fill. Keys that are not features are ignored.
    """
    if not isinstance(sample, dict):
        raise RequestError(
            400,
            f"{where}: expected an object with the feature columns "
            f"({', '.join(artifacts.columns)}), got {_describe(sample)}",
        )
    if not any(name in sample for name in artifacts.columns):
        keys = ", ".join(sorted(map(str, sample))) or "none"
        raise RequestError(
            400,
            f"{where}: none of the feature columns ({', '.join(artifacts.columns)}) is present; "
            f"got keys: {keys}",
        )
    row: list[float] = []
    for spec in artifacts.numeric:
        number = _numeric_value(sample, spec, where)
        scale = float(spec["scale"]) or 1.0
        row.append((number - float(spec["mean"])) / scale)
    for spec in artifacts.categorical:
        value = _categorical_value(sample, spec, where)
        row.extend(1.0 if value == str(category) else 0.0 for category in spec["categories"])
    return float32(row)


def _pixel_list(pixels: Any, side: int, where: str) -> list[float]:
    expected = side * side
    if isinstance(pixels, list) and pixels and all(isinstance(r, list) for r in pixels):
        if len(pixels) != side or any(len(r) != side for r in pixels):
            shape = f"{len(pixels)} rows of {sorted({len(r) for r in pixels})} values"
            raise RequestError(
                400, f"{where}: a nested pixel list must be {side} x {side}; got {shape}"
            )
        flat = [v for r in pixels for v in r]
    elif isinstance(pixels, list):
        flat = pixels
        if len(flat) != expected:
            raise RequestError(
                400,
                f"{where}: expected {expected} pixels ({side} x {side}, row-major), "
                f"got {len(flat)}",
            )
    else:
        raise RequestError(
            400, f"{where}: 'pixels' must be a list of {expected} numbers, got {_describe(pixels)}"
        )
    if not set(map(type, flat)) <= _NUMBERS:  # what JSON gives numbers as; a bool is refused
        bad = next(v for v in flat if not _is_number(v))
        raise RequestError(400, f"{where}: pixels must be numbers 0..255, got {_describe(bad)}")
    # JSON has no NaN (refused on parsing) and overflows to +-inf: the range check covers both.
    low, high = min(flat), max(flat)
    if low < 0 or high > 255:
        raise RequestError(
            400,
            f"{where}: pixel values must lie in 0..255 (raw, like the training CSV), "
            f"got {float(low):g}..{float(high):g}",
        )
    return list(flat)


def _flat(pixels: Any) -> list[float]:
    """A fetched image's pixels (a list, nested rows or an array) as one row-major list."""
    values = pixels.tolist() if hasattr(pixels, "tolist") else pixels
    if values and isinstance(values[0], list):
        values = [v for row in values for v in row]
    return list(values)


def image_pixels(sample: Any, artifacts: Artifacts, where: str, fetch: Fetch) -> list[float]:
    """One image sample's raw 0..255 pixels, row-major, checked."""
    side = artifacts.side
    if isinstance(sample, dict):
        has_url, has_pixels = "image_url" in sample, "pixels" in sample
        if has_url and has_pixels:
            raise RequestError(400, f"{where}: give either 'image_url' or 'pixels', not both")
        if has_url:
            url = sample["image_url"]
            if not isinstance(url, str) or not url.strip():
                raise RequestError(
                    400, f"{where}: 'image_url' must be an http(s) URL, got {_describe(url)}"
                )
            try:
                flat = _flat(fetch(url.strip(), side))
            except RequestError as error:
                raise RequestError(error.status, f"{where}: {error.message}") from None
        elif has_pixels:
            flat = _pixel_list(sample["pixels"], side, where)
        else:
            keys = ", ".join(sorted(map(str, sample))) or "none"
            raise RequestError(400, f"{where}: expected 'image_url' or 'pixels'; got keys: {keys}")
    elif isinstance(sample, list):
        flat = _pixel_list(sample, side, where)
    else:
        raise RequestError(
            400,
            f"{where}: expected {{'image_url': ...}}, {{'pixels': [...]}} or a flat list of "
            f"{side * side} pixels, got {_describe(sample)}",
        )
    return flat


def parse_request(
    body: Body | None,
    content_type: str | None,
    artifacts: Artifacts,
    *,
    fetch: Fetch | None = None,
) -> np.ndarray:
    """The float32 feature matrix [n, n_features] of a request, samples in request order.

    The handlers whose images have numpy (PyTorch, XGBoost) and the evaluate job take this;
    `parse_rows` is the same without numpy, for the TensorFlow Serving image, which has none.
    """
    import numpy as np

    if artifacts.kind == "image":  # scaled as one matrix, the same float32 values as row by row:
        # a batch transform's 2,800 MNIST images parse in 0.29 s of CPU instead of 0.50
        pixels = image_samples(body, content_type, artifacts, fetch)
        return (np.array(pixels, dtype=np.float64) / artifacts.scale).astype(np.float32)
    return np.asarray(parse_rows(body, content_type, artifacts, fetch=fetch), dtype=np.float32)


def parse_rows(
    body: Body | None,
    content_type: str | None,
    artifacts: Artifacts,
    *,
    fetch: Fetch | None = None,
) -> list[list[float]]:
    """The request's features [n][n_features] as float32 values, samples in request order.

    Args:
        body: the raw request body (bytes or text).
        content_type: the request's Content-Type header.
        artifacts: what `load_artifacts` read.
        fetch: downloads an image URL to side x side raw pixels (default: `fetch_image`).

    Raises:
        RequestError: anything wrong with the request, with the status to answer.
    """
    if artifacts.kind == "image":
        pixels = image_samples(body, content_type, artifacts, fetch)
        # value / scale, at C speed
        return [float32(map(artifacts.scale.__rtruediv__, flat)) for flat in pixels]
    samples = split_samples(body, content_type, artifacts)
    single = len(samples) == 1
    return [
        tabular_row(sample, artifacts, "the sample" if single else f"sample {index}")
        for index, sample in enumerate(samples, start=1)
    ]


def image_samples(
    body: Body | None, content_type: str | None, artifacts: Artifacts, fetch: Fetch | None
) -> list[list[float]]:
    """Each image sample's raw 0..255 pixels, checked, samples in request order."""
    samples = split_samples(body, content_type, artifacts)
    urls = sum(1 for s in samples if isinstance(s, dict) and "image_url" in s)
    if urls > MAX_IMAGE_URLS:
        raise RequestError(
            413,
            f"the request holds {urls} image URLs; the limit is {MAX_IMAGE_URLS} a request "
            f"(send pixels for larger batches)",
        )
    single = len(samples) == 1
    return [
        image_pixels(
            sample, artifacts, "the sample" if single else f"sample {index}", fetch or fetch_image
        )
        for index, sample in enumerate(samples, start=1)
    ]

"""Model Monitor record preprocessor: captured requests -> records shaped like the baseline.

SageMaker Model Monitor's analyzer container calls `preprocess_handler(inference_record)` once
per captured request. The data-quality baseline (`baseline/train.jsonl` from the preprocess step)
holds the raw feature columns by name, so each captured request is turned into flat dicts with
exactly those keys: numeric features as floats, categorical ones as strings, null when missing.
Anything else in the request (ids, `species`, `sex`, unknown keys) and the endpoint's output are
dropped. A batch request (a JSON list, or JSON lines) gives a list of records; a request that is
not feature records (bad JSON, image samples) gives `[]`, which Model Monitor skips.

The monitoring job's environment names the features, from the project's config: the schedule
handler sets `MONITOR_NUMERIC_FEATURES` and `MONITOR_CATEGORICAL_FEATURES` (comma-separated; a
list too long for one value comes as `_0`, `_1`, ... parts) from `numeric_features` /
`categorical_features`, and `MONITOR_PIXEL_FEATURES=true` for images, whose `pixels` become
`p0`..`pN` as in the image data-quality baseline. There is no default: a job that names no
features fails, saying so, rather than dropping every request. Standard library only.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import os
from typing import Any

NUMERIC_ENV = "MONITOR_NUMERIC_FEATURES"
CATEGORICAL_ENV = "MONITOR_CATEGORICAL_FEATURES"
PIXELS_ENV = "MONITOR_PIXEL_FEATURES"

_log = logging.getLogger(__name__)


def feature_columns() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(numeric, categorical) feature names, from the environment (whole, or in parts).

    Raises:
        ValueError: the job names no features (and no pixels): nothing could be analysed.
    """

    def names(variable: str) -> tuple[str, ...]:
        value = os.environ.get(variable)
        if value is None:
            parts, i = [], 0
            while f"{variable}_{i}" in os.environ:
                parts.append(os.environ[f"{variable}_{i}"])
                i += 1
            value = ",".join(parts)
        return tuple(n.strip() for n in value.split(",") if n.strip())

    numeric, categorical = names(NUMERIC_ENV), names(CATEGORICAL_ENV)
    if not numeric and not categorical and not pixel_features():
        raise ValueError(
            f"the monitoring job names no features: set {NUMERIC_ENV} / {CATEGORICAL_ENV} "
            f"(or {PIXELS_ENV}=true); the pipeline's schedule step sets them from the config"
        )
    return numeric, categorical


def pixel_features() -> bool:
    return os.environ.get(PIXELS_ENV, "").strip().lower() == "true"


def flat_pixels(sample: dict[str, Any]) -> dict[str, Any] | None:
    """An image request's pixels as p0..pN (0..255), the image data-quality baseline's columns."""
    pixels = sample.get("pixels")
    if isinstance(pixels, list) and pixels and all(isinstance(r, list) for r in pixels):
        pixels = [value for row in pixels for value in row]  # side x side -> flat
    if not isinstance(pixels, list) or not pixels:
        return None
    return {f"p{i}": _pixel(value) for i, value in enumerate(pixels)}


def _pixel(value: Any) -> int | float | None:
    """A whole pixel value as an int: the baseline's pixels are JSON integers (Integral), and a
    float would fail every pixel's data-type check."""
    number = _number(value)
    return int(number) if number is not None and number.is_integer() else number


def _text(data: Any, encoding: str | None) -> str:
    """The captured body as text; Model Monitor stores it as JSON/CSV text or BASE64."""
    if isinstance(data, (bytes, bytearray)):
        data = bytes(data).decode("utf-8-sig")
    if not isinstance(data, str):
        raise ValueError(f"captured data is {type(data).__name__}, not text")
    if (encoding or "").upper() == "BASE64":
        try:
            return base64.b64decode(data, validate=True).decode("utf-8-sig")
        except (binascii.Error, UnicodeDecodeError) as error:
            raise ValueError(f"BASE64 data does not decode to UTF-8 text: {error}") from None
    return data


def parse_samples(
    data: Any, encoding: str | None, content_type: str | None
) -> tuple[list[Any], bool]:
    """The request's samples and whether it was a batch (a JSON list, or JSON lines).

    Raises:
        ValueError: the data is not JSON (or JSON lines).
    """
    if isinstance(data, (dict, list)):  # some containers hand over parsed JSON
        document: Any = data
    else:
        text = _text(data, encoding)
        kind = (content_type or "").split(";", 1)[0].strip().lower()
        if kind == "application/jsonlines":
            return [json.loads(line) for line in text.splitlines() if line.strip()], True
        document = json.loads(text)
    if isinstance(document, list):
        return document, True
    return [document], False


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str) and value.strip():
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _category(value: Any) -> str | None:
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # the inference handler compares categories as text, too
    return None


def to_record(
    sample: dict[str, Any], numeric: tuple[str, ...], categorical: tuple[str, ...]
) -> dict[str, Any]:
    """One baseline-shaped record: every feature key, typed like the baseline, nothing else."""
    record: dict[str, Any] = {name: _number(sample.get(name)) for name in numeric}
    record.update({name: _category(sample.get(name)) for name in categorical})
    return record


def preprocess_handler(inference_record: Any, logger: Any = None) -> Any:
    """Model Monitor's per-record hook: a dict for one sample, a list for a batch, [] to skip."""
    log = logger or _log
    endpoint_input = getattr(inference_record, "endpoint_input", None)
    numeric, categorical = feature_columns()
    try:
        samples, is_batch = parse_samples(
            getattr(endpoint_input, "data", None),
            getattr(endpoint_input, "encoding", None),
            getattr(endpoint_input, "observed_content_type", None),
        )
    except (ValueError, RecursionError) as error:
        log.warning("skipping a captured request that is not JSON feature records: %s", error)
        return []
    wanted = set(numeric) | set(categorical)
    if pixel_features():
        records = [r for s in samples if isinstance(s, dict) and (r := flat_pixels(s))]
    else:
        records = [
            to_record(sample, numeric, categorical)
            for sample in samples
            if isinstance(sample, dict) and wanted.intersection(sample)
        ]
    if len(records) < len(samples):
        log.warning(
            "skipped %d of %d captured samples that are not feature records",
            len(samples) - len(records),
            len(samples),
        )
    if not records:
        return []
    return records if is_batch else records[0]

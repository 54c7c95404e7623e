"""Framework-free request handling shared by the TensorFlow and PyTorch inference handlers.

Turns a request body into the float32 feature matrix the model was trained on (with the same
`transformer.json` the preprocess step wrote), downloads image URLs safely, and formats class
probabilities as the response. It needs the standard library and numpy; Pillow is imported only
when an image URL is decoded. It runs inside the serving containers (Python 3.9+), so it never
imports TensorFlow, PyTorch or anything from the compiler.

Every problem with a request raises `RequestError(status, message)`; `invoke` turns it into a
4xx JSON answer and never lets a traceback reach the client.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import json
import logging
import math
import os
import socket
import ssl
import time
import warnings
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    Body = bytes | bytearray | memoryview | str
    Predict = Callable[[np.ndarray], Any]

log = logging.getLogger(__name__)

JSON = "application/json"
JSONLINES = "application/jsonlines"
CONTENT_TYPES = (JSON, JSONLINES)
ALLOWLIST_ENV = "INFERENCE_URL_ALLOWLIST"
# A binary model's positive class (set on the container by the pipeline): each answer then also
# carries "probability", that class's probability, which binary model quality reads.
POSITIVE_CLASS_ENV = "INFERENCE_POSITIVE_CLASS"

# SageMaker real-time endpoints accept at most 6 MB per request; larger bodies never reach us,
# the cap only protects local use (tests, a local endpoint).
MAX_REQUEST_BYTES = 6 * 1024 * 1024
# A batch transform's MultiRecord request holds up to MaxPayloadInMB (6 MB) of records: about
# 2,000 MNIST rows, 40,000 penguins rows. The cap only bounds memory, so it must not bind first.
MAX_SAMPLES = 100_000
# Each URL may take up to the download timeout; keep a request well under the 60 s endpoint limit.
MAX_IMAGE_URLS = 8
IMAGE_TIMEOUT_SECONDS = 5.0
IMAGE_MAX_BYTES = 5 * 1024 * 1024
IMAGE_MAX_PIXELS = 25_000_000
MAX_REDIRECTS = 3
_REDIRECTS = (301, 302, 303, 307, 308)
_CHUNK = 64 * 1024


class RequestError(Exception):
    """A request the endpoint refuses; `status` is the HTTP status to answer with.

    415: unsupported content type; 406: unsupported accept type; 400: bad body, shape, keys or
    URL; 413: too large; 422: an image URL that cannot be fetched or is not an image.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def __str__(self) -> str:
        return self.message


class Artifacts:
    """What inference needs besides the model: class names and the fitted transformer.

    Attributes:
        classes: class names; index = class index = model output column.
        transformer: the parsed `transformer.json`.
        kind: "tabular" or "image".
        n_features: width of the feature matrix the model takes.
        positive: index of a binary model's positive class, else None.
    """

    def __init__(
        self,
        classes: Sequence[str],
        transformer: dict[str, Any],
        positive_class: str | None = None,
    ) -> None:
        self.classes = [str(name) for name in classes]
        self.transformer = transformer
        self.kind = transformer.get("kind")
        self.n_features = len(transformer.get("features", []))
        if not self.classes:
            raise ValueError("classes.json lists no classes")
        self.positive = None
        if positive_class:
            if len(self.classes) != 2 or positive_class not in self.classes:
                raise ValueError(
                    f"{POSITIVE_CLASS_ENV}={positive_class!r} is not one of the model's two "
                    f"classes {self.classes}; set it to the project's positive_class, or unset "
                    "it for a model of more than two classes"
                )
            self.positive = self.classes.index(positive_class)
        if self.kind == "tabular":
            self.numeric = list(transformer.get("numeric", []))
            self.categorical = list(transformer.get("categorical", []))
            width = len(self.numeric) + sum(len(c["categories"]) for c in self.categorical)
            if width != self.n_features:
                raise ValueError(
                    f"transformer.json is inconsistent: {len(self.numeric)} numeric and "
                    f"one-hot columns make {width} features, but 'features' lists "
                    f"{self.n_features}"
                )
            self.columns = [spec["name"] for spec in self.numeric + self.categorical]
        elif self.kind == "image":
            self.side = int(transformer["side"])
            self.scale = float(transformer.get("scale", 255.0))
            if self.side * self.side != self.n_features:
                raise ValueError(
                    f"transformer.json is inconsistent: side {self.side} needs "
                    f"{self.side * self.side} features, 'features' lists {self.n_features}"
                )
        else:
            raise ValueError(f"transformer.json has unknown kind {self.kind!r}")


def load_artifacts(folder: str | Path) -> Artifacts:
    """Read `classes.json` and `transformer.json` from `folder` (the model's `code/artifacts`),
    and the positive class from the container's environment."""
    folder = Path(folder)
    classes = json.loads((folder / "classes.json").read_text(encoding="utf-8"))
    transformer = json.loads((folder / "transformer.json").read_text(encoding="utf-8"))
    return Artifacts(classes, transformer, os.environ.get(POSITIVE_CLASS_ENV) or None)


# --------------------------------------------------------------------------- content types


def media_type(header: str | None) -> str:
    """The bare media type of a Content-Type header: no parameters, lower case."""
    return (header or "").split(";", 1)[0].strip().lower()


def response_type(accept: str | None) -> str:
    """The response content type for an Accept header; JSON unless JSON lines is asked for.

    Raises:
        RequestError: 406 when the header names only types this endpoint cannot produce.
    """
    if not accept or not accept.strip():
        return JSON
    offered = [media_type(part) for part in accept.split(",")]
    for kind in offered:
        if kind in CONTENT_TYPES:
            return kind
        if kind in ("*/*", "application/*"):
            return JSON
    raise RequestError(
        406,
        f"accept type {accept!r} is not supported; ask for {JSON} (default) or {JSONLINES}",
    )


# --------------------------------------------------------------------------- request parsing


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


def tabular_row(sample: Any, artifacts: Artifacts, where: str) -> np.ndarray:
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
        value = _numeric_value(sample, spec, where)
        scale = float(spec["scale"]) or 1.0
        row.append((value - float(spec["mean"])) / scale)
    for spec in artifacts.categorical:
        value = _categorical_value(sample, spec, where)
        row.extend(1.0 if value == str(category) else 0.0 for category in spec["categories"])
    return np.asarray(row, dtype=np.float32)


def _pixel_array(pixels: Any, side: int, where: str) -> np.ndarray:
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
    if not all(_is_number(v) for v in flat):
        bad = next(v for v in flat if not _is_number(v))
        raise RequestError(400, f"{where}: pixels must be numbers 0..255, got {_describe(bad)}")
    array = np.asarray(flat, dtype=np.float64)
    if not np.all(np.isfinite(array)) or array.min() < 0 or array.max() > 255:
        raise RequestError(
            400,
            f"{where}: pixel values must lie in 0..255 (raw, like the training CSV), "
            f"got {array.min():g}..{array.max():g}",
        )
    return array


def image_row(
    sample: Any, artifacts: Artifacts, where: str, fetch: Callable[..., np.ndarray]
) -> np.ndarray:
    """Turn one image sample into features: raw 0..255 pixels / scale, row-major."""
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
                pixels = fetch(url.strip(), side)
            except RequestError as error:
                raise RequestError(error.status, f"{where}: {error.message}") from None
        elif has_pixels:
            pixels = _pixel_array(sample["pixels"], side, where)
        else:
            keys = ", ".join(sorted(map(str, sample))) or "none"
            raise RequestError(400, f"{where}: expected 'image_url' or 'pixels'; got keys: {keys}")
    elif isinstance(sample, list):
        pixels = _pixel_array(sample, side, where)
    else:
        raise RequestError(
            400,
            f"{where}: expected {{'image_url': ...}}, {{'pixels': [...]}} or a flat list of "
            f"{side * side} pixels, got {_describe(sample)}",
        )
    return (np.asarray(pixels, dtype=np.float64).reshape(-1) / artifacts.scale).astype(np.float32)


def parse_request(
    body: Body | None,
    content_type: str | None,
    artifacts: Artifacts,
    *,
    fetch: Callable[..., np.ndarray] | None = None,
) -> np.ndarray:
    """The float32 feature matrix [n, n_features] of a request, samples in request order.

    Args:
        body: the raw request body (bytes or text).
        content_type: the request's Content-Type header.
        artifacts: what `load_artifacts` read.
        fetch: downloads an image URL to side x side raw pixels (default: `fetch_image`).

    Raises:
        RequestError: anything wrong with the request, with the status to answer.
    """
    samples = split_samples(body, content_type, artifacts)
    single = len(samples) == 1
    rows = []
    if artifacts.kind == "tabular":
        for index, sample in enumerate(samples, start=1):
            rows.append(
                tabular_row(sample, artifacts, "the sample" if single else f"sample {index}")
            )
    else:
        urls = sum(1 for s in samples if isinstance(s, dict) and "image_url" in s)
        if urls > MAX_IMAGE_URLS:
            raise RequestError(
                413,
                f"the request holds {urls} image URLs; the limit is {MAX_IMAGE_URLS} a request "
                f"(send pixels for larger batches)",
            )
        for index, sample in enumerate(samples, start=1):
            where = "the sample" if single else f"sample {index}"
            rows.append(image_row(sample, artifacts, where, fetch or fetch_image))
    return np.stack(rows).astype(np.float32)


# --------------------------------------------------------------------------- responses


def format_predictions(
    probabilities: Any, artifacts: Artifacts, accept: str | None = None
) -> tuple[str, str]:
    """Render class probabilities [n, n_classes] as the response body and its content type.

    Each sample becomes `{"prediction": index, "label": name, "confidence": p}`, in request
    order: a JSON array, or one object a line for `application/jsonlines`. A binary model's
    answers also carry `"probability"`: the positive class's probability.
    """
    kind = response_type(accept)
    scores = np.asarray(probabilities, dtype=np.float64)
    if scores.ndim == 1:
        scores = scores.reshape(1, -1)
    if scores.ndim != 2 or scores.shape[1] != len(artifacts.classes):
        raise ValueError(
            f"the model returned shape {scores.shape}; expected [n, {len(artifacts.classes)}] "
            f"class probabilities"
        )
    results = []
    for row in scores:
        index = int(np.argmax(row))
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


def _probability(value: float) -> float:
    return float(min(1.0, max(0.0, value)))


def error_body(error: RequestError) -> str:
    """The JSON body of a refused request: the status and a message a person can act on."""
    return json.dumps({"error": error.message, "status": error.status})


def invoke(
    predict: Predict,
    artifacts: Artifacts | str | Path,
    body: Body | None,
    content_type: str | None,
    accept: str | None = None,
    *,
    fetch: Callable[..., np.ndarray] | None = None,
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


# --------------------------------------------------------------------------- image download


def _allowlist() -> list[Any]:
    entries: list[Any] = []
    for raw in os.environ.get(ALLOWLIST_ENV, "").split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        try:
            entries.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            entries.append(entry.rstrip("."))
    return entries


def _embedded_ipv4(address: Any) -> Any:
    """The IPv4 address hidden in an IPv6 one (mapped, 6to4, Teredo, NAT64), if any."""
    if address.version != 6:
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in ipaddress.ip_network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def forbidden_reason(address: Any) -> str | None:
    """Why downloads from `address` are refused (None when it is a public address)."""
    inner = _embedded_ipv4(address)
    if inner is not None:
        reason = forbidden_reason(inner)
        return f"{reason} (embedded in {address})" if reason else None
    for flag, name in (
        ("is_unspecified", "unspecified"),
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_reserved", "reserved"),
        ("is_private", "private"),
    ):
        if getattr(address, flag):
            return name
    if not address.is_global:
        return "not globally routable"
    return None


def _allowed(host: str, address: Any, allowlist: Iterable[Any]) -> bool:
    for entry in allowlist:
        if isinstance(entry, str):
            if entry == host:
                return True
        elif address.version == entry.version and address in entry:
            return True
    return False


def _check_url(url: str, where: str) -> tuple[str, str, int, str, list[str]]:
    """Validate scheme and host of `url`; resolve it; return (scheme, host, port, path, ips).

    The returned addresses are the ones to connect to, so a second DNS answer cannot swap in a
    forbidden address after the check.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise RequestError(400, f"{where}: {url!r} is not a valid URL ({error})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise RequestError(
            400,
            f"{where}: {url!r} uses scheme {scheme or 'none'!r}; only http and https are allowed",
        )
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise RequestError(400, f"{where}: {url!r} has no host")
    if parts.username or parts.password:
        raise RequestError(400, f"{where}: {url!r} carries credentials; they are not allowed")
    port = port or (443 if scheme == "https" else 80)
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as error:
            raise RequestError(422, f"{where}: cannot resolve host {host!r} ({error})") from None
        addresses = []
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise RequestError(422, f"{where}: host {host!r} has no address") from None
    allowlist = _allowlist()
    literal = str(addresses[0]) == host
    for address in addresses:
        reason = forbidden_reason(address)
        if reason and not _allowed(host, address, allowlist):
            found = f"{address} is" if literal else f"host {host!r} resolves to {address},"
            raise RequestError(
                400,
                f"{where}: {found} a forbidden ({reason}) address; downloads "
                f"from loopback, link-local, private, multicast, reserved and unspecified "
                f"addresses are refused. If this host is trusted, add it to {ALLOWLIST_ENV} "
                f"(comma-separated hostnames, IPs or CIDRs) in the endpoint's environment.",
            )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, host, port, path, [str(address) for address in addresses]


def _connect(addresses: list[str], port: int, timeout: float) -> socket.socket:
    """A socket to the first of the checked addresses that answers."""
    error: OSError = OSError("no address to connect to")
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout)
        except OSError as exc:
            error = exc
    raise error


class _PinnedHTTP(http.client.HTTPConnection):
    """HTTP connection to addresses checked beforehand (the Host header keeps the name)."""

    def __init__(self, host: str, port: int, addresses: list[str], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._addresses = addresses

    def connect(self) -> None:
        self.sock = _connect(self._addresses, self.port, self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS connection to a checked address; the certificate is verified against the name."""

    def __init__(self, host: str, port: int, addresses: list[str], timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._addresses = addresses

    def connect(self) -> None:
        sock = _connect(self._addresses, self.port, self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def download(
    url: str,
    *,
    timeout: float = IMAGE_TIMEOUT_SECONDS,
    max_bytes: int = IMAGE_MAX_BYTES,
    where: str | None = None,
) -> tuple[bytes, str]:
    """Fetch `url` under the safety rules; return (body, content type).

    http/https only; every hop's address is checked before connecting (no loopback, link-local,
    private, multicast, reserved or unspecified addresses unless `INFERENCE_URL_ALLOWLIST`
    permits them); at most `MAX_REDIRECTS` redirects; `timeout` seconds in total; bodies over
    `max_bytes` refused (by Content-Length up front, else while reading); only image/* types.
    """
    where = where or f"image_url {url!r}"
    deadline = time.monotonic() + timeout
    current = url
    for hop in range(MAX_REDIRECTS + 1):
        label = where if hop == 0 else f"{where}, redirect {hop} to {current!r}"
        scheme, host, port, path, addresses = _check_url(current, label)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        factory = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
        connection = factory(host, port, addresses, remaining)
        response = None
        try:
            connection.request(
                "GET", path, headers={"Accept": "image/*", "User-Agent": "inference-handler"}
            )
            response = connection.getresponse()
            if response.status in _REDIRECTS:
                location = response.getheader("Location")
                if not location:
                    raise RequestError(
                        422, f"{label}: redirect {response.status} without a Location"
                    )
                current = urljoin(current, location)
                continue
            if response.status != 200:
                raise RequestError(
                    422, f"{label}: the server answered HTTP {response.status} {response.reason}"
                )
            kind = media_type(response.getheader("Content-Type"))
            if not kind.startswith("image/"):
                raise RequestError(
                    422, f"{label}: content type is {kind or 'missing'!r}, not an image (image/*)"
                )
            length = response.getheader("Content-Length")
            if length and length.strip().isdigit() and int(length) > max_bytes:
                raise RequestError(
                    413, f"{label}: the image has {int(length)} bytes; the limit is {max_bytes}"
                )
            data = bytearray()
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError()
                if connection.sock is not None:
                    connection.sock.settimeout(remaining)
                # read1 returns what has arrived, so a server trickling bytes meets the deadline.
                chunk = response.read1(_CHUNK)
                if not chunk:
                    break
                data.extend(chunk)
                if len(data) > max_bytes:
                    raise RequestError(
                        413, f"{label}: the image is larger than the limit of {max_bytes} bytes"
                    )
            return bytes(data), kind
        except RequestError:
            raise
        except TimeoutError:
            raise RequestError(
                422, f"{label}: no complete answer within {timeout:g} s (timeout)"
            ) from None
        except ssl.SSLError as error:
            raise RequestError(422, f"{label}: TLS failed ({error})") from None
        except (OSError, http.client.HTTPException) as error:
            raise RequestError(
                422, f"{label}: cannot download ({type(error).__name__}: {error})"
            ) from None
        finally:
            # The response owns the socket once the server says it will close the connection.
            if response is not None:
                response.close()
            connection.close()
    if time.monotonic() >= deadline:
        raise RequestError(422, f"{where}: no complete answer within {timeout:g} s (timeout)")
    raise RequestError(422, f"{where}: more than {MAX_REDIRECTS} redirects")


def image_pixels(data: bytes, side: int, where: str = "image_url") -> np.ndarray:
    """Decode an image into side x side raw 0..255 pixels, light digit on dark like MNIST.

    Grayscale (transparency composited on white), resized to the training side, and inverted
    when the background (the border) is light, so a black digit on white paper matches training.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > IMAGE_MAX_PIXELS:
                raise RequestError(
                    413,
                    f"{where}: the image has {width} x {height} pixels; the limit is "
                    f"{IMAGE_MAX_PIXELS}",
                )
            image.load()
    except RequestError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise RequestError(422, f"{where}: the content is not an image Pillow can decode") from None
    except (OSError, ValueError, SyntaxError) as error:
        raise RequestError(422, f"{where}: the image is damaged ({error})") from None
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    gray = image.convert("L")
    resampling = getattr(Image, "Resampling", Image)
    shrink = gray.width >= side and gray.height >= side
    gray = gray.resize((side, side), resampling.BOX if shrink else resampling.BILINEAR)
    pixels = np.asarray(gray, dtype=np.float64)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    if border.mean() > 127.5:
        pixels = 255.0 - pixels
    return pixels.reshape(-1)


def fetch_image(
    url: str,
    side: int,
    *,
    timeout: float = IMAGE_TIMEOUT_SECONDS,
    max_bytes: int = IMAGE_MAX_BYTES,
) -> np.ndarray:
    """Download `url` safely (see `download`) and decode it to side*side raw 0..255 pixels."""
    data, _ = download(url, timeout=timeout, max_bytes=max_bytes)
    return image_pixels(data, side, f"image_url {url!r}")


def status_phrase(status: int) -> str:
    """The standard reason phrase of an HTTP status ("Bad Request" for 400)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"

"""The inference handlers: request parsing, safe image download, and the real models behind them.

(a) `serving.py` on tiny hand-made artifacts with a fake model; (b) image URLs against a loopback
HTTP server this module starts; (c) the handlers loaded from real `model.tar.gz` artifacts (the
`trained_model` fixture). TensorFlow never enters the pytest process: a fake TensorFlow Serving
(the SavedModel behind a loopback REST endpoint) runs in a subprocess, as the model server does in
the container. PyTorch models are loaded in-process through the handler's own `model_fn`.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import textwrap
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any, ClassVar

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from kernel.frameworks import FRAMEWORKS
from tests.components.fixtures_models import TrainedModel, cases
from tests.components.runner import REPO, load_module, load_serving, page_faults_of_steps

SCRIPTS = REPO / "components" / "model" / "scripts"
# The contract's model is TorchScript; torch 2.13 here (not 2.6 in the container) deprecates
# loading it. Only that one message is let through.
pytestmark = pytest.mark.filterwarnings(
    r"ignore:`torch\.jit\.load` is deprecated:DeprecationWarning"
)
ALLOWLIST = "INFERENCE_URL_ALLOWLIST"


serving = load_serving("serving_under_test")

# --------------------------------------------------------------------------- tiny artifacts

TABULAR = {
    "kind": "tabular",
    "numeric": [
        {"name": "culmen_length_mm", "fill": 40.0, "mean": 44.0, "scale": 4.0},
        {"name": "body_mass_g", "fill": 4000.0, "mean": 4200.0, "scale": 800.0},
    ],
    "categorical": [
        {"name": "island", "fill": "Biscoe", "categories": ["Biscoe", "Dream", "Torgersen"]}
    ],
    "features": [
        "culmen_length_mm",
        "body_mass_g",
        "island_Biscoe",
        "island_Dream",
        "island_Torgersen",
    ],
}
TABULAR_CLASSES = ["Adelie", "Chinstrap", "Gentoo"]
SIDE = 8
IMAGE = {
    "kind": "image",
    "side": SIDE,
    "scale": 255.0,
    "features": [f"p{i}" for i in range(SIDE * SIDE)],
}
IMAGE_CLASSES = [str(digit) for digit in range(10)]


def write_artifacts(folder: Path, transformer: dict[str, Any], classes: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "transformer.json").write_text(json.dumps(transformer))
    (folder / "classes.json").write_text(json.dumps(classes))
    return folder


@pytest.fixture
def tabular(tmp_path: Path) -> Any:
    return serving.load_artifacts(write_artifacts(tmp_path / "tab", TABULAR, TABULAR_CLASSES))


@pytest.fixture
def image(tmp_path: Path) -> Any:
    return serving.load_artifacts(write_artifacts(tmp_path / "img", IMAGE, IMAGE_CLASSES))


@pytest.fixture(scope="module")
def image_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`image`, once for the module (hypothesis runs a test many times)."""
    folder = tmp_path_factory.mktemp("img")
    return serving.load_artifacts(write_artifacts(folder, IMAGE, IMAGE_CLASSES))


class FakeModel:
    """Softmax over the first n_classes features; remembers what it was given."""

    def __init__(self, n_classes: int) -> None:
        self.n_classes = n_classes
        self.seen: list[np.ndarray] = []

    def __call__(self, features: np.ndarray) -> np.ndarray:
        assert features.dtype == np.float32 and features.ndim == 2
        self.seen.append(features)
        logits = np.zeros((len(features), self.n_classes))
        width = min(self.n_classes, features.shape[1])
        logits[:, :width] = 10.0 * features[:, :width]
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)


def features_of(artifacts: Any, body: Any, content_type: str = "application/json") -> np.ndarray:
    return serving.parse_request(body, content_type, artifacts)


# --------------------------------------------------------------------------- (a) parsing

PENGUIN = {"culmen_length_mm": 48.0, "body_mass_g": 5000, "island": "Dream"}


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        pytest.param(PENGUIN, [1.0, 1.0, 0, 1, 0], id="complete"),
        pytest.param(
            {"body_mass_g": 5000, "island": "Dream"}, [-1.0, 1.0, 0, 1, 0], id="missing-numeric"
        ),
        pytest.param(
            {**PENGUIN, "culmen_length_mm": None}, [-1.0, 1.0, 0, 1, 0], id="null-numeric"
        ),
        pytest.param({**PENGUIN, "body_mass_g": ""}, [1.0, -0.25, 0, 1, 0], id="empty-numeric"),
        pytest.param({**PENGUIN, "culmen_length_mm": "52"}, [2.0, 1.0, 0, 1, 0], id="numeric-text"),
        pytest.param(
            {"culmen_length_mm": 48.0, "body_mass_g": 5000},
            [1.0, 1.0, 1, 0, 0],
            id="missing-category",
        ),
        pytest.param({**PENGUIN, "island": None}, [1.0, 1.0, 1, 0, 0], id="null-category"),
        pytest.param({**PENGUIN, "island": "Atlantis"}, [1.0, 1.0, 0, 0, 0], id="unknown-category"),
        pytest.param(
            {**PENGUIN, "species": "Gentoo", "sex": "MALE", "ground_truth": "Gentoo"},
            [1.0, 1.0, 0, 1, 0],
            id="extra-keys-ignored",
        ),
    ],
)
def test_tabular_record_is_transformed_like_the_preprocess(
    tabular: Any, record: dict[str, Any], expected: list[float]
) -> None:
    features = features_of(tabular, json.dumps(record))
    assert features.dtype == np.float32
    np.testing.assert_allclose(features, [expected], rtol=1e-6)


RECORDS = [
    PENGUIN,
    {"culmen_length_mm": 36.0, "body_mass_g": 3400, "island": "Torgersen"},
    {"culmen_length_mm": None, "body_mass_g": 4200, "island": "Biscoe"},
]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(json.dumps(RECORDS), "application/json", id="json-list"),
        pytest.param(
            "".join(json.dumps(r) + "\n" for r in RECORDS), "application/jsonlines", id="jsonlines"
        ),
        pytest.param(
            "\n".join(json.dumps(r) for r in RECORDS) + "\n\n",
            "application/jsonlines; charset=utf-8",
            id="jsonlines-blank-lines-charset",
        ),
        pytest.param(json.dumps(RECORDS).encode(), "Application/JSON", id="bytes-case-insensitive"),
    ],
)
def test_batch_rows_equal_the_singles_in_order(tabular: Any, body: Any, content_type: str) -> None:
    singles = np.vstack([features_of(tabular, json.dumps(r)) for r in RECORDS])
    np.testing.assert_array_equal(features_of(tabular, body, content_type), singles)


def test_a_full_batch_transform_request_of_mnist_images_is_parsed(tmp_path: Path) -> None:
    """Batch transform fills each MultiRecord request up to MaxPayloadInMB (6 MB): about 2,000
    28x28 MNIST rows, more than the 1,000 samples the handler once took."""
    side = 28
    transformer = {**IMAGE, "side": side, "features": [f"p{i}" for i in range(side * side)]}
    artifacts = serving.load_artifacts(write_artifacts(tmp_path, transformer, IMAGE_CLASSES))
    line = json.dumps({"pixels": [255] * (side * side), "ground_truth": "7"}) + "\n"
    rows = serving.MAX_REQUEST_BYTES // len(line)
    body = line * rows
    assert rows > 1000 and len(body) <= serving.MAX_REQUEST_BYTES
    features = features_of(artifacts, body, "application/jsonlines")
    assert features.shape == (rows, side * side)
    np.testing.assert_array_equal(features[0], np.ones(side * side, dtype=np.float32))


PIXELS = [(i * 37) % 256 for i in range(SIDE * SIDE)]
NESTED = [PIXELS[row * SIDE : (row + 1) * SIDE] for row in range(SIDE)]


@pytest.mark.parametrize(
    ("body", "content_type", "rows"),
    [
        pytest.param(json.dumps(PIXELS), "application/json", 1, id="bare-flat-list"),
        pytest.param(json.dumps({"pixels": PIXELS}), "application/json", 1, id="pixels-flat"),
        pytest.param(json.dumps({"pixels": NESTED}), "application/json", 1, id="pixels-nested"),
        pytest.param(json.dumps([PIXELS, PIXELS]), "application/json", 2, id="batch-of-lists"),
        pytest.param(
            json.dumps([{"pixels": NESTED}, PIXELS, {"pixels": PIXELS, "ground_truth": "3"}]),
            "application/json",
            3,
            id="batch-mixed",
        ),
        pytest.param(
            f"{json.dumps(PIXELS)}\n{json.dumps({'pixels': PIXELS})}\n",
            "application/jsonlines",
            2,
            id="jsonlines",
        ),
    ],
)
def test_image_samples_are_scaled_like_training(
    image: Any, body: str, content_type: str, rows: int
) -> None:
    features = features_of(image, body, content_type)
    expected = np.asarray([PIXELS] * rows, dtype=np.float64) / 255.0
    assert features.shape == (rows, SIDE * SIDE) and features.dtype == np.float32
    np.testing.assert_allclose(features, expected, rtol=1e-6)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.lists(
            st.one_of(st.integers(0, 255), st.floats(0, 255, allow_nan=False)),
            min_size=SIDE * SIDE,
            max_size=SIDE * SIDE,
        ),
        min_size=1,
        max_size=4,
    )
)
def test_numpy_and_plain_parsing_give_the_same_float32_values(
    image_artifacts: Any, rows: list[list[float]]
) -> None:
    """PyTorch's and XGBoost's handlers scale a request's images as one numpy matrix; the
    TensorFlow handler (no numpy in its image) row by row. Both send the model the same bits."""
    artifacts = image_artifacts
    body = "\n".join(json.dumps({"pixels": row}) for row in rows)
    matrix = serving.parse_request(body, "application/jsonlines", artifacts)
    plain = serving.parse_rows(body, "application/jsonlines", artifacts)
    assert matrix.dtype == np.float32 and matrix.tobytes() == np.array(plain, np.float32).tobytes()


def test_response_is_one_object_per_sample_in_request_order(tabular: Any) -> None:
    model = FakeModel(3)
    status, body, content_type = serving.invoke(
        model, tabular, json.dumps(RECORDS), "application/json"
    )
    assert (status, content_type) == (200, "application/json")
    answers = json.loads(body)
    assert [a["prediction"] for a in answers] == [0, 2, 2]
    assert [a["label"] for a in answers] == ["Adelie", "Gentoo", "Gentoo"]
    for answer, probabilities in zip(answers, model(model.seen[0]), strict=True):
        assert set(answer) == {"prediction", "label", "confidence"}
        assert answer["confidence"] == pytest.approx(probabilities.max())
        assert 0.0 <= answer["confidence"] <= 1.0


@pytest.mark.parametrize(
    ("accept", "expected_type"),
    [
        pytest.param(None, "application/json", id="none"),
        pytest.param("*/*", "application/json", id="any"),
        pytest.param("application/json", "application/json", id="json"),
        pytest.param("application/jsonlines", "application/jsonlines", id="jsonlines"),
        pytest.param("text/csv, application/jsonlines;q=0.9", "application/jsonlines", id="list"),
    ],
)
def test_accept_picks_the_response_format(
    tabular: Any, accept: str | None, expected_type: str
) -> None:
    status, body, content_type = serving.invoke(
        FakeModel(3), tabular, json.dumps(RECORDS), "application/json", accept
    )
    assert (status, content_type) == (200, expected_type)
    if expected_type == "application/jsonlines":
        answers = [json.loads(line) for line in body.splitlines()]
        assert body.endswith("\n")
    else:
        answers = json.loads(body)
    assert [a["label"] for a in answers] == ["Adelie", "Gentoo", "Gentoo"]


BAD_REQUESTS = [
    # (kind, body, content type, accept, status, message pattern)
    pytest.param(
        "tabular",
        "{}",
        "text/csv",
        None,
        415,
        r"content type 'text/csv' is not supported; send application/json or application/jsonlines",
        id="wrong-content-type",
    ),
    pytest.param(
        "tabular",
        "{}",
        None,
        None,
        415,
        r"content type 'none' is not supported",
        id="no-content-type",
    ),
    pytest.param(
        "tabular",
        json.dumps(PENGUIN),
        "application/json",
        "text/csv",
        406,
        r"accept type 'text/csv' is not supported",
        id="wrong-accept",
    ),
    pytest.param(
        "tabular",
        "{not json",
        "application/json",
        None,
        400,
        r"the request body is not valid JSON: Expecting property name",
        id="not-json",
    ),
    pytest.param(
        "tabular", "", "application/json", None, 400, r"the request body is empty", id="empty-body"
    ),
    pytest.param(
        "tabular", b"\xff\xfe{", "application/json", None, 400, r"not UTF-8 text", id="not-utf8"
    ),
    pytest.param(
        "tabular",
        "[]",
        "application/json",
        None,
        400,
        r"no samples \(empty list\)",
        id="empty-list",
    ),
    pytest.param(
        "tabular",
        "42",
        "application/json",
        None,
        400,
        r"the sample: expected an object with the feature columns "
        r"\(culmen_length_mm, body_mass_g, island\), got 42",
        id="number",
    ),
    pytest.param(
        "tabular",
        "[[48, 5000]]",
        "application/json",
        None,
        400,
        r"expected an object .* got a list",
        id="list-not-record",
    ),
    pytest.param(
        "tabular",
        json.dumps([PENGUIN, {"bill": 1}]),
        "application/json",
        None,
        400,
        r"sample 2: none of the feature columns \(culmen_length_mm, body_mass_g, island\) "
        r"is present; got keys: bill",
        id="no-known-key",
    ),
    pytest.param(
        "tabular",
        json.dumps({**PENGUIN, "body_mass_g": "heavy"}),
        "application/json",
        None,
        400,
        r"'body_mass_g' must be a number \(or null when missing\), got the string 'heavy'",
        id="non-numeric",
    ),
    pytest.param(
        "tabular",
        json.dumps({**PENGUIN, "body_mass_g": True}),
        "application/json",
        None,
        400,
        r"'body_mass_g' must be a number .* got a boolean",
        id="boolean-numeric",
    ),
    pytest.param(
        "tabular",
        '{"culmen_length_mm": NaN}',
        "application/json",
        None,
        400,
        r"not valid JSON: NaN is not a number JSON allows",
        id="nan",
    ),
    pytest.param(
        "tabular",
        json.dumps({**PENGUIN, "island": ["Dream"]}),
        "application/json",
        None,
        400,
        r"'island' must be a string, one of Biscoe, Dream, Torgersen",
        id="list-category",
    ),
    pytest.param(
        "tabular",
        json.dumps(PENGUIN) + "\n{oops\n",
        "application/jsonlines",
        None,
        400,
        r"line 2 of the JSON lines body is not valid JSON",
        id="bad-jsonlines-line",
    ),
    pytest.param(
        "tabular",
        json.dumps([{}] * 100_001),
        "application/json",
        None,
        413,
        r"100001 samples; the limit is 100000",
        id="too-many-samples",
    ),
    pytest.param(
        "tabular",
        " " * (6 * 1024 * 1024 + 1),
        "application/json",
        None,
        413,
        r"the limit is 6291456 bytes",
        id="too-large",
    ),
    pytest.param(
        "image",
        json.dumps(PIXELS[:-1]),
        "application/json",
        None,
        400,
        r"the sample: expected 64 pixels \(8 x 8, row-major\), got 63",
        id="short-flat",
    ),
    pytest.param(
        "image",
        json.dumps({"pixels": NESTED[:-1]}),
        "application/json",
        None,
        400,
        r"a nested pixel list must be 8 x 8; got 7 rows",
        id="short-nested",
    ),
    pytest.param(
        "image",
        json.dumps([PIXELS, [*PIXELS[:-1], 256]]),
        "application/json",
        None,
        400,
        r"sample 2: pixel values must lie in 0..255",
        id="out-of-range",
    ),
    pytest.param(
        "image",
        json.dumps({"pixels": ["a"] * 64}),
        "application/json",
        None,
        400,
        r"pixels must be numbers 0..255, got the string 'a'",
        id="text-pixels",
    ),
    pytest.param(
        "image",
        json.dumps({"picture": PIXELS}),
        "application/json",
        None,
        400,
        r"expected 'image_url' or 'pixels'; got keys: picture",
        id="no-image-key",
    ),
    pytest.param(
        "image",
        json.dumps({"pixels": PIXELS, "image_url": "http://x"}),
        "application/json",
        None,
        400,
        r"either 'image_url' or 'pixels', not both",
        id="both-keys",
    ),
    pytest.param(
        "image",
        json.dumps({"image_url": 7}),
        "application/json",
        None,
        400,
        r"'image_url' must be an http\(s\) URL, got 7",
        id="url-not-text",
    ),
    pytest.param(
        "image",
        json.dumps([{"image_url": "http://x"}] * 9),
        "application/json",
        None,
        413,
        r"9 image URLs; the limit is 8",
        id="too-many-urls",
    ),
    pytest.param(
        "image",
        '"digit"',
        "application/json",
        None,
        400,
        r"expected \{'image_url': ...\}, \{'pixels': \[...\]\} or a flat list of 64 pixels",
        id="string-sample",
    ),
]


@pytest.mark.parametrize(
    ("kind", "body", "content_type", "accept", "status", "pattern"), BAD_REQUESTS
)
def test_bad_request_gets_a_4xx_and_a_message(
    request: pytest.FixtureRequest,
    kind: str,
    body: Any,
    content_type: str | None,
    accept: str | None,
    status: int,
    pattern: str,
) -> None:
    artifacts = request.getfixturevalue(kind)
    model = FakeModel(len(artifacts.classes))
    answer = serving.invoke(model, artifacts, body, content_type, accept)
    assert answer[0] == status and answer[2] == "application/json", answer
    error = json.loads(answer[1])
    assert error["status"] == status
    assert re_search(pattern, error["error"])
    assert "Traceback" not in answer[1]
    assert model.seen == []  # refused before the model ran


def re_search(pattern: str, text: str) -> bool:
    import re

    assert re.search(pattern, text), f"{pattern!r} not found in {text!r}"
    return True


def test_parse_request_raises_request_error_with_status(tabular: Any) -> None:
    with pytest.raises(serving.RequestError, match=r"^the request holds no samples") as caught:
        serving.parse_request("[]", "application/json", tabular)
    assert caught.value.status == 400


def test_model_failure_is_a_500_without_details(tabular: Any) -> None:
    def broken(features: np.ndarray) -> np.ndarray:
        raise RuntimeError("secret internals")

    status, body, _ = serving.invoke(broken, tabular, json.dumps(PENGUIN), "application/json")
    assert status == 500
    assert json.loads(body)["error"].startswith("the model failed to answer this request")
    assert "secret" not in body and "Traceback" not in body


@pytest.mark.parametrize(
    ("transformer", "pattern"),
    [
        pytest.param(
            {**TABULAR, "features": ["a"]},
            r"make 5 features, but 'features' lists 1",
            id="tabular-width",
        ),
        pytest.param({**IMAGE, "side": 7}, r"side 7 needs 49 features", id="image-side"),
        pytest.param({"kind": "audio", "features": []}, r"unknown kind 'audio'", id="kind"),
    ],
)
def test_inconsistent_artifacts_are_refused_at_load(
    tmp_path: Path, transformer: dict[str, Any], pattern: str
) -> None:
    with pytest.raises(ValueError, match=pattern):
        serving.load_artifacts(write_artifacts(tmp_path, transformer, ["a", "b"]))


BINARY_CLASSES = ["malignant", "benign"]


@pytest.mark.parametrize(
    ("positive", "index"),
    [pytest.param("malignant", 0, id="first"), pytest.param("benign", 1, id="second")],
)
def test_binary_answers_carry_the_positive_class_probability(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, positive: str, index: int
) -> None:
    monkeypatch.setenv(serving.POSITIVE_CLASS_ENV, positive)
    artifacts = serving.load_artifacts(write_artifacts(tmp_path, TABULAR, BINARY_CLASSES))
    scores = np.array([[0.9, 0.1], [0.3, 0.7]])
    body, _ = serving.format_predictions(scores, artifacts)
    answers = json.loads(body)
    assert [a["label"] for a in answers] == ["malignant", "benign"]
    assert [a["confidence"] for a in answers] == pytest.approx([0.9, 0.7])  # the predicted's
    assert [a["probability"] for a in answers] == pytest.approx(scores[:, index].tolist())


def test_without_a_positive_class_answers_have_no_probability(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(serving.POSITIVE_CLASS_ENV, raising=False)
    artifacts = serving.load_artifacts(write_artifacts(tmp_path, TABULAR, BINARY_CLASSES))
    body, _ = serving.format_predictions(np.array([[0.2, 0.8]]), artifacts)
    assert json.loads(body) == [{"prediction": 1, "label": "benign", "confidence": 0.8}]


@pytest.mark.parametrize(
    ("classes", "positive"),
    [
        pytest.param(BINARY_CLASSES, "malignent", id="not-a-class"),
        pytest.param(TABULAR_CLASSES, "Adelie", id="three-classes"),
    ],
)
def test_a_positive_class_the_model_lacks_is_refused_at_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, classes: list[str], positive: str
) -> None:
    monkeypatch.setenv(serving.POSITIVE_CLASS_ENV, positive)
    with pytest.raises(ValueError) as raised:
        serving.load_artifacts(write_artifacts(tmp_path, TABULAR, classes))
    assert str(raised.value) == (
        f"INFERENCE_POSITIVE_CLASS={positive!r} is not one of the model's two classes "
        f"{classes}; set it to the project's positive_class, or unset it for a model of more "
        "than two classes"
    )


def test_the_container_variable_is_the_one_the_pipeline_sets() -> None:
    from components.model.contract import POSITIVE_CLASS_ENV

    assert serving.POSITIVE_CLASS_ENV == POSITIVE_CLASS_ENV


# --------------------------------------------------------------------------- (a) handlers


def fake_code_dir(
    root: Path, handler: str, transformer: dict[str, Any], classes: list[str]
) -> Path:
    """`<model>/code/` as training writes it, with the tiny artifacts."""
    code = root / "code"
    write_artifacts(code / "artifacts", transformer, classes)
    (code / "inference.py").write_text((SCRIPTS / handler).read_text())
    shutil.copytree(SCRIPTS / "serving", code / "serving")
    return code


@pytest.fixture
def load_handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], ModuleType]]:
    """Import `<code>/inference.py` as the containers do: by path, its folder on sys.path."""
    count = iter(range(1000))

    def load(code: Path) -> ModuleType:
        monkeypatch.syspath_prepend(str(code))
        forget_serving()
        return load_module(code / "inference.py", f"inference_under_test_{next(count)}")

    yield load
    forget_serving()


def forget_serving() -> None:
    """Drop the `serving` package a handler imported, so the next one imports its own."""
    for name in [n for n in sys.modules if n == "serving" or n.startswith("serving.")]:
        del sys.modules[name]


class FakeContext:
    """What the PyTorch toolkit hands to handler functions that take a context."""

    def __init__(self) -> None:
        self.statuses: list[tuple[int, str]] = []

    def set_response_status(self, code: int = 200, phrase: str = "", idx: int = 0) -> None:
        self.statuses.append((code, phrase))


def tensorflow_importers(path: Path) -> list[str]:
    """The top-level functions of a script that import tensorflow ("<module>" for the module)."""
    found = []
    for node in ast.parse(path.read_text()).body:
        imports = [n for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom)]
        names = [a.name for n in imports for a in n.names] + [
            n.module or "" for n in imports if isinstance(n, ast.ImportFrom)
        ]
        if any(name.split(".")[0] == "tensorflow" for name in names):
            found.append(getattr(node, "name", "<module>"))
    return found


def test_tensorflow_handler_builds_the_tfs_request_and_reads_its_answer(
    tmp_path: Path, load_handler: Callable[[Path], ModuleType]
) -> None:
    handler = load_handler(
        fake_code_dir(tmp_path, "tensorflow_handler.py", TABULAR, TABULAR_CLASSES)
    )
    # Serving never imports TensorFlow (the model server runs the model): only the evaluate
    # job's `predictor` does.
    assert tensorflow_importers(SCRIPTS / "tensorflow_handler.py") == ["predictor"]
    context = SimpleNamespace(
        request_content_type="application/json", accept_header="application/jsonlines"
    )
    payload = json.loads(handler.input_handler(io.BytesIO(json.dumps(RECORDS).encode()), context))
    np.testing.assert_allclose(
        payload["instances"], features_of(handler.artifacts(), json.dumps(RECORDS))
    )
    response = SimpleNamespace(
        status_code=200, content=json.dumps({"predictions": [[0.1, 0.7, 0.2]] * 3}).encode()
    )
    body, content_type = handler.output_handler(response, context)
    assert content_type == "application/jsonlines"
    assert [json.loads(line) for line in body.splitlines()] == [
        {"prediction": 1, "label": "Chinstrap", "confidence": 0.7}
    ] * 3


@pytest.mark.parametrize(
    ("body", "content_type", "accept", "pattern"),
    [
        pytest.param(
            b"{}",
            "text/csv",
            None,
            r"^415 Unsupported Media Type: content type 'text/csv'",
            id="content-type",
        ),
        pytest.param(
            b"[1, 2]",
            "application/json",
            None,
            r"^400 Bad Request: sample 1: expected an object",
            id="shape",
        ),
        pytest.param(
            b"{}", "application/json", "text/html", r"^406 Not Acceptable: accept type", id="accept"
        ),
    ],
)
def test_tensorflow_handler_refuses_bad_requests_with_the_status_in_the_message(
    tmp_path: Path,
    load_handler: Callable[[Path], ModuleType],
    body: bytes,
    content_type: str,
    accept: str | None,
    pattern: str,
) -> None:
    handler = load_handler(
        fake_code_dir(tmp_path, "tensorflow_handler.py", TABULAR, TABULAR_CLASSES)
    )
    context = SimpleNamespace(request_content_type=content_type, accept_header=accept)
    with pytest.raises(handler.serving.RequestError, match=pattern):
        handler.input_handler(io.BytesIO(body), context)


def test_tensorflow_handler_reports_a_failed_model_server(
    tmp_path: Path, load_handler: Callable[[Path], ModuleType]
) -> None:
    handler = load_handler(
        fake_code_dir(tmp_path, "tensorflow_handler.py", TABULAR, TABULAR_CLASSES)
    )
    response = SimpleNamespace(status_code=400, content=b'{"error": "bad input"}')
    with pytest.raises(RuntimeError, match=r"TensorFlow Serving answered 400: .*bad input"):
        handler.output_handler(response, SimpleNamespace(accept_header=None))


def test_pytorch_handler_raises_4xx_without_a_context_and_answers_cleanly_with_one(
    tmp_path: Path, load_handler: Callable[[Path], ModuleType]
) -> None:
    handler = load_handler(fake_code_dir(tmp_path, "pytorch_handler.py", TABULAR, TABULAR_CLASSES))
    with pytest.raises(handler.InferenceRequestError, match=r"content type 'text/csv'") as caught:
        handler.input_fn(b"{}", "text/csv")
    assert caught.value.status == 415
    # In the container the toolkit passes its context: the status goes there, no trace in the body.
    context = FakeContext()
    refused = handler.input_fn(bytearray(b"[[1]]"), "application/json", context)
    assert context.statuses == [(400, "Bad Request")]
    passed = handler.predict_fn(refused, model=None, context=context)
    body, content_type = handler.output_fn(passed, "application/json", context)
    assert content_type == "application/json"
    assert json.loads(body) == {
        "error": "the sample: expected an object with the feature columns "
        "(culmen_length_mm, body_mass_g, island), got a list",
        "status": 400,
    }


class _ToolkitError(Exception):
    """`sagemaker_inference.errors.GenericInferenceToolkitError`'s constructor and fields."""

    def __init__(self, status_code: int, message: str | None = None, phrase: str | None = None):
        self.status_code = status_code
        self.message = message or "Invalid Request"
        self.phrase = phrase or self.message
        super().__init__(status_code, self.message, self.phrase)


def test_xgboost_handler_answers_refusals_as_responses_with_their_status(
    tmp_path: Path, load_handler: Callable[[Path], ModuleType]
) -> None:
    """The XGBoost container answers a raised error with 500: refusals travel as values."""
    handler = load_handler(fake_code_dir(tmp_path, "xgboost_handler.py", TABULAR, TABULAR_CLASSES))
    refused = handler.input_fn(b"{}", "text/csv")
    passed = handler.predict_fn(refused, model=None)
    answer = handler.output_fn(passed, "application/json")
    assert (answer.status_code, answer.mimetype) == (415, "application/json")
    assert json.loads(answer.get_data()) == {
        "error": "content type 'text/csv' is not supported; send application/json or "
        "application/jsonlines",
        "status": 415,
    }
    features = handler.input_fn(json.dumps(RECORDS).encode(), "application/json")
    np.testing.assert_array_equal(features, features_of(handler.artifacts(), json.dumps(RECORDS)))
    probabilities = np.full((len(RECORDS), len(TABULAR_CLASSES)), 1 / len(TABULAR_CLASSES))
    not_acceptable = handler.output_fn(probabilities, "text/csv")
    assert not_acceptable.status_code == 406
    body, content_type = handler.output_fn(probabilities, "application/json")
    assert content_type == "application/json"
    assert len(json.loads(body)) == len(RECORDS)


def test_pytorch_handler_raises_the_toolkit_error_in_the_container(
    tmp_path: Path, load_handler: Callable[[Path], ModuleType], monkeypatch: pytest.MonkeyPatch
) -> None:
    package, errors = ModuleType("sagemaker_inference"), ModuleType("sagemaker_inference.errors")
    errors.GenericInferenceToolkitError = _ToolkitError  # type: ignore[attr-defined]
    package.errors = errors  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sagemaker_inference", package)
    monkeypatch.setitem(sys.modules, "sagemaker_inference.errors", errors)
    handler = load_handler(fake_code_dir(tmp_path, "pytorch_handler.py", TABULAR, TABULAR_CLASSES))
    with pytest.raises(_ToolkitError, match=r"^the request holds no samples") as caught:
        handler.input_fn("[]", "application/json")
    error = caught.value
    assert (error.status_code, error.status, error.phrase) == (400, 400, "Bad Request")
    assert error.message.startswith("the request holds no samples (empty list)")


def test_pytorch_handler_functions_match_the_toolkit_signatures(
    tmp_path: Path, load_handler: Callable[[Path], ModuleType]
) -> None:
    import inspect

    handler = load_handler(fake_code_dir(tmp_path, "pytorch_handler.py", TABULAR, TABULAR_CLASSES))
    # The toolkit passes its context exactly when a function takes one argument more.
    arity = {
        name: len(inspect.signature(getattr(handler, name)).parameters)
        for name in ("model_fn", "input_fn", "predict_fn", "output_fn")
    }
    assert arity == {"model_fn": 1, "input_fn": 3, "predict_fn": 3, "output_fn": 3}


# --------------------------------------------------------------------------- (b) image URLs


def digit_png(raw: np.ndarray, upscale: int = 8) -> bytes:
    """A digit drawn black on white (the opposite of MNIST), upscaled, as PNG bytes."""
    side = int(np.sqrt(raw.size))
    ink = (255 - raw.reshape(side, side)).astype(np.uint8)
    picture = Image.fromarray(ink, mode="L").resize(
        (side * upscale, side * upscale), Image.Resampling.NEAREST
    )
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def sklearn_digit(index: int = 0) -> np.ndarray:
    from sklearn.datasets import load_digits

    return np.rint(load_digits().data[index] * 255.0 / 16.0)


class ImageServer(BaseHTTPRequestHandler):
    """Routes for the download tests; `files` maps extra paths to PNG bytes."""

    files: ClassVar[dict[str, bytes]] = {}

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, content_type: str, body: bytes, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        with contextlib.suppress(OSError):  # the client gave up (timeout tests)
            self.wfile.write(body)

    def _stream(self, chunk: bytes, count: int, pause: float, **headers: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        try:
            for _ in range(count):
                self.wfile.write(chunk)
                self.wfile.flush()
                time.sleep(pause)
        except OSError:
            pass  # the client gave up, as it should

    def do_GET(self) -> None:
        path = self.path
        if path in self.files:
            self._send(200, "image/png", self.files[path])
        elif path == "/redirect":
            self._send(302, "text/plain", b"", Location="/digit.png")
        elif path == "/to-metadata":
            self._send(302, "text/plain", b"", Location="http://169.254.169.254/latest/meta-data/")
        elif path == "/loop":
            self._send(302, "text/plain", b"", Location="/loop")
        elif path == "/page":
            self._send(200, "text/html; charset=utf-8", b"<html>a page</html>")
        elif path == "/fake.png":
            self._send(200, "image/png", b"this is not a png")
        elif path == "/declared-huge":
            self._stream(b"x" * 1024, 1, 0.0, **{"Content-Length": str(50 * 1024 * 1024)})
        elif path == "/streamed-huge":
            self._stream(b"x" * (256 * 1024), 24, 0.0)  # 6 MiB, no Content-Length
        elif path == "/slow":
            time.sleep(1.5)
            self._send(200, "image/png", self.files["/digit.png"])
        elif path == "/trickle":
            self._stream(b"x", 40, 0.05)
        else:
            self._send(404, "text/plain", b"not found")


@pytest.fixture(scope="module")
def image_server() -> Iterator[str]:
    """A loopback HTTP server on a free port; yields its base URL."""
    ImageServer.files = {"/digit.png": digit_png(sklearn_digit(0))}
    server = ThreadingHTTPServer(("127.0.0.1", 0), ImageServer)
    server.daemon_threads = True
    server.block_on_close = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def url_request(*urls: str) -> str:
    return json.dumps([{"image_url": url} for url in urls])


def test_digit_png_is_fetched_and_predicted_when_the_allowlist_permits_loopback(
    image: Any, image_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ALLOWLIST, "127.0.0.1")
    model = FakeModel(10)
    body = url_request(f"{image_server}/digit.png", f"{image_server}/redirect")
    status, answer, _ = serving.invoke(model, image, body, "application/json")
    assert status == 200, answer
    assert len(json.loads(answer)) == 2
    # Black on white came back as MNIST-like white on black, at the training scale.
    expected = sklearn_digit(0) / 255.0
    np.testing.assert_allclose(model.seen[0], [expected, expected], atol=1 / 255)


@pytest.mark.parametrize(
    "allowlist",
    [
        pytest.param("127.0.0.1", id="ip"),
        pytest.param("127.0.0.0/8", id="cidr"),
        pytest.param(" example.org , 127.0.0.1 ", id="list-with-spaces"),
    ],
)
def test_allowlist_forms(
    image: Any, image_server: str, monkeypatch: pytest.MonkeyPatch, allowlist: str
) -> None:
    monkeypatch.setenv(ALLOWLIST, allowlist)
    status, answer, _ = serving.invoke(
        FakeModel(10), image, url_request(f"{image_server}/digit.png"), "application/json"
    )
    assert status == 200, answer


def test_allowlisted_hostname_connects_to_its_checked_addresses(
    image: Any, image_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = image_server.rsplit(":", 1)[1]
    monkeypatch.setenv(ALLOWLIST, "localhost")
    status, answer, _ = serving.invoke(
        FakeModel(10), image, url_request(f"http://localhost:{port}/digit.png"), "application/json"
    )
    assert status == 200, answer


@pytest.mark.parametrize(
    "allowlist",
    [pytest.param(None, id="unset"), pytest.param("10.0.0.0/8, example.org", id="other-hosts")],
)
def test_loopback_url_is_refused_without_the_allowlist(
    image: Any, image_server: str, monkeypatch: pytest.MonkeyPatch, allowlist: str | None
) -> None:
    if allowlist is None:
        monkeypatch.delenv(ALLOWLIST, raising=False)
    else:
        monkeypatch.setenv(ALLOWLIST, allowlist)
    status, answer, _ = serving.invoke(
        FakeModel(10), image, url_request(f"{image_server}/digit.png"), "application/json"
    )
    assert status == 400
    message = json.loads(answer)["error"]
    assert re_search(
        r"^the sample: image_url 'http://127\.0\.0\.1:\d+/digit\.png': 127\.0\.0\.1 is a "
        r"forbidden \(loopback\) address; .* add it to INFERENCE_URL_ALLOWLIST",
        message,
    )


@pytest.mark.parametrize(
    ("path", "status", "pattern"),
    [
        pytest.param(
            "/page", 422, r"content type is 'text/html', not an image", id="not-image-type"
        ),
        pytest.param("/fake.png", 422, r"not an image Pillow can decode", id="not-decodable"),
        pytest.param(
            "/declared-huge",
            413,
            r"has 52428800 bytes; the limit is 5242880",
            id="declared-too-large",
        ),
        pytest.param(
            "/streamed-huge",
            413,
            r"larger than the limit of 5242880 bytes",
            id="streamed-too-large",
        ),
        pytest.param("/missing", 422, r"the server answered HTTP 404", id="not-found"),
        pytest.param(
            "/to-metadata",
            400,
            r"redirect 1 to 'http://169\.254\.169\.254/latest/meta-data/'"
            r".*forbidden \(link-local\).*INFERENCE_URL_ALLOWLIST",
            id="redirect-to-metadata",
        ),
        pytest.param("/loop", 422, r"more than 3 redirects", id="redirect-loop"),
    ],
)
def test_bad_image_urls_are_refused(
    image: Any,
    image_server: str,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    status: int,
    pattern: str,
) -> None:
    monkeypatch.setenv(ALLOWLIST, "127.0.0.1")
    model = FakeModel(10)
    answer = serving.invoke(model, image, url_request(f"{image_server}{path}"), "application/json")
    assert answer[0] == status, answer
    assert re_search(pattern, json.loads(answer[1])["error"])
    assert "Traceback" not in answer[1] and model.seen == []


@pytest.mark.parametrize(
    "path", [pytest.param("/slow", id="slow-answer"), pytest.param("/trickle", id="trickled-body")]
)
def test_download_gives_up_after_the_timeout(
    image_server: str, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    monkeypatch.setenv(ALLOWLIST, "127.0.0.1")
    started = time.monotonic()
    with pytest.raises(
        serving.RequestError, match=r"no complete answer within 0\.4 s \(timeout\)"
    ) as caught:
        serving.fetch_image(f"{image_server}{path}", SIDE, timeout=0.4)
    assert caught.value.status == 422
    assert time.monotonic() - started < 1.2


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything resolves or connects: refusals must come first."""

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"network used: {args}")

    monkeypatch.setattr(socket, "getaddrinfo", forbidden)
    monkeypatch.setattr(socket, "create_connection", forbidden)
    monkeypatch.delenv(ALLOWLIST, raising=False)


@pytest.mark.parametrize(
    ("url", "pattern"),
    [
        pytest.param(
            "ftp://example.com/digit.png",
            r"uses scheme 'ftp'; only http and https are allowed",
            id="ftp",
        ),
        pytest.param("file:///etc/passwd", r"uses scheme 'file'; only http and https", id="file"),
        pytest.param("example.com/digit.png", r"uses scheme 'none'", id="no-scheme"),
        pytest.param(
            "http://user:secret@example.com/d.png", r"carries credentials", id="credentials"
        ),
        pytest.param("http:///d.png", r"has no host", id="no-host"),
        pytest.param(
            "http://10.1.2.3/d.png",
            r"10\.1\.2\.3 is a forbidden \(private\) address",
            id="private-10",
        ),
        pytest.param("http://192.168.0.7/d.png", r"forbidden \(private\)", id="private-192"),
        pytest.param(
            "http://169.254.169.254/latest/meta-data/",
            r"forbidden \(link-local\)",
            id="metadata-link-local",
        ),
        pytest.param("http://0.0.0.0:8080/", r"forbidden \(unspecified\)", id="unspecified"),
        pytest.param("http://224.0.0.1/", r"forbidden \(multicast\)", id="multicast"),
        pytest.param("http://240.0.0.1/", r"forbidden \(reserved\)", id="reserved"),
        pytest.param(
            "http://100.64.0.1/", r"forbidden \(not globally routable\)", id="shared-cgnat"
        ),
        pytest.param("http://[::1]:8080/d.png", r"forbidden \(loopback\)", id="loopback-v6"),
        pytest.param("http://[fe80::1]/d.png", r"forbidden \(link-local\)", id="link-local-v6"),
        pytest.param("http://[fd00::1]/d.png", r"forbidden \(private\)", id="unique-local-v6"),
        pytest.param(
            "http://[::ffff:127.0.0.1]/d.png",
            r"forbidden \(loopback \(embedded in ::ffff:7f00:1\)\)",
            id="mapped-v4-loopback",
        ),
        pytest.param("https://[::]/d.png", r"forbidden \(unspecified\)", id="unspecified-v6"),
    ],
)
def test_urls_are_refused_before_any_connection(
    image: Any, no_network: None, url: str, pattern: str
) -> None:
    status, answer, _ = serving.invoke(FakeModel(10), image, url_request(url), "application/json")
    assert status == 400, answer
    assert re_search(pattern, json.loads(answer)["error"])


def fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, str]) -> list[tuple[str, int]]:
    """Resolve names from `answers`; record connections and refuse them."""
    connections: list[tuple[str, int]] = []

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        connections.append(address)
        raise ConnectionRefusedError("refused by the test")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    return connections


def test_a_name_resolving_to_a_private_address_is_refused(
    image: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    connections = fake_dns(monkeypatch, {"images.example.com": "10.0.0.5"})
    monkeypatch.delenv(ALLOWLIST, raising=False)
    status, answer, _ = serving.invoke(
        FakeModel(10), image, url_request("http://images.example.com/d.png"), "application/json"
    )
    assert status == 400 and connections == []
    assert re_search(
        r"host 'images\.example\.com' resolves to 10\.0\.0\.5, a forbidden \(private\) address",
        json.loads(answer)["error"],
    )


def test_an_allowlisted_name_connects_to_the_address_that_was_checked(
    image: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    connections = fake_dns(monkeypatch, {"images.internal": "10.0.0.5"})
    monkeypatch.setenv(ALLOWLIST, "images.internal")
    status, answer, _ = serving.invoke(
        FakeModel(10), image, url_request("http://images.internal:8080/d.png"), "application/json"
    )
    assert connections == [("10.0.0.5", 8080)]
    assert status == 422
    assert re_search(r"cannot download \(ConnectionRefusedError", json.loads(answer)["error"])


@pytest.mark.parametrize(
    "address",
    [pytest.param("93.184.215.14", id="v4"), pytest.param("2606:4700:4700::1111", id="v6")],
)
def test_public_addresses_are_allowed(address: str) -> None:
    import ipaddress

    assert serving.forbidden_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("color", "mode"),
    [
        pytest.param("black-on-white", "L", id="black-on-white"),
        pytest.param("white-on-black", "L", id="white-on-black"),
        pytest.param("black-on-transparent", "RGBA", id="transparent"),
        pytest.param("black-on-white", "RGB", id="rgb"),
    ],
)
def test_images_become_light_digits_on_dark_like_training(color: str, mode: str) -> None:
    raw = sklearn_digit(3).reshape(SIDE, SIDE).astype(np.uint8)
    big = np.kron(raw, np.ones((4, 4), dtype=np.uint8))
    if mode == "RGBA":
        alpha = big  # ink where the digit is, see-through elsewhere
        picture = Image.fromarray(np.dstack([np.zeros_like(big)] * 3 + [alpha]), mode="RGBA")
    else:
        gray = big if color == "white-on-black" else 255 - big
        picture = Image.fromarray(gray, mode="L").convert(mode)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    pixels = serving.image_pixels(buffer.getvalue(), SIDE)
    np.testing.assert_allclose(pixels, raw.reshape(-1), atol=1.0)


# --------------------------------------------------------------------------- (c) real models

COMBOS = cases(("penguins", "digits"))

# TensorFlow Serving's REST predict API, played by the SavedModel in a separate process.
_FAKE_TFS = textwrap.dedent(
    """
    import json, sys
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from pathlib import Path
    import tensorflow as tf

    model_dir, port_file = Path(sys.argv[1]), Path(sys.argv[2])
    signature = tf.saved_model.load(str(model_dir / "1")).signatures["serving_default"]
    (name,) = signature.structured_input_signature[1]

    class Predict(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            try:
                payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                x = tf.constant(payload["instances"], dtype=tf.float32)
                (value,) = signature(**{name: x}).values()
                status, body = 200, {"predictions": value.numpy().tolist()}
            except Exception as error:
                status, body = 400, {"error": str(error)}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = HTTPServer(("127.0.0.1", 0), Predict)
    port_file.write_text(str(server.server_address[1]))
    server.serve_forever()
    """
)


@pytest.fixture(scope="session")
def fake_tf_serving(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[Path], str]]:
    """Factory: model dir -> the predict URL of a fake TensorFlow Serving for it (one per dir)."""
    work = tmp_path_factory.mktemp("fake-tfs")
    (work / "fake_tfs.py").write_text(_FAKE_TFS)
    started: dict[Path, tuple[subprocess.Popen[bytes], str]] = {}

    def start(model_dir: Path) -> str:
        if model_dir not in started:
            port_file = work / f"port-{len(started)}"
            env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
            proc = subprocess.Popen(
                [sys.executable, str(work / "fake_tfs.py"), str(model_dir), str(port_file)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            deadline = time.monotonic() + 120
            while not (port_file.is_file() and port_file.read_text()):
                if proc.poll() is not None:
                    raise AssertionError(f"fake TF Serving died:\n{proc.stderr.read().decode()}")  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "fake TF Serving did not start in 120 s"
                time.sleep(0.1)
            url = f"http://127.0.0.1:{port_file.read_text()}/v1/models/model:predict"
            started[model_dir] = (proc, url)
        return started[model_dir][1]

    yield start
    for proc, _ in started.values():
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def post(url: str, payload: str) -> SimpleNamespace:
    """What the TensorFlow Serving container does with input_handler's output."""
    request = urllib.request.Request(url, data=payload.encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return SimpleNamespace(status_code=response.status, content=response.read())
    except urllib.error.HTTPError as error:
        with error:
            return SimpleNamespace(status_code=error.code, content=error.read())


class Endpoint:
    """A model artifact served by its own handler, called as its container would call it."""

    def __init__(self, framework: str, model_dir: Path, handler: ModuleType, tfs_url: str | None):
        self.protocol = FRAMEWORKS[framework].protocol
        self.handler = handler
        self.tfs_url = tfs_url
        served_here = self.protocol != "tensorflow-serving"
        self.model = handler.model_fn(str(model_dir)) if served_here else None
        self.classes = json.loads((model_dir / "code" / "artifacts" / "classes.json").read_text())

    def invoke(
        self, body: str, content_type: str, accept: str | None = None
    ) -> tuple[int, str, str]:
        """(status, body, content type); a refusal gives its status and message."""
        handler = self.handler
        data = io.BytesIO(body.encode())
        if self.protocol == "sagemaker-containers":
            features = handler.input_fn(data.getvalue(), content_type)
            prediction = handler.predict_fn(features, self.model)
            result = handler.output_fn(prediction, accept or "application/json")
            if isinstance(result, tuple):
                return (200, *result)
            return result.status_code, result.get_data().decode(), result.mimetype
        if self.protocol == "pytorch-toolkit":
            try:
                features = handler.input_fn(data.getvalue(), content_type)
                prediction = handler.predict_fn(features, self.model)
                return (200, *handler.output_fn(prediction, accept))
            except handler.InferenceRequestError as error:
                return error.status, str(error), "error"
        context = SimpleNamespace(
            request_content_type=content_type, accept_header=accept, rest_uri=self.tfs_url
        )
        try:
            payload = handler.input_handler(data, context)
        except handler.serving.RequestError as error:
            return error.status, str(error), "error"
        assert self.tfs_url is not None
        return (200, *handler.output_handler(post(self.tfs_url, payload), context))

    def predict(self, samples: list[Any]) -> list[dict[str, Any]]:
        status, body, content_type = self.invoke(json.dumps(samples), "application/json")
        assert (status, content_type) == (200, "application/json"), body
        return json.loads(body)


def extract(tarball: Path, target: Path) -> Path:
    target.mkdir(parents=True)
    with tarfile.open(tarball) as archive:
        archive.extractall(target, filter="data")
    return target


@pytest.fixture(scope="session")
def extracted_model(
    trained_model: Callable[[str, str], TrainedModel], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str, str], tuple[Path, TrainedModel]]:
    """Factory: (project, framework) -> its model.tar.gz extracted once, as the endpoint does."""
    cache: dict[tuple[str, str], tuple[Path, TrainedModel]] = {}

    def get(project: str, framework: str) -> tuple[Path, TrainedModel]:
        if (project, framework) not in cache:
            trained = trained_model(project, framework)
            target = tmp_path_factory.mktemp(f"endpoint-{project}-{framework}") / "model"
            cache[project, framework] = extract(trained.tarball, target), trained
        return cache[project, framework]

    return get


@pytest.fixture
def endpoint(
    extracted_model: Callable[[str, str], tuple[Path, TrainedModel]],
    fake_tf_serving: Callable[[Path], str],
    load_handler: Callable[[Path], ModuleType],
) -> Callable[[str, str], tuple[Endpoint, TrainedModel]]:
    """Factory: (project, framework) -> the handler loaded from the extracted model.tar.gz."""

    def make(project: str, framework: str) -> tuple[Endpoint, TrainedModel]:
        model_dir, trained = extracted_model(project, framework)
        handler = load_handler(model_dir / "code")
        tfs = FRAMEWORKS[framework].protocol == "tensorflow-serving"
        url = fake_tf_serving(model_dir) if tfs else None
        return Endpoint(framework, model_dir, handler, url), trained

    return make


def baseline(trained: TrainedModel, name: str = "test") -> list[dict[str, Any]]:
    path = trained.data_dir / "baseline" / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def check_answers(answers: list[dict[str, Any]], classes: list[str]) -> None:
    for answer in answers:
        assert set(answer) == {"prediction", "label", "confidence"}
        assert answer["label"] == classes[answer["prediction"]]
        assert 0.0 <= answer["confidence"] <= 1.0


@pytest.mark.parametrize(("project", "framework"), COMBOS)
def test_real_model_answers_single_batched_and_jsonlines_requests(
    endpoint: Callable[[str, str], tuple[Endpoint, TrainedModel]], project: str, framework: str
) -> None:
    served, trained = endpoint(project, framework)
    records = baseline(trained)
    batch = served.predict(records)
    assert len(batch) == len(records)
    check_answers(batch, served.classes)
    # Same predictions as the model itself on the preprocessed test split.
    expected = np.argmax(trained.test_probabilities, axis=1)
    assert [a["prediction"] for a in batch] == expected.tolist()
    accuracy = np.mean(
        [a["label"] == r["ground_truth"] for a, r in zip(batch, records, strict=True)]
    )
    assert accuracy >= 0.8, accuracy
    print(f"{project}-{framework}: handler accuracy {accuracy:.3f} on {len(records)} test records")
    # Batch order kept: the batch equals the singles one by one.
    for record, in_batch in zip(records[:8], batch[:8], strict=True):
        (single,) = served.predict([record])
        (alone,) = served.predict(record)  # type: ignore[arg-type]
        for answer in (single, alone):
            assert (answer["prediction"], answer["label"]) == (
                in_batch["prediction"],
                in_batch["label"],
            )
            assert answer["confidence"] == pytest.approx(in_batch["confidence"], abs=1e-5)
    lines = "".join(json.dumps(r) + "\n" for r in records[:8])
    status, body, content_type = served.invoke(
        lines, "application/jsonlines", "application/jsonlines"
    )
    assert (status, content_type) == (200, "application/jsonlines")
    assert [json.loads(line)["label"] for line in body.splitlines()] == [
        a["label"] for a in batch[:8]
    ]


@pytest.mark.parametrize(("project", "framework"), COMBOS)
def test_real_model_refuses_bad_requests(
    endpoint: Callable[[str, str], tuple[Endpoint, TrainedModel]], project: str, framework: str
) -> None:
    served, trained = endpoint(project, framework)
    record = baseline(trained)[0]
    wrong_shape = [1, 2, 3] if project == "digits" else [[1, 2, 3]]
    shape_message = r"expected 64 pixels" if project == "digits" else r"expected an object"
    cases = [
        (json.dumps(record), "text/csv", 415, r"content type 'text/csv' is not supported"),
        (
            json.dumps({"unknown": 1}),
            "application/json",
            400,
            r"expected 'image_url' or 'pixels'|none of the feature columns",
        ),
        (json.dumps(wrong_shape), "application/json", 400, shape_message),
        ("{not json", "application/json", 400, r"not valid JSON"),
        ("[]", "application/json", 400, r"empty list"),
    ]
    for body, content_type, status, pattern in cases:
        answer = served.invoke(body, content_type)
        assert answer[0] == status, (body, answer)
        assert re_search(pattern, answer[1])
        assert "Traceback" not in answer[1]


@pytest.mark.parametrize(("project", "framework"), [c for c in COMBOS if "digits" in c.id])
def test_real_model_reads_digit_images_from_urls(
    endpoint: Callable[[str, str], tuple[Endpoint, TrainedModel]],
    image_server: str,
    monkeypatch: pytest.MonkeyPatch,
    project: str,
    framework: str,
) -> None:
    served, trained = endpoint(project, framework)
    records = baseline(trained)[:6]
    for index, record in enumerate(records):
        ImageServer.files[f"/test-{index}.png"] = digit_png(np.asarray(record["pixels"]))
    monkeypatch.setenv(ALLOWLIST, "127.0.0.1")
    from_urls = served.predict([{"image_url": f"{image_server}/test-{i}.png"} for i in range(6)])
    from_pixels = served.predict([{"pixels": r["pixels"]} for r in records])
    assert [a["label"] for a in from_urls] == [a["label"] for a in from_pixels]
    monkeypatch.delenv(ALLOWLIST)
    status, message, _ = served.invoke(
        json.dumps({"image_url": f"{image_server}/test-0.png"}), "application/json"
    )
    assert status == 400 and "INFERENCE_URL_ALLOWLIST" in message


def test_pytorch_model_keeps_the_memory_its_scoring_batches_free(
    extracted_model: Callable[[str, str], tuple[Path, TrainedModel]],
) -> None:
    """Evaluate, the batch transform and the endpoint load the model through `model_fn`, which
    keeps freed blocks (the serving package's allocator setting, shared with training) instead of
    faulting them in again batch after batch."""
    model_dir, _ = extracted_model("digits", "pytorch")
    loaded = f"""
import warnings
warnings.simplefilter("ignore")
sys.path.insert(0, {str(model_dir / "code")!r})
import inference
inference.model_fn({str(model_dir)!r})
"""
    plain, loaded_faults = page_faults_of_steps("import torch"), page_faults_of_steps(loaded)
    assert loaded_faults < 20_000, (plain, loaded_faults)
    assert plain > 10 * loaded_faults, (plain, loaded_faults)

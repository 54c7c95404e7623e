"""The TensorFlow handler serves on its image's own stack: nothing installed at start.

The TensorFlow Serving inference image has Python 3.12 and no Pillow (2.19 had no numpy either;
2.20 has numpy 1.26.4: kernel/image_environments.json cites its Dockerfile), and a serving
container pip-installs the
artifact's `code/requirements.txt` at start, which needs the internet. So the artifact asks for
nothing, and the handler, loaded from a real `model.tar.gz` as the container loads it (by path,
with `code/lib` on the import path where the artifact has one), answers the same on an
interpreter of the image's Python with no package at all as on this machine, where
`serving.parse_request` (numpy) gives the instances the PyTorch and XGBoost handlers take.

The image's own `tensorflow-serving-api` (installed there with --no-dependencies) is left out of
the environment: the handler never imports it, and installing it needs the network. TensorFlow
Serving's answer is played from the trained model's own probabilities.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import textwrap
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.environments import build_environment, cache_root
from kernel.frameworks import FRAMEWORKS, MODEL_SCRIPTS
from kernel.image_environments import environment_for
from kernel.images import image_uri, py_versions
from tests.components.fixtures_models import TrainedModel
from tests.components.runner import load_serving

FRAMEWORK = FRAMEWORKS["tensorflow"]
JSON, JSONLINES = "application/json", "application/jsonlines"

# Loads code/inference.py as the container does and answers each request of argv[2] (a JSON list
# of {content_type, body, accept, predictions}) with input_handler, then output_handler.
_DRIVER = textwrap.dedent(
    """
    import importlib.util, json, sys
    from pathlib import Path

    code = Path(sys.argv[1])
    if (code / "lib").is_dir():
        sys.path.insert(0, str(code / "lib"))
    spec = importlib.util.spec_from_file_location("inference", code / "inference.py")
    handler = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(handler)

    class Context:
        def __init__(self, content_type, accept):
            self.request_content_type, self.accept_header = content_type, accept

    class Response:
        status_code = 200
        def __init__(self, predictions):
            self.content = json.dumps({"predictions": predictions}).encode()

    answers = []
    for request in json.loads(Path(sys.argv[2]).read_text()):
        context = Context(request["content_type"], request["accept"])
        try:
            rest_body = json.loads(handler.input_handler(request["body"].encode(), context))
        except Exception as error:
            answers.append({"refused": f"{type(error).__name__}: {error}"})
            continue
        body, kind = handler.output_handler(Response(request["predictions"]), context)
        answers.append({"rest_body": rest_body, "response": [body, kind]})
    loaded = sorted(m for m in ("numpy", "PIL", "tensorflow") if m in sys.modules)
    print(json.dumps({"answers": answers, "loaded": loaded}))
    """
)


@pytest.fixture(scope="module")
def image_python() -> Path:
    """An interpreter of the TensorFlow Serving image's Python in a venv with no package."""
    version = FRAMEWORK.versions["inference"][-1]
    python = py_versions("tensorflow", version, "inference")[-1]
    uri = image_uri("tensorflow", "inference", version, python, "us-east-1", "ml.m5.large")
    env = environment_for(uri)
    assert env is not None and env.python is not None, uri
    assert "pillow" not in {p.name for p in env.packages}, env.packages
    return build_environment(replace(env, packages=()), cache_root())


def requirements(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def extracted(trained: TrainedModel, target: Path) -> Path:
    with tarfile.open(trained.tarball) as archive:
        archive.extractall(target, filter="data")
    return target / "code"


def tabular_records(transformer: dict[str, Any]) -> list[dict[str, Any]]:
    """Records that reach every branch: typical values, numbers as text, missing, unknown."""
    numeric, categorical = transformer["numeric"], transformer["categorical"]
    typical = {s["name"]: s["mean"] + s["scale"] / 3 for s in numeric} | {
        s["name"]: s["categories"][-1] for s in categorical
    }
    as_text = {s["name"]: f"{s['mean'] - s['scale']:.5f}" for s in numeric}
    missing = {numeric[0]["name"]: None, "not_a_feature": 1}
    unknown = {s["name"]: "never-seen" for s in categorical} | {numeric[-1]["name"]: 0.1}
    return [typical, as_text, missing, unknown]


def requests_for(project: str, code: Path, trained: TrainedModel) -> list[dict[str, Any]]:
    """One request a content type and batch shape, plus a bad one; each with TF Serving's answer."""
    transformer = json.loads((code / "artifacts" / "transformer.json").read_text())
    if transformer["kind"] == "tabular":
        samples: list[Any] = tabular_records(transformer)
        bad: Any = {"nothing": "useful"}
    else:
        side = int(transformer["side"])
        flat = [(i * 37) % 256 for i in range(side * side)]
        nested = [flat[row * side : (row + 1) * side] for row in range(side)]
        samples = [flat, {"pixels": nested}, {"pixels": [255 - v for v in flat]}]
        bad = {"pixels": [300] * side * side}
    n = len(samples)
    probabilities = [[float(p) for p in row] for row in trained.test_probabilities[:n]]
    lines = "".join(json.dumps(s) + "\n" for s in samples)
    return [
        {
            "content_type": JSON,
            "body": json.dumps(samples),
            "accept": JSON,
            "predictions": probabilities,
        },
        {
            "content_type": JSON,
            "body": json.dumps(samples[0]),
            "accept": JSONLINES,
            "predictions": probabilities[:1],
        },
        {
            "content_type": JSONLINES,
            "body": lines,
            "accept": JSONLINES,
            "predictions": probabilities,
        },
        {"content_type": JSON, "body": json.dumps([bad]), "accept": JSON, "predictions": []},
    ]


def serve(python: Path | str, code: Path, requests: list[dict[str, Any]], work: Path) -> Any:
    (work / "driver.py").write_text(_DRIVER)
    (work / "requests.json").write_text(json.dumps(requests))
    done = subprocess.run(
        [str(python), str(work / "driver.py"), str(code), str(work / "requests.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_requirements_ask_for_nothing() -> None:
    assert requirements(Path(MODEL_SCRIPTS) / "requirements.txt") == []


def test_the_image_python_has_neither_numpy_nor_pillow(image_python: Path) -> None:
    probe = "import importlib.util as u; print([u.find_spec(m) is None for m in ('numpy', 'PIL')])"
    done = subprocess.run([str(image_python), "-c", probe], capture_output=True, text=True)
    assert done.stdout.strip() == "[True, True]", done.stderr


@pytest.mark.parametrize("project", ["penguins", "digits"])
def test_handler_answers_alike_on_the_image_stack_and_here(
    project: str,
    image_python: Path,
    trained_model: Callable[[str, str], TrainedModel],
    tmp_path: Path,
) -> None:
    trained = trained_model(project, "tensorflow")
    code = extracted(trained, tmp_path / "model")
    assert requirements(code / "requirements.txt") == []
    requests = requests_for(project, code, trained)
    (tmp_path / "image").mkdir()
    (tmp_path / "here").mkdir()
    on_image = serve(image_python, code, requests, tmp_path / "image")
    here = serve(sys.executable, code, requests, tmp_path / "here")

    assert on_image["loaded"] == []  # the handler imported neither numpy, Pillow nor TensorFlow
    assert on_image["answers"] == here["answers"]
    # The instances are what the numpy path (PyTorch's and XGBoost's handlers) parses.
    serving = load_serving(f"serving_image_{project}")
    artifacts = serving.load_artifacts(code / "artifacts")
    for request, answer in zip(requests[:3], on_image["answers"][:3], strict=True):
        parsed = serving.parse_request(request["body"], request["content_type"], artifacts)
        assert answer["rest_body"] == {"instances": parsed.tolist()}
        expected = serving.format_predictions(
            np.asarray(request["predictions"]), artifacts, request["accept"]
        )
        assert answer["response"] == [*expected] and expected[1] == request["accept"]
    assert on_image["answers"][3]["refused"].startswith("RequestError: 400 Bad Request: ")


def test_image_urls_are_refused_where_pillow_is_missing(
    image_python: Path, trained_model: Callable[[str, str], TrainedModel], tmp_path: Path
) -> None:
    trained = trained_model("digits", "tensorflow")
    code = extracted(trained, tmp_path / "model")
    request = {
        "content_type": JSON,
        "body": json.dumps({"image_url": "https://example.com/digit.png"}),
        "accept": JSON,
        "predictions": [],
    }
    (answer,) = serve(image_python, code, [request], tmp_path)["answers"]
    assert answer["refused"] == (
        "RequestError: 422 Unprocessable Entity: the sample: image_url "
        "'https://example.com/digit.png': this serving image cannot decode image URLs (it lacks "
        'numpy); send the image\'s pixels instead: {"pixels": [...]}'
    )

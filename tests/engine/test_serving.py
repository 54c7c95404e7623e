"""engine.serving: real model.tar.gz archives served by their own handlers, as the toolkits do."""

from __future__ import annotations

import json
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.serving import load_model, protocol_of, unpack_model
from kernel.errors import ProblemError
from kernel.frameworks import FRAMEWORKS, PROTOCOL_ENV
from tests.components.fixtures_models import TrainedModel
from tests.engine.serve_fixtures import baseline, container, expected_labels, models

__all__ = ["models"]

# torch 2.13 here (the container has 2.6) deprecates loading the TorchScript contract model.
pytestmark = pytest.mark.filterwarnings(
    r"ignore:`torch\.jit\.load` is deprecated:DeprecationWarning"
)
FEATURES = {"island": "Biscoe", "culmen_length_mm": 50.0, "culmen_depth_mm": 15.0}


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_the_protocol_is_read_from_the_container_environment(framework: str) -> None:
    assert protocol_of(container(framework, "s3://b/m.tar.gz")) == FRAMEWORKS[framework].protocol
    # The image does not decide it: a custom image serves by the protocol its environment names.
    custom = {**container(framework, "s3://b/m.tar.gz"), "Image": "1.dkr.ecr.x/mine:1"}
    assert protocol_of(custom) == FRAMEWORKS[framework].protocol


@pytest.mark.parametrize(
    ("environment", "what"),
    [
        ({}, "it has no INFERENCE_SERVING_PROTOCOL"),
        ({PROTOCOL_ENV: "triton"}, "INFERENCE_SERVING_PROTOCOL is 'triton'"),
    ],
    ids=["none", "unknown"],
)
def test_a_container_without_a_known_protocol_is_refused(
    environment: dict[str, str], what: str
) -> None:
    image = "1.dkr.ecr.us-east-1.amazonaws.com/mine:1"  # no SDK inference image either
    with pytest.raises(ProblemError) as caught:
        protocol_of({"Image": image, "Environment": environment})
    assert caught.value.render() == (
        f"error: container Environment of image {image!r}\n"
        f"  {what}\n"
        "  why: the local engine plays the serving container that variable names (one of "
        "tensorflow-serving, pytorch-toolkit, sagemaker-containers) or, without it, an SDK "
        "inference image (pytorch-inference, sagemaker-scikit-learn, sagemaker-xgboost, "
        "tensorflow-inference)\n"
        "  fix: compile the pipeline again: the compiler writes the framework's protocol there; "
        "for a definition of your own, set INFERENCE_SERVING_PROTOCOL in the model's Environment"
    )


SDK_ENVIRONMENT = {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/x"}


@pytest.mark.parametrize(
    ("repository", "protocol"),
    [
        ("pytorch-inference:2.1-cpu-py310", "pytorch-toolkit"),
        ("tensorflow-inference:2.13-cpu", "tensorflow-serving"),
        ("sagemaker-xgboost:1.7-1", "sagemaker-containers"),
    ],
)
def test_a_model_the_sdk_created_is_served_by_its_images_protocol(
    repository: str, protocol: str
) -> None:
    image = f"763104351884.dkr.ecr.us-east-1.amazonaws.com/{repository}"
    assert protocol_of({"Image": image, "Environment": SDK_ENVIRONMENT}) == protocol


def test_an_sdk_model_whose_handler_is_not_inference_py_is_refused() -> None:
    image = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1-cpu-py310"
    environment = {**SDK_ENVIRONMENT, "SAGEMAKER_PROGRAM": "serve.py"}
    with pytest.raises(ProblemError) as caught:
        protocol_of({"Image": image, "Environment": environment})
    assert "SAGEMAKER_PROGRAM is 'serve.py'" in caught.value.render()
    assert "entry_point='inference.py'" in caught.value.render()


def test_an_archive_without_a_handler_is_refused(tmp_path: Path) -> None:
    (tmp_path / "model.pt").write_bytes(b"x")
    tarball = tmp_path / "model.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(tmp_path / "model.pt", "model.pt")
    with pytest.raises(ProblemError, match=r"it has no code/inference\.py"):
        unpack_model(tarball, tmp_path / "out")


@pytest.fixture
def served(
    models: Callable[[str, str], TrainedModel], tmp_path: Path
) -> Callable[[str, str], tuple[object, TrainedModel]]:
    def load(project: str, framework: str) -> tuple[object, TrainedModel]:
        model = models(project, framework)
        model_dir = unpack_model(model.tarball, tmp_path / f"{project}-{framework}")
        return load_model(model_dir, FRAMEWORKS[framework].protocol), model

    return load


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_real_models_answer_like_their_container(
    served: Callable[[str, str], tuple[object, TrainedModel]], framework: str
) -> None:
    model, trained = served("penguins", framework)
    records = baseline(trained)
    features = [{k: v for k, v in r.items() if k != "ground_truth"} for r in records]
    answer = model.invoke(json.dumps(features).encode(), "application/json", None, None)  # type: ignore[attr-defined]
    assert (answer.status, answer.content_type) == (200, "application/json")
    assert [a["label"] for a in json.loads(answer.body)] == expected_labels(trained)
    lines = "".join(json.dumps(f) + "\n" for f in features[:3]).encode()
    answer = model.invoke(lines, "application/jsonlines", "application/jsonlines", None)  # type: ignore[attr-defined]
    assert answer.content_type == "application/jsonlines"
    assert [json.loads(line)["label"] for line in answer.body.splitlines()] == (
        expected_labels(trained)[:3]
    )


@pytest.mark.parametrize(
    ("framework", "status", "body"),
    [
        ("pytorch", 400, {"status": 400}),
        ("tensorflow", 500, {}),
        ("xgboost", 400, {"status": 400}),
    ],
    ids=["pytorch-sets-the-status", "tensorflow-answers-500", "xgboost-answers-a-response"],
)
def test_bad_requests_are_refused_as_each_container_refuses_them(
    served: Callable[[str, str], tuple[object, TrainedModel]],
    framework: str,
    status: int,
    body: dict[str, int],
) -> None:
    model, _ = served("penguins", framework)
    bad = json.dumps({**FEATURES, "body_mass_g": "heavy"}).encode()
    answer = model.invoke(bad, "application/json", "*/*", None)  # type: ignore[attr-defined]
    assert answer.status == status
    error = json.loads(answer.body)
    assert "'body_mass_g' must be a number" in error["error"]
    assert {k: error[k] for k in body} == body
    if framework == "tensorflow":
        assert error["error"].startswith("400 Bad Request: ")


def test_two_models_in_one_process_keep_their_own_handler_modules(
    models: Callable[[str, str], TrainedModel], tmp_path: Path
) -> None:
    trained = models("penguins", "pytorch")
    first, second = (
        load_model(unpack_model(trained.tarball, tmp_path / name), "pytorch-toolkit")
        for name in ("first", "second")
    )
    assert first.handler.serving is not second.handler.serving
    assert first.handler.serving.__file__.startswith(str(tmp_path / "first"))
    assert "serving" not in sys.modules
    for model in (first, second):
        answer = model.invoke(json.dumps(FEATURES).encode(), "application/json", None, None)
        assert json.loads(answer.body)[0]["label"] in ("Adelie", "Chinstrap", "Gentoo")

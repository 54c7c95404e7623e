"""Shared by the serving-side engine tests: trained models, an engine root, step contexts.

Models are tests/components' own: trained by the real train scripts once per test run, shared by
every test module and xdist worker.
"""

from __future__ import annotations

import json
import random
import socket
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from bundle.assets import asset_objects
from engine.container_fs import ContainerFs
from engine.executors.base import StepContext
from engine.s3 import S3
from kernel import images
from kernel.frameworks import FRAMEWORKS
from kernel.manifest import Function, Manifest
from tests.components.fixtures_models import TrainedModel, trained

BUCKET = "example-sagemaker-bucket"
# Each framework's serving image for its first version, as the compiler resolves it.

REPO = Path(__file__).resolve().parents[2]


def shipped_version(framework: str) -> str:
    """The serving version conf/framework/<framework>.yaml picks (the goldens' images use it)."""
    config = yaml.safe_load((REPO / "conf" / "framework" / f"{framework}.yaml").read_text())
    return str(config.get("inference_version") or config["version"])


IMAGES = {
    name: images.image_uri(
        name,
        "inference",
        shipped_version(name),
        images.py_versions(name, shipped_version(name), "inference")[-1],
        "us-east-1",
        "ml.m5.large",
    )
    for name in FRAMEWORKS
}


def container(framework: str, model_uri: str) -> dict[str, Any]:
    """A serving container as the compiler writes it: image, environment (with the serving
    protocol, from the framework table) and model."""
    environment = FRAMEWORKS[framework].environment()
    return {"Environment": environment, "Image": IMAGES[framework], "ModelDataUrl": model_uri}


@pytest.fixture
def models(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], TrainedModel]:
    """Factory: ("penguins", "pytorch") -> TrainedModel."""
    return lambda project, framework: trained(project, framework, tmp_path_factory)


def baseline(model: TrainedModel, name: str = "test") -> list[dict[str, Any]]:
    """The preprocess step's baseline records (raw features + ground_truth)."""
    path = model.data_dir / "baseline" / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def expected_labels(model: TrainedModel) -> list[str]:
    """The labels the model itself gives the test split (its own probabilities, argmax)."""
    classes = json.loads((model.data_dir / "artifacts" / "classes.json").read_text())
    return [classes[int(i)] for i in model.test_probabilities.argmax(axis=1)]


# --------------------------------------------------------------------------- golden steps

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def resolve(value: Any, known: dict[str, Any]) -> Any:
    """The value with its Get and Std:Join expressions resolved, as the scheduler does."""
    if isinstance(value, dict):
        if set(value) == {"Get"}:
            return known[value["Get"]]
        if set(value) == {"Std:Join"}:
            join = value["Std:Join"]
            return join["On"].join(str(resolve(v, known)) for v in join["Values"])
        return {k: resolve(v, known) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, known) for v in value]
    return value


def _walk(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for step in steps:
        yield step
        if step["Type"] == "Condition":
            yield from _walk(step["Arguments"].get("IfSteps", []))
            yield from _walk(step["Arguments"].get("ElseSteps", []))


def golden_manifest(case: str) -> Manifest:
    path = GOLDEN / case / "assets.json"
    return Manifest.from_json(path.read_text(), str(path))


def golden_assets(case: str, root: Root) -> dict[str, str]:
    """A golden bundle's assets put in the root's S3, as a run does first: their URIs by name."""
    manifest = golden_manifest(case)
    for obj in asset_objects(manifest.assets):
        root.s3.put_bytes(obj.uri, obj.body)
    return {a.name: a.s3_uri for a in manifest.assets}


def golden_functions(case: str) -> dict[str, Function]:
    """The Lambda functions of a golden bundle (assets.json `functions`) by ARN."""
    return {f.function_arn: f for f in golden_manifest(case).functions}


def golden_step(case: str, name: str) -> dict[str, Any]:
    """Step `name` of a golden definition (also inside condition branches)."""
    steps = json.loads((GOLDEN / case / "pipeline.json").read_text())["Steps"]
    (step,) = [s for s in _walk(steps) if s["Name"] == name]
    return step


# --------------------------------------------------------------------------- engine root, steps


@dataclass
class Root:
    """An engine root folder with its S3."""

    path: Path
    s3: S3

    def put_model(self, model: TrainedModel, key: str) -> str:
        uri = f"s3://{BUCKET}/{key}"
        self.s3.put_bytes(uri, model.tarball.read_bytes())
        return uri

    def put_file(self, source: Path, key: str) -> str:
        uri = f"s3://{BUCKET}/{key}"
        self.s3.put_bytes(uri, source.read_bytes())
        return uri


@pytest.fixture
def root(tmp_path: Path) -> Root:
    path = tmp_path / "engine"
    return Root(path, S3(path / "s3"))


def run_process(
    log_path: Path,
) -> Callable[..., int]:
    """A stand-in for the engine's run_process: the child's output appended to the step log."""

    def run(
        argv: list[str],
        *,
        env: dict[str, str],
        cwd: Path,
        timeout: float | None = None,
        fs: ContainerFs | None = None,
        training: bool = False,
    ) -> int:
        launch = [*(fs.launcher() if fs else []), *argv]
        with log_path.open("a") as log:
            return subprocess.run(
                launch, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, timeout=timeout
            ).returncode

    return run


def context(
    root: Root,
    step_name: str,
    step_type: str,
    arguments: dict[str, Any],
    *,
    definition: dict[str, Any] | None = None,
    execution_id: str = "exec0001",
    functions: dict[str, dict[str, Any]] | None = None,
    assets: dict[str, str] | None = None,
) -> StepContext:
    """The StepContext the scheduler would build for a step with resolved arguments."""
    step_dir = root.path / "executions" / "test-pipeline" / execution_id / "steps" / step_name
    work = step_dir / "work"
    work.mkdir(parents=True, exist_ok=True)
    log_path = step_dir / "log.txt"
    log_path.touch()

    def log(line: str) -> None:
        with log_path.open("a") as handle:
            handle.write(line + "\n")

    return StepContext(
        pipeline_name="test-pipeline",
        execution_id=execution_id,
        step_name=step_name,
        step_type=step_type,
        arguments=arguments,
        definition=definition or {"Name": step_name, "Type": step_type, "Arguments": arguments},
        s3=root.s3,
        work=work,
        log=log,
        log_path=log_path,
        root=root.path,
        run_process=run_process(log_path),
        functions=functions or {},
        assets=assets or {},
    )


def unlisted_port() -> int:
    """A free loopback port below the kernel's ephemeral range, which no bind to port 0 and no
    outgoing connection is given: a test can free it and take it back without another test (or
    xdist worker) taking it in between."""
    ephemeral = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    for port in random.sample(range(10000, int(ephemeral[0])), 100):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise AssertionError("no free loopback port below the ephemeral range")


@contextmanager
def occupied_port() -> Iterator[int]:
    """A loopback port some other program is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])

"""What assets.json promises is what runs: package the training source dir, run it from there."""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

import pytest

from bundle.assets import StaleBundleError, package_asset
from compiler.compile import compile_overrides
from kernel.context import REPO
from kernel.frameworks import FRAMEWORKS
from tests.components.compiled_jobs import training_hyperparameters
from tests.components.fixtures_models import hyperparameter_args, train_env
from tests.components.runner import run_script


def assets_of(*overrides: str) -> dict[str, dict]:  # type: ignore[type-arg]
    bundle = compile_overrides(list(overrides))
    return {a["name"]: a for a in json.loads(bundle.assets_json)["assets"]}


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_training_runs_from_the_packaged_source_dir(
    tmp_path: Path, penguins_processed: Path, framework: str
) -> None:
    """The source dir holds its framework's files only, and its job runs from it as compiled."""
    asset = assets_of("project=penguins", f"framework={framework}")["training-sourcedir"]
    own = FRAMEWORKS[framework]
    others = {
        path
        for fw in FRAMEWORKS.values()
        if fw is not own
        for path in (fw.training_script, fw.inference_handler)
    }
    packed = {f["path"] for f in asset["files"]}
    assert {own.training_script, own.inference_handler} <= packed
    assert not packed & others
    archive = package_asset(asset, tmp_path / "upload")
    assert archive.name == "sourcedir.tar.gz"
    code = tmp_path / "opt-ml-code"
    with tarfile.open(archive) as tar:
        tar.extractall(code, filter="data")
    assert sorted(p.relative_to(code).as_posix() for p in code.rglob("*") if p.is_file()) == (
        sorted(packed)
    )
    arguments = training_hyperparameters("penguins", framework) | {own.rounds: 2}
    model_dir = tmp_path / "model"
    run_script(
        code / own.training_script,
        *hyperparameter_args(arguments),
        cwd=code,
        env=train_env(penguins_processed, model_dir),
    )
    assert (model_dir / "code/inference.py").read_bytes() == (
        REPO / own.inference_handler
    ).read_bytes()


def test_archives_are_byte_identical(tmp_path: Path) -> None:
    asset = assets_of("framework=tensorflow")["training-sourcedir"]
    first = package_asset(asset, tmp_path / "a").read_bytes()
    second = package_asset(asset, tmp_path / "b").read_bytes()
    assert first == second


def test_a_changed_script_is_refused(tmp_path: Path) -> None:
    asset = assets_of("project=digits")["preprocess-code"]
    repo = tmp_path / "repo"
    path = asset["files"][0]["path"]
    (repo / path).parent.mkdir(parents=True)
    shutil.copy(REPO / path, repo / path)
    assert (
        package_asset(asset, tmp_path / "ok", repo=repo).read_bytes() == (REPO / path).read_bytes()
    )
    with (repo / path).open("a") as f:
        f.write("# edited after compiling\n")
    with pytest.raises(
        StaleBundleError,
        match=r"preprocess_image\.py \(asset preprocess-code\) changed since the bundle",
    ):
        package_asset(asset, tmp_path / "stale", repo=repo)


def test_lambda_handlers_are_packaged_as_deployable_zips(tmp_path: Path) -> None:
    import zipfile

    assets = assets_of("project=penguins")
    for name, module in (("deploy-function", "deploy"), ("schedule-function", "schedule")):
        assert assets[name]["kind"] == "lambda"
        archive = package_asset(assets[name], tmp_path / name)
        assert archive.name == f"{module}.zip"
        with zipfile.ZipFile(archive) as bundle:
            assert bundle.namelist() == [f"{module}.py"]
            source = bundle.read(f"{module}.py").decode()
        assert "def lambda_handler(event" in source
        assert package_asset(assets[name], tmp_path / f"{name}-again").read_bytes() == (
            archive.read_bytes()
        )

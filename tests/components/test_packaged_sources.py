"""What assets.json promises is what runs: package the training source dir, run it from there."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from bundle.assets import StaleBundleError, asset_objects, package_asset
from compiler.compile import compile_overrides
from kernel.context import REPO, Asset, BuildContext, Place
from kernel.frameworks import FRAMEWORKS
from tests.components.compiled_jobs import training_hyperparameters
from tests.components.fixtures_models import hyperparameter_args, train_env
from tests.components.runner import run_script


def assets_of(*overrides: str) -> dict[str, Asset]:
    bundle = compile_overrides(list(overrides))
    return {a.name: a for a in bundle.manifest.assets}


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
    packed = {f.path for f in asset.files}
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
    path = asset.files[0].path
    (repo / path).parent.mkdir(parents=True)
    shutil.copy(REPO / path, repo / path)
    assert (
        package_asset(asset, tmp_path / "ok", repo=repo).read_bytes() == (REPO / path).read_bytes()
    )
    with (repo / path).open("a") as f:
        f.write("# edited after compiling\n")
    with pytest.raises(
        StaleBundleError,
        match=r"preprocess_image\.py \(asset preprocess-code of the bundle\)\n  changed since",
    ):
        package_asset(asset, tmp_path / "stale", repo=repo)


def test_lambda_handlers_are_packaged_as_deployable_zips(tmp_path: Path) -> None:
    assets = assets_of("project=penguins")
    for name, module in (("deploy-function", "deploy"), ("schedule-function", "schedule")):
        assert assets[name].kind == "lambda"
        archive = package_asset(assets[name], tmp_path / name)
        assert archive.name == f"{module}.zip"
        with zipfile.ZipFile(archive) as bundle:
            names = bundle.namelist()
            source = bundle.read(f"{module}.py").decode()
        # the handler at the top, the shared envelope beside it as a package
        assert {f"{module}.py", "jobkit/__init__.py", "jobkit/envelope.py"} <= set(names)
        assert names == sorted(names)
        assert "lambda_handler = envelope.entry_point(" in source  # the handler Lambda calls
        assert package_asset(assets[name], tmp_path / f"{name}-again").read_bytes() == (
            archive.read_bytes()
        )


ANALYZER = "components/quality_check/scripts/analyzer.py"
DEPLOY = "components/deploy/scripts/deploy.py"
PREPROCESS = "components/preprocess/scripts/preprocess_tabular.py"


def test_a_processing_job_runs_from_its_folder_alone(tmp_path: Path) -> None:
    """The analyzer's code folder holds every module it imports: it runs with no repository."""
    asset = assets_of("project=penguins")["quality-check-analyzer"]
    assert asset.kind == "folder" and asset.s3_uri.endswith(f"/{asset.sha256}/")
    code = package_asset(asset, tmp_path / "code")
    scripts = "components/quality_check/scripts"
    assert sorted(p.relative_to(code).as_posix() for p in code.rglob("*.py")) == [
        "analyzer.py",
        "components/__init__.py",
        "components/quality_check/__init__.py",
        *(
            f"{scripts}/{name}.py"
            for name in (
                *("__init__", "captured", "columns", "data_quality", "errors"),
                *("model_quality", "reading", "report", "sketch"),
            )
        ),
        "jobkit/__init__.py",
        "jobkit/capture.py",
    ]
    dataset = tmp_path / "data.jsonl"
    dataset.write_text("".join(json.dumps({"x": i, "kind": "ab"[i % 2]}) + "\n" for i in range(9)))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # no repository on the path
    env |= {"dataset_source": str(dataset), "output_path": str(tmp_path / "out")}
    proc = subprocess.run(
        [sys.executable, str(code / "analyzer.py")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    statistics = json.loads((tmp_path / "out/statistics.json").read_text())
    assert statistics["dataset"]["item_count"] == 9


def job_assets(repo: Path) -> dict[str, Asset]:
    """The analyzer (a folder), the deploy handler (a Lambda zip) and preprocess (one file)."""
    ctx = BuildContext(Place("us-east-1", "role", "bucket", "prefix", "p"), {}, repo=repo)
    return {
        "analyzer": ctx.code_asset("analyzer", ANALYZER),
        "deploy": ctx.lambda_asset("deploy", DEPLOY),
        "preprocess": ctx.code_asset("preprocess", PREPROCESS),
    }


def bodies(assets: dict[str, Asset], repo: Path) -> dict[str, bytes]:
    objects = asset_objects(assets.values(), repo)
    return {obj.key: obj.body for obj in objects}


def test_multi_file_assets_are_byte_identical_and_change_with_what_they_ship(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "repo"
    for folder in ("components", "jobkit"):
        shutil.copytree(REPO / folder, repo / folder, ignore=shutil.ignore_patterns("__pycache__"))
    before = job_assets(repo)
    assert [before[n].kind for n in ("analyzer", "deploy", "preprocess")] == [
        "folder",
        "lambda",
        "file",
    ]
    first = bodies(before, repo)
    assert bodies(job_assets(repo), repo) == first  # the same bytes under the same keys

    with (repo / "jobkit/envelope.py").open("a") as f:  # the deploy handler's shared module
        f.write("# edited\n")
    after_envelope = job_assets(repo)
    changed = {n for n in before if after_envelope[n].sha256 != before[n].sha256}
    assert changed == {"deploy"}
    zip_key = after_envelope["deploy"].s3_uri.split("/", 3)[3]
    with zipfile.ZipFile(io.BytesIO(bodies(after_envelope, repo)[zip_key])) as archive:
        assert archive.read("jobkit/envelope.py").endswith(b"# edited\n")

    with (repo / "components/quality_check/scripts/data_quality.py").open("a") as f:
        f.write("# edited\n")
    after_module = job_assets(repo)
    assert {n for n in before if after_module[n].sha256 != after_envelope[n].sha256} == {"analyzer"}

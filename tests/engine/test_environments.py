"""`--containers`' environments: found, built once, shared by concurrent builds, failures said.

These build stacks without packages (or with pip kept off the network), so they run offline; the
scikit-learn image's real stack is built by the install step (`make stacks`) and used in
test_containers.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from engine import environments
from engine.cli import main
from engine.environments import (
    EnvironmentUnavailable,
    Interpreters,
    build_environment,
    built,
    find_interpreter,
)
from kernel.image_environments import ImageEnvironment, Package

HOST = f"{sys.version_info.major}.{sys.version_info.minor}"
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "penguins-pytorch-train"
BARE = ImageEnvironment(
    image="example:1.0",
    python=HOST,
    python_source="the test",
    packages=(),
    pip_index=None,
    end_of_patch=date(2030, 1, 1),
    end_of_patch_source="the test",
    python_end_of_life=None,
    successors=(),
)


def version_of(python: Path) -> str:
    code = "import sys; print('%d.%d' % sys.version_info[:2], sys.prefix != sys.base_prefix)"
    return subprocess.run([python, "-c", code], capture_output=True, text=True).stdout.strip()


def test_an_interpreter_is_found_and_probed_for_its_version() -> None:
    found = find_interpreter(HOST)

    assert found is not None and version_of(found) == f"{HOST} False"
    assert find_interpreter("3.99") is None


def test_pyenvs_versions_are_searched_when_path_has_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "versions" / f"{HOST}.99" / "bin" / "python"  # newest, but does not run
    broken.parent.mkdir(parents=True)
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(0o755)
    real = sorted((Path.home() / ".pyenv" / "versions").glob(f"{HOST}.*"))
    assert real, f"this test needs pyenv's {HOST}"
    (tmp_path / "versions" / real[-1].name).symlink_to(real[-1])
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))

    found = find_interpreter(HOST)

    assert found is not None and found.resolve().is_relative_to(real[-1].resolve())


def test_an_environment_is_built_once_and_then_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = build_environment(BARE, tmp_path)

    assert version_of(python) == f"{HOST} True"  # a virtual environment of that Python
    assert json.loads((python.parents[1] / "image-environment.json").read_text())["image"] == (
        "example:1.0"
    )
    monkeypatch.setattr(environments, "find_interpreter", lambda version: pytest.fail("rebuilt"))
    assert build_environment(BARE, tmp_path) == python
    assert [p.name for p in tmp_path.iterdir()] == [python.parents[1].name]


def test_built_finds_only_a_whole_environment(tmp_path: Path) -> None:
    assert built(BARE, tmp_path) is None

    python = build_environment(BARE, tmp_path)

    assert built(BARE, tmp_path) == python


@pytest.mark.parametrize(
    ("names", "images"),
    [
        (["sagemaker-scikit-learn:1.9-0"], ["sagemaker-scikit-learn:1.9-0"]),
        (
            ["sagemaker-scikit-learn"],
            ["sagemaker-scikit-learn:1.2-1", "sagemaker-scikit-learn:1.9-0"],
        ),
        (
            ["sagemaker-xgboost:3.2-0", "sagemaker-xgboost"],
            ["sagemaker-xgboost:3.2-0", "sagemaker-xgboost:1.7-1"],
        ),
    ],
    ids=["one-image", "a-repository", "each-once"],
)
def test_the_build_command_builds_the_named_stacks_where_the_engine_looks(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    names: list[str],
    images: list[str],
) -> None:
    monkeypatch.setenv("ENGINE_ENVIRONMENTS", str(tmp_path))
    asked: list[tuple[str, Path]] = []

    def build(env: ImageEnvironment, root: Path) -> Path:
        asked.append((env.image, root))
        return root / env.image

    monkeypatch.setattr(environments, "build_environment", build)

    assert environments.main(["build", *names]) == 0
    assert asked == [(image, tmp_path) for image in images]
    assert capsys.readouterr().out.splitlines() == [f"{i}: {tmp_path / i}" for i in images]


def test_the_build_command_refuses_an_image_without_a_stack(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = environments.main(["build", "sagemaker-scikit-lern"])

    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "error: python -m engine.environments build sagemaker-scikit-lern\n"
        "  'sagemaker-scikit-lern' is not an image with a known stack\n"
    )
    assert "(did you mean 'sagemaker-scikit-learn'?)" in err
    assert "'sagemaker-model-monitor-analyzer" not in err  # closed: no Python to build with


def test_two_builds_at_once_end_with_one_whole_environment(tmp_path: Path) -> None:
    built: list[Path] = []
    threads = [
        threading.Thread(target=lambda: built.append(build_environment(BARE, tmp_path)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(built) == 2 and built[0] == built[1]
    assert [p.name for p in tmp_path.iterdir()] == [built[0].parents[1].name]  # no staging left
    assert version_of(built[0]) == f"{HOST} True"


def test_a_missing_interpreter_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentUnavailable) as raised:
        build_environment(replace(BARE, python="3.99"), tmp_path)

    assert raised.value.render() == (
        "error: image example:1.0 (--containers)\n"
        "  no Python 3.99 interpreter on this machine\n"
        "  why: the image runs its jobs with Python 3.99 (the test)\n"
        "  fix: install it (`pyenv install 3.99` or `uv python install 3.99`), or put "
        "python3.99 on PATH; or run without --containers"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_package_pip_cannot_have_is_named_with_pips_last_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # offline: pip looks nowhere
    stack = replace(BARE, packages=(Package("no-such-package", "1.0", "the test"),))

    with pytest.raises(EnvironmentUnavailable) as raised:
        build_environment(stack, tmp_path)

    assert str(raised.value).splitlines()[1:] == [
        "  pip cannot install the image's packages: ERROR: No matching distribution found for "
        "no-such-package==1.0",
        f"  why: the image's stack is Python {HOST} with no-such-package==1.0",
        "  fix: check the network or pip's configuration (PIP_INDEX_URL); or run without "
        "--containers",
    ]
    assert list(tmp_path.iterdir()) == []  # nothing half-built is left


def test_the_cli_exits_2_before_anything_runs_when_a_stack_cannot_be_had(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ENGINE_ENVIRONMENTS", str(tmp_path / "environments"))
    monkeypatch.setattr(environments, "find_interpreter", lambda version: None)
    root = tmp_path / "root"

    code = main(
        ["run", str(GOLDEN), "--root", str(root), "--containers-only", "sagemaker-scikit-learn"]
    )

    assert code == 2
    assert capsys.readouterr().err.startswith(
        "error: image sagemaker-scikit-learn:1.9-0 (--containers)\n"
        "  no Python 3.12 interpreter on this machine\n"
        "  why: the image runs its jobs with Python 3.12 (https://github.com/aws/"
    )
    assert not root.exists()  # nothing ran, nothing was written


SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"
TF_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/tensorflow-training:2.19-cpu-py312"
MONITOR_IMAGE = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"


@pytest.mark.parametrize(
    ("selected", "chosen"),
    [
        (set(), []),
        ({"all"}, [SKLEARN_IMAGE, TF_IMAGE]),
        ({"sagemaker-scikit-learn"}, [SKLEARN_IMAGE]),
    ],
    ids=["off", "all", "one-repository"],
)
def test_only_selected_images_with_a_published_python_get_a_stack(
    selected: set[str], chosen: list[str]
) -> None:
    interpreters = Interpreters(frozenset(selected))
    uris = [SKLEARN_IMAGE, TF_IMAGE, MONITOR_IMAGE, "1.dkr.ecr.x/unknown:1.0-cpu"]

    assert [u for u in uris if interpreters.chosen(u) is not None] == chosen


def test_an_unknown_repository_is_refused_with_the_known_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "root"

    code = main(["run", str(GOLDEN), "--root", str(root), "--containers-only", "sagemaker-scikit"])

    assert code == 2
    assert capsys.readouterr().err == (
        "error: --containers-only sagemaker-scikit\n"
        "  'sagemaker-scikit' is not an image repository with a known stack\n"
        "  why: the stacks are kernel/image_environments.json's images\n"
        "  fix: use one of 'pytorch-inference', 'pytorch-training', 'sagemaker-scikit-learn', "
        "'sagemaker-xgboost', 'tensorflow-inference', 'tensorflow-training' (did you mean "
        "'sagemaker-scikit-learn'?), or --containers alone for every image\n"
    )
    assert not root.exists()

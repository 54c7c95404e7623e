"""engine.sdk_conventions against the SDK's own code: its source-dir archives, its runproc.sh."""

from __future__ import annotations

import io
import os
import sys
import tarfile
from importlib.metadata import version
from pathlib import Path

import pytest
from sagemaker.fw_utils import _list_files_to_compress
from sagemaker.processing import FrameworkProcessor
from sagemaker.utils import create_tar_file

from bundle.assets import asset_bytes
from engine.executors.base import StepFailed
from engine.localmap import LocalMap, map_assets
from engine.requirements_check import unsatisfied
from engine.sdk_conventions import (
    check_requirements,
    framework_job,
    is_framework_job,
    unpack_sources,
)

CODE = Path(__file__).resolve().parent / "code"


def pack_source_dir(folder: Path) -> bytes:
    """The archive the engine puts at a source dir URI the local map gives a folder for."""
    (asset,) = map_assets(LocalMap(s3={"s3://b/code/sourcedir.tar.gz": folder}))
    return asset_bytes(asset)


def _files(archive: bytes | Path) -> dict[str, bytes]:
    source = io.BytesIO(archive) if isinstance(archive, bytes) else archive
    with (
        tarfile.open(fileobj=source)
        if isinstance(source, io.BytesIO)
        else tarfile.open(source) as tar
    ):
        return {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile() and "__pycache__" not in m.name
        }


def test_a_source_dir_is_packed_as_the_sdk_packs_it(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    (folder / "lib").mkdir(parents=True)
    (folder / "train.py").write_text("print('hi')\n")
    (folder / "lib" / "helpers.py").write_text("X = 1\n")
    (folder / "requirements.txt").write_text("numpy\n")
    sdk = create_tar_file(_list_files_to_compress("train.py", str(folder)), tmp_path / "s.tgz")
    ours = pack_source_dir(folder)
    assert _files(ours) == _files(Path(sdk))  # the entry point at the root, folders kept
    assert "train.py" in _files(ours)
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "train.cpython-311.pyc").write_bytes(b"\0")
    assert pack_source_dir(folder) == ours  # bytes the same while the code is the same
    (folder / "train.py").write_text("print('changed')\n")
    assert pack_source_dir(folder) != ours


def _runproc(command: list[str], script: str) -> str:
    """The runproc.sh the SDK writes for a FrameworkProcessor with this command and script."""
    processor = FrameworkProcessor.__new__(FrameworkProcessor)
    processor.command = command
    return processor._generate_framework_script(script)


@pytest.mark.parametrize(
    ("command", "script"), [(["python"], "evaluation.py"), (["python3", "-u"], "sub/run.py")]
)
def test_the_sdks_runproc_sh_is_read_as_it_runs(command: list[str], script: str) -> None:
    job = framework_job(_runproc(command, script), "job")
    assert (job.code_dir, job.command, job.script) == (
        "/opt/ml/processing/input/code",
        command,
        script,
    )
    assert is_framework_job(["/bin/bash", "/opt/ml/processing/input/entrypoint/runproc.sh"])
    assert not is_framework_job(["python3", "/opt/ml/processing/input/code/runproc.py"])


# The shape SDK 3.x's FrameworkProcessor writes (sagemaker-core's processing module): `set -e`
# first, a check that the archive is there, `pip install` rather than `python -m pip install`.
SDK3_RUNPROC = """#!/bin/bash

set -e

cd /opt/ml/processing/input/code/

if [ -f sourcedir.tar.gz ]; then
    tar -xzf sourcedir.tar.gz
else
    echo "ERROR: sourcedir.tar.gz not found!"
    exit 1
fi

if [[ -f 'requirements.txt' ]]; then
    pip uninstall --yes typing
    pip install -r requirements.txt
fi

python3 evaluation.py "$@"
"""


def test_the_sdk3_runproc_sh_is_read_too() -> None:
    job = framework_job(SDK3_RUNPROC, "job")
    assert (job.code_dir, job.command, job.script) == (
        "/opt/ml/processing/input/code",
        ["python3"],
        "evaluation.py",
    )


def test_a_runproc_sh_of_another_shape_is_refused() -> None:
    with pytest.raises(StepFailed) as caught:
        framework_job("#!/bin/bash\npip install -r requirements.txt\n", "processing job x")
    assert "not the script the SDK's FrameworkProcessor writes" in str(caught.value)
    assert str(caught.value).startswith("processing job x")


def test_the_source_archive_is_unpacked_beside_the_code_input(tmp_path: Path) -> None:
    archive, sources = tmp_path / "code" / "sourcedir.tar.gz", tmp_path / "sources"
    archive.parent.mkdir()
    archive.write_bytes(pack_source_dir(CODE / "evaluation"))
    unpack_sources(archive, sources)
    evaluation = (CODE / "evaluation/evaluation.py").read_bytes()
    assert (sources / "evaluation.py").read_bytes() == evaluation
    assert sorted(p.name for p in archive.parent.iterdir()) == ["sourcedir.tar.gz"]  # untouched


def test_requirements_already_satisfied_install_nothing(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(
        "# ours\nnumpy>=1.0\ntorch\n\npandas[performance]>=1 ; python_version>'3'\n"
    )
    check_requirements(sys.executable, tmp_path, "job")  # no error, no pip


def test_unsatisfied_requirements_fail_naming_each(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(
        "numpy<1.0\nno-such-package-here==1.2\n--index-url https://example.invalid\nnumpy\n"
    )
    with pytest.raises(StepFailed) as caught:
        check_requirements(sys.executable, tmp_path, "processing job x")
    message = str(caught.value)
    assert "numpy<1.0: numpy" in message and "is installed" in message
    assert "no-such-package-here==1.2: no-such-package-here is not installed" in message
    assert "--index-url https://example.invalid: not a plain requirement" in message
    assert "\n    numpy: " not in message  # the satisfied line is not listed
    assert "never installs" in message and "pip install -r requirements.txt" in message


def test_without_packaging_only_exact_pins_are_compared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "packaging.specifiers", None)  # an image without it
    assert unsatisfied(["numpy==0.0.1"]) == [
        "numpy==0.0.1: numpy " + version("numpy") + " is installed"
    ]
    assert unsatisfied([f"numpy=={version('numpy')}", "numpy<1.0"]) == []  # `<` not compared


def test_no_requirements_file_is_nothing_to_check(tmp_path: Path) -> None:
    check_requirements(os.devnull, tmp_path, "job")  # not even the interpreter is started

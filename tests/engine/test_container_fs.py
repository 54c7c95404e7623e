"""Jobs see their container paths: a mount namespace, or rewritten paths with a warning; inputs
are given without copies and a job cannot change them (engine/container_fs.py, namespace.py)."""

from __future__ import annotations

import functools
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from engine import container_fs
from engine.executors import processing, training
from engine.executors.base import StepContext, StepFailed
from engine.process import run_process
from engine.s3 import S3
from tests.engine.serve_fixtures import Root, context

DATA = "s3://bucket/data/raw.csv"
ORIGINAL = "a,b\n1,2\n"
# Written as for SageMaker: container paths opened directly, no flags, no SM_* variables.
READS_AND_WRITES = """\
import shutil
shutil.copy("/opt/ml/processing/input/data/raw.csv", "/opt/ml/processing/output/copy.csv")
"""


@pytest.mark.parametrize("mode", ["auto", "namespace"], indirect=True)
def test_where_no_namespace_works_auto_rewrites_and_namespace_refuses(
    root: Root, mode: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(container_fs, "_probe", lambda: (None, "unshare: Operation not permitted"))
    root.s3.put_bytes(DATA, ORIGINAL.encode())
    step = processing_step(root, "import sys\nprint('ran with', sys.argv[1])\n", "/opt/ml/x")
    if mode == "namespace":
        with pytest.raises(StepFailed, match=r"no mount namespace here \(unshare: Operation not"):
            processing.run(step)
        return
    processing.run(step)
    assert f"ran with {step.work}/opt/ml/x" in step.log_path.read_text()
    (warning,) = capsys.readouterr().err.splitlines()
    assert warning.startswith("warning: no mount namespace for jobs (unshare: Operation not")


# Appends to the input given as argv[1] (its container path, rewritten where paths are).
APPEND = "import sys\nopen(sys.argv[1], 'a').write('changed')\n"
TRAIN_PY = """\
import os
text = open("/opt/ml/input/data/train/raw.csv").read()
with open("/opt/ml/model/model.txt", "w") as model:
    model.write(text.upper() + os.getcwd())
"""
NOBODY = 65534


@pytest.fixture
def mode(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    """The container-path mode of this test (its parameter), warned about afresh."""
    monkeypatch.setenv(container_fs.MODE_VARIABLE, request.param)
    monkeypatch.setattr(container_fs, "_warned", threading.Event())
    return str(request.param)


@pytest.fixture
def root(tmp_path: Path) -> Root:
    return Root(tmp_path / "engine", S3(tmp_path / "engine/s3"))


def real(ctx: StepContext) -> StepContext:
    """`ctx` with the engine's own run_process (the input check included)."""
    return replace(ctx, run_process=functools.partial(run_process, log_path=ctx.log_path))


def processing_step(root: Root, script: str, *args: str) -> StepContext:
    """A Processing job that runs `script` (given as the code input) with the data input."""
    root.s3.put_bytes("s3://bucket/code/job.py", script.encode())
    inputs = {"data": DATA, "code": "s3://bucket/code/job.py"}
    arguments: dict[str, Any] = {
        "AppSpecification": {
            "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/job.py"],
            "ContainerArguments": list(args),
            "ImageUri": "x",
        },
        "ProcessingInputs": [
            {
                "InputName": name,
                "S3Input": {"LocalPath": f"/opt/ml/processing/input/{name}", "S3Uri": uri},
            }
            for name, uri in inputs.items()
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "out",
                    "S3Output": {
                        "LocalPath": "/opt/ml/processing/output",
                        "S3Uri": "s3://bucket/out",
                    },
                }
            ]
        },
    }
    return real(context(root, "Job", "Processing", arguments))


@pytest.mark.parametrize("kind", ["root", "user"])
@pytest.mark.parametrize("mode", ["namespace"], indirect=True)
def test_scripts_that_open_container_paths_run_as_on_sagemaker(
    root: Root, mode: str, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As root, and in a user namespace as an engine not run as root gets."""
    monkeypatch.setattr(container_fs, "_probe", lambda: (kind, ""))
    root.s3.put_bytes(DATA, ORIGINAL.encode())
    processing.run(processing_step(root, READS_AND_WRITES))
    assert root.s3.get_bytes("s3://bucket/out/copy.csv").decode() == ORIGINAL

    source = io.BytesIO()
    with tarfile.open(fileobj=source, mode="w:gz") as tar:
        info = tarfile.TarInfo("train.py")
        info.size = len(TRAIN_PY)
        tar.addfile(info, io.BytesIO(TRAIN_PY.encode()))
    root.s3.put_bytes("s3://bucket/code/sourcedir.tar.gz", source.getvalue())
    arguments = {
        "HyperParameters": {
            "sagemaker_program": '"train.py"',
            "sagemaker_submit_directory": '"s3://bucket/code/sourcedir.tar.gz"',
        },
        "InputDataConfig": [
            {"ChannelName": "train", "DataSource": {"S3DataSource": {"S3Uri": "s3://bucket/data"}}}
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/models"},
    }
    described = training.run(real(context(root, "Train", "Training", arguments)))
    with tarfile.open(root.s3.path(described["ModelArtifacts"]["S3ModelArtifacts"])) as tar:
        model = tar.extractfile("model.txt")
        assert model is not None
        assert model.read().decode() == ORIGINAL.upper() + "/opt/ml/code"


@pytest.mark.parametrize("mode", ["rewrite"], indirect=True)
def test_rewriting_warns_once_what_cannot_work(
    root: Root, mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root.s3.put_bytes(DATA, ORIGINAL.encode())
    for _ in range(2):
        with pytest.raises(StepFailed, match=r"FileNotFoundError: .*'/opt/ml/processing/input"):
            processing.run(processing_step(root, READS_AND_WRITES))
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warnings) == 1
    assert "a script that opens a container path itself" in warnings[0]
    assert "FileNotFoundError" in warnings[0]


@pytest.mark.parametrize("mode", ["namespace"], indirect=True)
def test_an_input_is_read_only_in_a_namespace_even_for_root(root: Root, mode: str) -> None:
    root.s3.put_bytes(DATA, ORIGINAL.encode())
    step = processing_step(root, APPEND, "/opt/ml/processing/input/data/raw.csv")
    with pytest.raises(StepFailed, match="Read-only file system"):
        processing.run(step)
    assert root.s3.get_bytes(DATA).decode() == ORIGINAL


@pytest.mark.parametrize("mode", ["rewrite"], indirect=True)
def test_rewriting_links_inputs_and_fails_a_job_that_changed_one(root: Root, mode: str) -> None:
    root.s3.put_bytes(DATA, ORIGINAL.encode())
    ctx = processing_step(root, APPEND, "/opt/ml/processing/input/data/raw.csv")
    with pytest.raises(StepFailed, match=f"the job changed its input {DATA}") as failed:
        processing.run(ctx)
    assert "write results under an output's LocalPath" in str(failed.value)
    linked = ctx.work / "opt/ml/processing/input/data/raw.csv"
    assert linked.stat().st_ino == root.s3.path(DATA).stat().st_ino  # no copy was made


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the object to another user")
@pytest.mark.parametrize("mode", ["rewrite"], indirect=True)
def test_rewriting_makes_inputs_read_only_for_a_job_not_root(mode: str) -> None:
    """A job of the object's own user (as under an engine not run as root) cannot write it."""
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o755)  # the job's user reaches its folders, as the engine's user would
        root = Root(Path(folder, "engine"), S3(Path(folder, "engine/s3")))
        root.s3.put_bytes(DATA, ORIGINAL.encode())
        os.chown(root.s3.path(DATA), NOBODY, NOBODY)
        as_nobody = f"import os\nos.setgid({NOBODY})\nos.setuid({NOBODY})\n{APPEND}"
        step = processing_step(root, as_nobody, "/opt/ml/processing/input/data/raw.csv")
        with pytest.raises(StepFailed, match="PermissionError"):
            processing.run(step)
        assert root.s3.get_bytes(DATA).decode() == ORIGINAL


def test_the_launcher_works_in_an_unprivileged_user_namespace(tmp_path: Path) -> None:
    """`user` mode, as for an engine not run as root: /opt's own entries stay, the input is
    there read-only, and the job runs as root of its namespace."""
    (tmp_path / "input").mkdir()
    (tmp_path / "input/raw.csv").write_text(ORIGINAL)
    check = (
        "import json, os\n"
        "seen = {'opt': sorted(os.listdir('/opt')), 'text': open('/opt/ml/in/raw.csv').read(),"
        " 'uid': os.getuid()}\n"
        "try:\n    open('/opt/ml/in/raw.csv', 'a')\nexcept OSError as error:\n"
        "    seen['write'] = error.strerror\n"
        "print(json.dumps(seen))"
    )
    plan = {"user": True, "tmpfs": "/opt", "binds": [[str(tmp_path / "input"), "/opt/ml/in", True]]}
    launcher = Path(container_fs.__file__).with_name("namespace.py")
    argv = [
        sys.executable,
        "-S",
        str(launcher),
        json.dumps(plan),
        "--",
        sys.executable,
        "-c",
        check,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
    seen = json.loads(done.stdout)
    assert seen == {
        "opt": sorted([*os.listdir("/opt"), "ml"]),
        "text": ORIGINAL,
        "uid": 0,
        "write": "Read-only file system",
    }
    assert (tmp_path / "input/raw.csv").read_text() == ORIGINAL


def test_an_upload_never_rewrites_an_object_a_job_was_given(tmp_path: Path) -> None:
    s3 = S3(tmp_path / "s3")
    s3.put_bytes(DATA, b"first")
    (linked,) = s3.link(DATA, tmp_path / "job")
    assert linked == s3.path(DATA)
    newer = tmp_path / "newer.csv"
    newer.write_text("second")
    s3.upload(newer, DATA)
    assert (tmp_path / "job/raw.csv").read_text() == "first"
    assert s3.get_bytes(DATA) == b"second"
    assert s3.path(DATA).stat().st_ino == newer.stat().st_ino  # the output itself, not a copy

"""The local model registry: versions, statuses, concurrent and interrupted writers, the CLI."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from engine import registry as registry_module
from engine.registry import Registry, main

REPO = Path(__file__).resolve().parents[2]
METRICS = {
    "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": "s3://b/eval.json"}}
}
BASELINES = {
    "ModelDataQuality": {
        "Statistics": {"ContentType": "application/json", "S3Uri": "s3://b/statistics.json"},
        "Constraints": {"ContentType": "application/json", "S3Uri": "s3://b/constraints.json"},
    }
}
SPEC = {"Containers": [{"Image": "pytorch-inference:2.6", "ModelDataUrl": "s3://b/model.tar.gz"}]}


def register(
    registry: Registry, group: str = "penguins", status: str = "Approved", **extra: Any
) -> str:
    arguments: dict[str, Any] = {
        "model_data_url": "s3://b/model.tar.gz",
        "image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6-cpu-py312",
        "status": status,
        "metrics": METRICS,
        "drift_check_baselines": BASELINES,
        "inference_specification": SPEC,
        "execution_id": "exec-1",
    }
    return registry.register(group, **{**arguments, **extra})


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "registry.sqlite")


def test_versions_count_per_group_and_arns_have_aws_form(registry: Registry) -> None:
    first = register(registry)
    second = register(registry, status="PendingManualApproval")
    other = register(registry, group="digits")
    assert first == "arn:aws:sagemaker:us-east-1:111122223333:model-package/penguins/1"
    assert second.endswith(":model-package/penguins/2")
    assert other.endswith(":model-package/digits/1")
    assert registry.groups() == ["digits", "penguins"]
    packages = registry.packages("penguins")
    assert [(p.version, p.status) for p in packages] == [
        (1, "Approved"),
        (2, "PendingManualApproval"),
    ]
    assert packages[0].metrics == METRICS
    assert packages[0].drift_check_baselines == BASELINES
    assert packages[0].inference_specification == SPEC
    assert packages[0].execution_id == "exec-1"
    assert packages[0].created.endswith("+00:00")
    assert [p.arn for p in registry.packages()] == [other, first, second]


def test_region_and_account_come_from_the_registry(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "r.sqlite", region="eu-west-1", account="123456789012")
    assert register(registry) == "arn:aws:sagemaker:eu-west-1:123456789012:model-package/penguins/1"


def test_latest_approved_follows_status_changes(registry: Registry) -> None:
    assert registry.latest_approved("penguins") is None
    first = register(registry)
    second = register(registry, status="PendingManualApproval")
    latest = registry.latest_approved("penguins")
    assert latest is not None and latest.arn == first
    registry.set_status(second, "Approved")
    latest = registry.latest_approved("penguins")
    assert latest is not None and latest.arn == second
    registry.set_status(second, "Rejected")
    latest = registry.latest_approved("penguins")
    assert latest is not None and latest.arn == first
    package = registry.package(second)
    assert package is not None and package.status == "Rejected"
    assert package.modified >= package.created


@pytest.mark.parametrize(
    ("group", "status", "message"),
    [
        ("bad_group", "Approved", "model package group 'bad_group': 1-63 letters"),
        ("penguins", "Maybe", "approval status 'Maybe' is not one of Approved"),
    ],
    ids=["underscore-in-group", "unknown-status"],
)
def test_bad_registrations_are_refused_and_write_nothing(
    registry: Registry, group: str, status: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        register(registry, group=group, status=status)
    assert registry.packages() == [] and registry.groups() == []


def test_set_status_of_an_unknown_package_raises(registry: Registry) -> None:
    with pytest.raises(KeyError):
        registry.set_status(
            "arn:aws:sagemaker:us-east-1:111122223333:model-package/x/1", "Rejected"
        )


def test_a_failing_write_rolls_back_the_new_group_too(registry: Registry) -> None:
    # A metrics value JSON cannot encode fails before the transaction; a database error inside
    # it (here: the same ARN twice, forced by a stuck version counter) must undo the group row.
    register(registry)
    stuck = registry_module.Registry._next_version
    try:
        registry_module.Registry._next_version = lambda self, connection, group: 1  # type: ignore[method-assign]
        with pytest.raises(sqlite3.IntegrityError):
            register(registry, group="penguins")
    finally:
        registry_module.Registry._next_version = stuck  # type: ignore[method-assign]
    assert [p.version for p in registry.packages()] == [1]
    assert register(registry).endswith("/penguins/2")


def test_concurrent_writers_get_distinct_versions(registry: Registry) -> None:
    per_thread, threads = 15, 2
    start = threading.Barrier(threads)
    arns: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        mine = Registry(registry.path)
        start.wait()
        for _ in range(per_thread):
            arn = register(mine)
            with lock:
                arns.append(arn)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    versions = sorted(int(arn.rsplit("/", 1)[1]) for arn in arns)
    assert versions == list(range(1, per_thread * threads + 1))
    assert len(registry.packages("penguins")) == per_thread * threads


def test_concurrent_processes_get_distinct_versions(registry: Registry, tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys
            from pathlib import Path
            sys.path.insert(0, {str(REPO)!r})
            from engine.registry import Registry
            registry = Registry(Path(sys.argv[1]))
            for _ in range(10):
                print(registry.register("penguins", model_data_url="s3://b/m", image="i",
                    status="Approved", metrics={{}}, drift_check_baselines={{}},
                    inference_specification={{}}, execution_id=sys.argv[2]))
            """
        )
    )
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(registry.path), f"exec-{n}"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    outputs = [proc.communicate(timeout=60)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0]
    arns = [line for output in outputs for line in output.split()]
    assert sorted(int(a.rsplit("/", 1)[1]) for a in arns) == list(range(1, 21))


def test_a_writer_killed_inside_its_transaction_leaves_the_registry_consistent(
    registry: Registry, tmp_path: Path
) -> None:
    register(registry, group="digits")
    inside = tmp_path / "inside"
    script = tmp_path / "killed_writer.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys, time
            from pathlib import Path
            sys.path.insert(0, {str(REPO)!r})
            from engine.registry import Registry
            original = Registry._next_version
            def blocked(self, connection, group):
                version = original(self, connection, group)
                Path({str(inside)!r}).write_text(str(version))
                time.sleep(120)
                return version
            Registry._next_version = blocked
            Registry(Path(sys.argv[1])).register("penguins", model_data_url="s3://b/m",
                image="i", status="Approved", metrics={{}}, drift_check_baselines={{}},
                inference_specification={{}}, execution_id="killed")
            """
        )
    )
    proc = subprocess.Popen([sys.executable, str(script), str(registry.path)])
    deadline = time.monotonic() + 60
    while not inside.exists():
        assert proc.poll() is None, "the writer ended before reaching its transaction"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # The group row and the version it reserved are gone with the transaction.
    assert registry.groups() == ["digits"]
    assert [p.arn.rsplit("/", 2)[1:] for p in registry.packages()] == [["digits", "1"]]
    assert register(registry).endswith("/penguins/1")
    with sqlite3.connect(registry.path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


# --------------------------------------------------------------------------- command line


def test_cli_lists_approves_and_rejects(
    registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    first = register(registry, status="PendingManualApproval")
    second = register(registry, status="PendingManualApproval")
    register(registry, group="digits")
    root = str(registry.path.parent)
    assert main(["--root", root, "approve", first]) == 0
    assert main(["--root", root, "reject", second]) == 0
    assert capsys.readouterr().out == f"{first}: Approved\n{second}: Rejected\n"
    assert [p.status for p in registry.packages("penguins")] == ["Approved", "Rejected"]
    assert main(["--root", root, "list", "penguins"]) == 0
    table = capsys.readouterr().out
    assert "Approved" in table and "Rejected" in table and "digits" not in table
    assert main(["--root", root, "list"]) == 0
    assert "digits" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        (
            "penguins/1",
            "error: argument ARN\n  'penguins/1' is not a model package ARN\n"
            "  why: expected arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>\n"
            "  fix: copy the ARN from `python -m engine.registry list`\n",
        ),
        (
            "arn:aws:sagemaker:us-east-1:111122223333:model-package/penguins/7",
            "error: argument ARN\n"
            "  no model package arn:aws:sagemaker:us-east-1:111122223333:model-package/penguins/7"
            " in {path}\n"
            "  why: group 'penguins' has versions 1 in this registry (region and account are part"
            " of the ARN)\n"
            "  fix: copy the ARN from `python -m engine.registry list`, or pass the right --root\n",
        ),
    ],
    ids=["malformed", "unknown-version"],
)
def test_cli_bad_arn_exits_2_with_where_what_why_fix(
    registry: Registry, capsys: pytest.CaptureFixture[str], arn: str, expected: str
) -> None:
    register(registry, status="PendingManualApproval")
    assert main(["--root", str(registry.path.parent), "approve", arn]) == 2
    assert capsys.readouterr().err == expected.format(path=registry.path)
    assert [p.status for p in registry.packages()] == ["PendingManualApproval"]


def test_cli_without_a_registry_exits_2_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--root", str(tmp_path / "none"), "list"]) == 2
    assert capsys.readouterr().err.startswith(
        f"error: --root {tmp_path / 'none'}\n  there is no model registry at "
    )
    assert not (tmp_path / "none").exists()

"""Faults and bad input: hung, killed, interrupted jobs; bad arguments; stale or dataless bundles.

The job faults use small hand-written definitions whose Processing jobs are `python3 -c ...`
one-liners, so each case costs a second or two.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bundle.assets import REPO
from engine.executions import Execution, list_executions
from tests.engine.conftest import RunEngine, compile_bundle
from tests.manifests import write_test_bundle

PIPELINE = "faults"
# Starts a grandchild, records both pids, then sleeps for argv[2] seconds (or kills itself).
JOB = (
    "import os, subprocess, sys, time; "
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); "
    "open(sys.argv[1], 'w').write(f'{os.getpid()} {child.pid}'); "
    "os.kill(os.getpid(), 9) if sys.argv[2] == 'kill' else time.sleep(float(sys.argv[2])); "
    "child.kill()"
)


def job_step(name: str, seconds: Any, pids: Path, **extra: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "AppSpecification": {
            "ContainerEntrypoint": ["python3", "-c", JOB],
            "ContainerArguments": [str(pids), seconds],
            "ImageUri": "x",
        },
        "ProcessingInputs": [],
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "VolumeSizeInGB": 1,
            }
        },
        "RoleArn": "arn:aws:iam::111122223333:role/R",
    }
    arguments.update(extra)
    return {"Name": name, "Type": "Processing", "Arguments": arguments}


def write_bundle(folder: Path, steps: list[dict[str, Any]]) -> Path:
    definition = {
        "Version": "2020-12-01",
        "Parameters": [{"Name": "Seconds", "Type": "Float", "DefaultValue": 0.0}],
        "Steps": steps,
    }
    return write_test_bundle(folder, PIPELINE, definition)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def job_pids(path: Path) -> list[int]:
    return [int(p) for p in path.read_text().split()]


def all_gone(path: Path, within: float = 3.0) -> bool:
    """Whether the job and its child (pids in `path`) end within a moment (signals are async)."""
    deadline = time.monotonic() + within
    while any(alive(pid) for pid in job_pids(path)):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_job_past_its_max_runtime_is_stopped_with_its_children(
    engine: RunEngine, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    limit = {"StoppingCondition": {"MaxRuntimeInSeconds": 1}}
    bundle = write_bundle(tmp_path / "b", [job_step("Hang", "60", pids, **limit)])
    ran = engine(bundle, tmp_path / "root")
    assert ran.code == 1
    record = ran.records["Hang"]
    assert record["StepStatus"] == "Failed"
    assert record["FailureReason"] == (
        "the job ran past its limit of 1 s (StoppingCondition.MaxRuntimeInSeconds) and was stopped"
    )
    assert all_gone(pids)


def test_a_killed_job_fails_its_step_and_names_the_signal(
    engine: RunEngine, tmp_path: Path
) -> None:
    bundle = write_bundle(tmp_path / "b", [job_step("Killed", "kill", tmp_path / "pids")])
    ran = engine(bundle, tmp_path / "root")
    reason = ran.records["Killed"]["FailureReason"]
    assert ran.code == 1
    assert reason.startswith("processing job pipelines-")
    assert (
        "-Killed (python3 -c import os, subprocess, sys, time; child = subproc) was "
        "killed by signal SIGKILL\n  last lines of its log:\n" in reason
    )
    assert f"full log: {ran.folder / 'steps/Killed/log.txt'}" in reason
    assert all_gone(tmp_path / "pids")  # its child went too


def test_ctrl_c_stops_the_execution_and_its_jobs_and_keeps_earlier_ones(tmp_path: Path) -> None:
    pids, root = tmp_path / "pids", tmp_path / "root"
    step = job_step("Sleep", {"Get": "Parameters.Seconds"}, pids)
    bundle = write_bundle(tmp_path / "b", [step])
    command = [sys.executable, "-m", "engine", "run", str(bundle), "--root", str(root)]
    assert subprocess.run(command, cwd=REPO, capture_output=True).returncode == 0
    (earlier,) = list_executions(root, PIPELINE)
    before = (earlier.folder / "execution.json").read_text()
    pids.unlink()
    engine = subprocess.Popen(
        [*command, "-p", "Seconds=60"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while not (pids.exists() and pids.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    engine.send_signal(signal.SIGINT)
    _, err = engine.communicate(timeout=30)
    assert engine.returncode == 130, err
    stopped = list_executions(root, PIPELINE)[-1]
    assert stopped.describe()["PipelineExecutionStatus"] == "Stopped"
    assert stopped.record("Sleep")["StepStatus"] == "Stopped"  # type: ignore[index]
    assert all_gone(pids)
    assert (earlier.folder / "execution.json").read_text() == before
    assert subprocess.run(command, cwd=REPO, capture_output=True).returncode == 0


def test_independent_steps_run_in_parallel_up_to_the_limit(
    engine: RunEngine, tmp_path: Path
) -> None:
    steps = [job_step(n, "1", tmp_path / n) for n in ("A", "B")]
    steps.append({**job_step("C", "0", tmp_path / "C"), "DependsOn": ["A", "B"]})
    bundle = write_bundle(tmp_path / "b", steps)

    def windows(*args: str) -> dict[str, tuple[datetime, datetime]]:
        records = engine(bundle, tmp_path / "root", *args).records
        return {
            n: (datetime.fromisoformat(r["StartTime"]), datetime.fromisoformat(r["EndTime"]))
            for n, r in records.items()
        }

    both = windows("--max-parallel", "2")
    assert max(both["A"][0], both["B"][0]) < min(both["A"][1], both["B"][1])
    assert both["C"][0] >= max(both["A"][1], both["B"][1])
    one = windows("--max-parallel", "1")
    first, second = sorted((one["A"], one["B"]))
    assert second[0] >= first[1]


def test_a_step_type_without_an_executor_fails_its_step(engine: RunEngine, tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path / "b", [{"Name": "Cluster", "Type": "EMR", "Arguments": {}}])
    ran = engine(bundle, tmp_path / "root")
    assert ran.code == 1
    assert ran.records["Cluster"]["FailureReason"].startswith(
        "step Cluster: the local engine has no executor for step type 'EMR' (it runs Condition, "
    )


@pytest.fixture(scope="module")
def penguins_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_bundle(
        tmp_path_factory.mktemp("bad") / "b", "project=penguins", "framework=pytorch"
    )


def edit_json(bundle: Path, target: Path, name: str, edit: Any) -> Path:
    import shutil

    shutil.copytree(bundle, target)
    data = json.loads((target / name).read_text())
    edit(data)
    (target / name).write_text(json.dumps(data))
    return target


def _stale(manifest: dict[str, Any]) -> None:
    manifest["assets"][0]["files"][0]["sha256"] = "0" * 64


def _rename(manifest: dict[str, Any]) -> None:
    """A project without projects/<name>/sample_data.py (assets.json names the project)."""
    manifest["project"]["name"] = "acme"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["-p", "ApproveTreshold=0.9"],
            "error: -p ApproveTreshold=0.9\n  no parameter 'ApproveTreshold' in this pipeline\n"
            "  why: -p sets the pipeline's declared parameters: ApproveThreshold, InputDataUri, "
            "PendingThreshold, ProcessingInstanceType, TrainingInstanceType\n"
            "  fix: did you mean 'ApproveThreshold'?\n",
            id="unknown-parameter",
        ),
        pytest.param(
            ["-p", "ApproveThreshold=high"],
            "error: -p ApproveThreshold=high\n  'high' is not of type Float\n  why: parameter "
            "ApproveThreshold is declared with Type Float in pipeline.json\n  fix: give a value "
            "of type Float, e.g. -p ApproveThreshold=0.8\n",
            id="wrong-type",
        ),
        pytest.param(
            ["-p", "ApproveThreshold"],
            "error: -p ApproveThreshold\n  not Name=Value\n",
            id="not-name-value",
        ),
        pytest.param(
            ["--data", "/no/such/folder"],
            "error: --data /no/such/folder\n  not a folder\n",
            id="data-not-a-folder",
        ),
        pytest.param(
            ["--from", "Trian"], "error: --from Trian\n  no such step\n", id="from-unknown-step"
        ),
        pytest.param(
            ["--from", "Train"],
            "error: --from Train\n  no earlier execution of this pipeline in which Preprocess "
            "succeeded (0 executions looked at)\n",
            id="from-without-earlier-run",
        ),
    ],
)
def test_bad_arguments_exit_2_and_run_nothing(
    args: list[str], message: str, penguins_bundle: Path, engine: RunEngine, tmp_path: Path
) -> None:
    ran = engine(penguins_bundle, tmp_path / "root", *args)
    assert ran.code == 2 and ran.folder is None
    assert message in ran.err, ran.err


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            _stale,
            "changed since the bundle was compiled; recompile it\n  why: the engine runs "
            "exactly the code the bundle recorded",
        ),
        (_rename, "no data: no --data folder, and project 'acme' has no sample data"),
    ],
    ids=["stale-assets", "no-sample-data"],
)
def test_bad_bundles_exit_2(
    edit: Any, message: str, penguins_bundle: Path, engine: RunEngine, tmp_path: Path
) -> None:
    bundle = edit_json(penguins_bundle, tmp_path / "b", "assets.json", edit)
    ran = engine(bundle, tmp_path / "root")
    assert ran.code == 2 and ran.folder is None
    assert message in ran.err, ran.err


def test_a_missing_bundle_exits_2(engine: RunEngine, tmp_path: Path) -> None:
    ran = engine(tmp_path / "nothing", tmp_path / "root")
    assert ran.code == 2
    assert f"error: {tmp_path / 'nothing'}\n  no such bundle folder\n" in ran.err


def test_earlier_executions_stay_intact(tmp_path: Path, engine: RunEngine) -> None:
    bundle = write_bundle(tmp_path / "b", [job_step("Quick", "0", tmp_path / "pids")])
    first = engine(bundle, tmp_path / "root")
    second = engine(bundle, tmp_path / "root")
    assert first.folder != second.folder
    assert Execution(first.folder).describe()["PipelineExecutionStatus"] == "Succeeded"  # type: ignore[arg-type]
    assert os.path.isfile(first.folder / "steps/Quick/log.txt")  # type: ignore[operator]

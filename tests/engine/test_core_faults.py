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
JOB = Path(__file__).with_name("fault_job.py")  # a script: CreateProcessingJob takes 256
# characters an entrypoint element, too few for a one-liner


def job_step(name: str, seconds: Any, pids: Path, **extra: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "AppSpecification": {
            "ContainerEntrypoint": ["python3", str(JOB)],
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
        "-Killed (fault_job.py) was killed by signal SIGKILL\n  last lines of its log:\n" in reason
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


def test_a_step_type_without_an_executor_is_refused_before_running(
    engine: RunEngine, tmp_path: Path
) -> None:
    bundle = write_bundle(tmp_path / "b", [{"Name": "Cluster", "Type": "EMR", "Arguments": {}}])
    ran = engine(bundle, tmp_path / "root")
    assert ran.code == 2
    assert (
        "pipeline.json, step Cluster\n  Type 'EMR'\n  why: the local engine has no executor for "
        "it (it runs Condition, "
    ) in ran.err
    assert not (tmp_path / "root").exists()


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
            "of the bundle)\n  changed since the bundle was compiled\n  why: the bundle records "
            "every file's sha256: running or publishing it now would use code it does not "
            "describe",
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


def start_engine(
    bundle: Path, root: Path, pids: Path, *args: str, ignore_sigint: bool = False
) -> subprocess.Popen[bytes]:
    """`python -m engine run` in the background, once its job has written its pids."""
    command = [sys.executable, "-m", "engine", "run", str(bundle), "--root", str(root), *args]
    engine = subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # as a non-interactive shell starts a background job: SIGINT ignored
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        if ignore_sigint
        else None,
    )
    deadline = time.monotonic() + 60
    while not (pids.exists() and pids.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pids.exists(), engine.communicate(timeout=5)
    return engine


def test_a_killed_engine_leaves_no_job_and_the_next_run_marks_its_execution_failed(
    engine: RunEngine, tmp_path: Path
) -> None:
    """Before: the job and its child ran on orphaned, and the execution stayed Executing."""
    pids, root = tmp_path / "pids", tmp_path / "root"
    bundle = write_bundle(tmp_path / "b", [job_step("Sleep", {"Get": "Parameters.Seconds"}, pids)])
    killed = start_engine(bundle, root, pids, "-p", "Seconds=60")
    killed.kill()  # kill -9: the engine cleans nothing up
    killed.communicate(timeout=10)
    assert all_gone(pids, within=5.0)  # the job and its own child
    (abandoned,) = list_executions(root, PIPELINE)
    assert abandoned.describe()["PipelineExecutionStatus"] == "Executing"
    assert engine(bundle, root).code == 0  # the next run on the root
    describe = abandoned.describe()
    reason = (
        f"the engine running it (pid {killed.pid}) ended before it finished (killed, or its "
        "machine stopped); marked Failed by the next run on this engine root"
    )
    assert (describe["PipelineExecutionStatus"], describe["FailureReason"]) == ("Failed", reason)
    record = abandoned.record("Sleep")
    assert record is not None
    assert (record["StepStatus"], record["FailureReason"]) == ("Failed", reason)


def test_ctrl_c_stops_an_engine_started_with_sigint_ignored(tmp_path: Path) -> None:
    """Before: SIGINT inherited as ignored stayed ignored; the run went on for its 60 s."""
    pids, root = tmp_path / "pids", tmp_path / "root"
    bundle = write_bundle(tmp_path / "b", [job_step("Sleep", {"Get": "Parameters.Seconds"}, pids)])
    started = start_engine(bundle, root, pids, "-p", "Seconds=60", ignore_sigint=True)
    started.send_signal(signal.SIGINT)
    try:
        _, err = started.communicate(timeout=20)
    finally:
        started.kill()
    assert started.returncode == 130, err
    assert list_executions(root, PIPELINE)[-1].describe()["PipelineExecutionStatus"] == "Stopped"
    assert all_gone(pids)


def test_two_first_runs_on_one_fresh_root_do_not_collide(
    penguins_bundle: Path, tmp_path: Path
) -> None:
    """Before: both wrote the sample data, and one died renaming its copy into place
    (OSError: Directory not empty) with a traceback."""

    def fail_fast(definition: dict[str, Any]) -> None:
        preprocess = next(s for s in definition["Steps"] if s["Name"] == "Preprocess")
        app = preprocess["Arguments"]["AppSpecification"]
        app["ContainerEntrypoint"] = ["python3", "-c", "import sys; sys.exit(3)"]
        app.pop("ContainerArguments", None)

    bundle = edit_json(penguins_bundle, tmp_path / "b", "pipeline.json", fail_fast)
    root = tmp_path / "root"
    command = [sys.executable, "-m", "engine", "run", str(bundle), "--root", str(root)]
    runs = [subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)]
    runs.append(subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    ended = [run.communicate(timeout=300) for run in runs]
    for run, (out, err) in zip(runs, ended, strict=True):
        assert run.returncode == 1, err.decode()
        assert b"Traceback" not in out + err
        assert b"(python3 -c import sys; sys.exit(3)) exited with code 3" in out
    executions = list_executions(root, json.loads((bundle / "assets.json").read_text())["pipeline"])
    assert len(executions) == 2
    assert [p.name for p in (root / "sample_data").iterdir()] == ["penguins"]


def test_an_engine_bug_in_a_step_is_said_once_with_its_log(
    engine: RunEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An executor raising what it should not (here a KeyError) is an engine bug: the step fails
    saying so, the traceback is in its log, never on the console."""

    def broken(step_name: str, step_type: str) -> Any:
        def run(ctx: Any) -> Any:
            raise KeyError("Values")

        return run

    monkeypatch.setattr("engine.run.executor_for", broken)
    bundle = write_bundle(tmp_path / "b", [job_step("Step", "0", tmp_path / "pids")])
    ran = engine(bundle, tmp_path / "root")
    log = ran.folder / "steps/Step/log.txt" if ran.folder else None
    assert ran.code == 1
    assert ran.records["Step"]["FailureReason"] == (
        "engine bug (KeyError: 'Values'): the local engine failed, not the bundle; the traceback "
        f"is in {log}"
    )
    assert "Traceback" not in ran.out + ran.err
    assert ran.out.count("engine bug (KeyError") == 1
    assert log is not None and "Traceback (most recent call last)" in log.read_text()


def test_an_engine_bug_outside_the_steps_exits_70_with_one_line(
    engine: RunEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("scheduler lost its place")

    monkeypatch.setattr("engine.cli.run_bundle", broken)
    bundle = write_bundle(tmp_path / "b", [job_step("Step", "0", tmp_path / "pids")])
    ran = engine(bundle, tmp_path / "root")
    log = tmp_path / "root" / "engine-errors.log"
    assert ran.code == 70
    assert ran.err == (
        "error: engine bug (RuntimeError: scheduler lost its place): the local engine failed, not "
        f"the bundle; the traceback is in {log}\n"
    )
    assert "RuntimeError: scheduler lost its place" in log.read_text()


def test_a_data_error_names_the_users_file_column_and_line(
    penguins_bundle: Path, engine: RunEngine, tmp_path: Path
) -> None:
    """An inf passed Preprocess and failed Train naming a path in the engine's work folder; now
    Preprocess refuses it naming the file under --data, the column and the line."""
    data = tmp_path / "my data"
    subprocess.run(
        [sys.executable, str(REPO / "projects/penguins/sample_data.py"), str(data)], check=True
    )
    lines = (data / "penguins.csv").read_text().splitlines()
    column = lines[0].split(",").index("culmen_length_mm")
    cells = lines[9].split(",")
    cells[column] = "inf"
    lines[9] = ",".join(cells)
    (data / "penguins.csv").write_text("\n".join(lines) + "\n")
    ran = engine(penguins_bundle, tmp_path / "root", "--data", str(data))
    assert ran.code == 1
    reason = ran.records["Preprocess"]["FailureReason"]
    assert (
        f"{data}/penguins.csv: column 'culmen_length_mm', line 10: 'inf' is not a finite number"
    ) in reason
    assert "fix: fix the value, or leave the cell empty if it is unknown" in reason
    (error,) = [line for line in reason.splitlines() if "preprocess_tabular: error:" in line]
    assert error.endswith(f"error: {data}/penguins.csv: " + error.split(".csv: ", 1)[1])
    assert "Train" not in ran.records


def test_an_execution_never_succeeds_with_steps_of_its_path_left_out(
    engine: RunEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The definition check refuses a DependsOn on the branch not taken; were one to get past it,
    the execution fails instead of saying Succeeded with the step never started."""
    monkeypatch.setattr("engine.run.check_definitions", lambda bundle: None)
    gate = {
        "Name": "Gate",
        "Type": "Condition",
        "Arguments": {
            "Conditions": [{"Type": "Equals", "LeftValue": 1, "RightValue": 1}],
            "IfSteps": [job_step("Yes", "0", tmp_path / "yes")],
            "ElseSteps": [job_step("No", "0", tmp_path / "no")],
        },
    }
    after = {**job_step("After", "0", tmp_path / "after"), "DependsOn": ["No"]}
    ran = engine(write_bundle(tmp_path / "b", [gate, after]), tmp_path / "root")
    assert ran.code == 1
    assert ran.execution["FailureReason"] == (
        "engine bug: steps After never started although the path that holds them was taken"
    )
    assert sorted(ran.records) == ["Gate", "Yes"]

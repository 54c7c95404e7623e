"""Execution folders: one per run, a record per step shaped like ListPipelineExecutionSteps.

<root>/executions/<pipeline>/<execution-id>/
  execution.json           DescribePipelineExecution's fields, plus the parameters, the bundle
                           (or bare definition file) and the local versions standing in for
                           each image (ImageStandIns)
  steps/<step>/record.json a PipelineExecutionStep (StepName, StepStatus, StartTime, EndTime,
                           FailureReason, CacheHitResult, SelectiveExecutionResult, Metadata),
                           plus the engine's StepType, Properties and CacheKey
  steps/<step>/log.txt     the step's log, every job's output included
  steps/<step>/work/       the job's scratch folder (container paths map under it)
Files are written whole (a temporary file renamed), so a stopped run leaves no torn JSON.
"""

from __future__ import annotations

import json
import os
import secrets
import string
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ID_ALPHABET = string.ascii_lowercase + string.digits
BASE36 = string.digits + string.ascii_lowercase  # digit order = ASCII order, so ids sort
FINAL = {"Succeeded", "Failed", "Stopped"}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new_execution_id() -> str:
    """12 lowercase letters and digits, like SageMaker's, led by the time so ids sort by start."""
    stamp = datetime.now(UTC).strftime("%y%m%d%H%M%S")
    return _base36(int(stamp)).rjust(8, "0") + "".join(
        secrets.choice(ID_ALPHABET) for _ in range(4)
    )


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(value, out, indent=2, sort_keys=True, default=str)
        out.write("\n")
    os.replace(tmp, path)


class Execution:
    """One execution's folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def id(self) -> str:
        return self.folder.name

    def step_dir(self, step: str) -> Path:
        return self.folder / "steps" / step

    def describe(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.folder / "execution.json").read_text())
        return data

    def write_describe(self, value: dict[str, Any]) -> None:
        write_json(self.folder / "execution.json", value)

    def record(self, step: str) -> dict[str, Any] | None:
        path = self.step_dir(step) / "record.json"
        if not path.is_file():
            return None
        data: dict[str, Any] = json.loads(path.read_text())
        return data

    def write_record(self, record: dict[str, Any]) -> None:
        write_json(self.step_dir(record["StepName"]) / "record.json", record)

    def records(self) -> list[dict[str, Any]]:
        """Every step record, in start order (ListPipelineExecutionSteps lists newest first)."""
        found = []
        for path in sorted((self.folder / "steps").glob("*/record.json")):
            found.append(json.loads(path.read_text()))
        return sorted(found, key=lambda r: (r.get("StartTime") or "", r["StepName"]))


def executions_dir(root: Path, pipeline: str) -> Path:
    return root / "executions" / pipeline


def list_executions(root: Path, pipeline: str) -> list[Execution]:
    """This pipeline's executions with a readable execution.json, oldest first."""
    folder = executions_dir(root, pipeline)
    found = []
    for path in folder.glob("*/execution.json") if folder.is_dir() else []:
        try:
            started = json.loads(path.read_text()).get("CreationTime", "")
        except json.JSONDecodeError:
            continue
        found.append((started, path.parent.name, Execution(path.parent)))
    return [execution for _, _, execution in sorted(found)]


def engine_identity() -> dict[str, Any]:
    """What an execution records of the engine running it, so a later run can tell whether that
    engine is still there (a pid alone could have been reused)."""
    return {"EnginePid": os.getpid(), "EngineStartTime": _start_time(os.getpid())}


def fail_abandoned(root: Path) -> list[Execution]:
    """Mark Failed, with the reason, every execution still Executing whose engine is gone (it was
    killed, or its machine stopped); the ones marked.

    An execution from an engine that recorded no pid is left as it is: it cannot be told apart
    from one still running.
    """
    marked = []
    for path in sorted(root.glob("executions/*/*/execution.json")):
        execution = Execution(path.parent)
        try:
            describe = execution.describe()
        except (OSError, json.JSONDecodeError):
            continue
        pid = describe.get("EnginePid")
        if describe.get("PipelineExecutionStatus") != "Executing" or not isinstance(pid, int):
            continue
        if _start_time(pid) == describe.get("EngineStartTime"):
            continue  # its engine still runs
        reason = (
            f"the engine running it (pid {pid}) ended before it finished (killed, or its machine "
            "stopped); marked Failed by the next run on this engine root"
        )
        for record in execution.records():
            if record["StepStatus"] == "Executing":
                execution.write_record(
                    {**record, "StepStatus": "Failed", "FailureReason": reason, "EndTime": now()}
                )
        describe.update(
            PipelineExecutionStatus="Failed", FailureReason=reason, LastModifiedTime=now()
        )
        execution.write_describe(describe)
        marked.append(execution)
    return marked


def _start_time(pid: int) -> int | None:
    """When process `pid` started (clock ticks since boot), or None when there is none."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] == "Z" else int(fields[19])


def execution_arn(region: str, account: str, pipeline: str, execution_id: str) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:pipeline/{pipeline}/execution/{execution_id}"


def _base36(number: int) -> str:
    digits = ""
    while number:
        number, rest = divmod(number, 36)
        digits = BASE36[rest] + digits
    return digits

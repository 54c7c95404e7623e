"""Everything the web view reads, in one place: bundles, and the engine's on-disk state.

This is the view's one adapter over the runtime tools' files: bundles through `bundle.read`,
executions through `engine.executions`, models through `engine.registry`, endpoints and
schedules as the engine's records. Pages look things up by the ids listed here (a bundle's
folder under the build folder, a pipeline and execution id, a step name among the records), so
no path is ever taken from a request.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bundle.diff import compare as compare_bundles
from bundle.diff import render as render_diff
from bundle.read import Bundle, BundleError, monitor_bundles, read_bundle, read_definition
from engine.executions import FINAL, Execution, list_executions
from engine.gate import Decision, decisions
from engine.registry import Package, Registry
from engine.s3 import S3, S3UriError
from kernel.notation import all_steps

REPORT_LIMIT = 256 * 1024  # bytes of a JSON report shown on a step's page
INPUT_KEYS = {"AppSpecification", "AlgorithmSpecification", "InputDataConfig", "ProcessingInputs"}


@dataclass(frozen=True)
class Report:
    """A JSON document a step wrote (evaluation metrics, statistics, constraint violations)."""

    uri: str
    data: Any


@dataclass(frozen=True)
class MonitoringRun:
    """One run of a Model Monitor schedule: when, and the violations it found."""

    started: str
    violations: list[dict[str, Any]]


class Sources:
    """The build folder's bundles and the engine root's state."""

    def __init__(self, build: Path, root: Path) -> None:
        self.build, self.root = build.resolve(), root.resolve()
        self.s3 = S3(self.root / "s3")

    # ------------------------------------------------------------------ bundles

    def bundles(self) -> dict[str, Bundle]:
        """Every readable bundle under the build folder, by its folder (the bundle's id)."""
        found = {}
        for manifest in sorted(self.build.glob("*/assets.json")):
            try:
                found[manifest.parent.name] = read_bundle(manifest.parent)
            except BundleError:
                continue
        return found

    def bundle(self, bundle_id: str) -> Bundle | None:
        return self.bundles().get(bundle_id)

    @staticmethod
    def monitors(bundle: Bundle) -> list[Bundle]:
        try:
            return monitor_bundles(bundle)
        except BundleError:
            return []

    def diff(self, old: str, new: str) -> str | None:
        """`python -m bundle.diff` of two listed bundles (by id) as text; None unless both are."""
        bundles = self.bundles()
        if old not in bundles or new not in bundles:
            return None
        args = argparse.Namespace(old=bundles[old].root, new=bundles[new].root, deployed=False)
        try:
            return render_diff("text", *compare_bundles(args))
        except BundleError as exc:
            return f"error: {exc}"

    def definition_of(self, execution: Execution) -> dict[str, Any]:
        """The definition an execution ran: its bundle's, or a published pipeline's."""
        for folder in (Path(str(execution.describe().get("Bundle", ""))),):
            try:
                return read_definition(folder).definition  # a bundle, or a bare definition
            except BundleError:
                pass
        name = execution.folder.parent.name
        for bundle in self.bundles().values():
            if bundle.name == name:
                return bundle.definition
        return {"Steps": []}

    # ------------------------------------------------------------------ executions

    def pipelines(self) -> list[str]:
        """The pipelines the engine has executions of."""
        folder = self.root / "executions"
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []

    def executions(self, pipeline: str) -> list[Execution]:
        """A pipeline's executions, newest first."""
        if pipeline not in self.pipelines():
            return []
        return list(reversed(list_executions(self.root, pipeline)))

    def execution(self, pipeline: str, execution_id: str) -> Execution | None:
        return next((e for e in self.executions(pipeline) if e.id == execution_id), None)

    def all_executions(self) -> list[Execution]:
        """Every execution of every pipeline, newest first."""
        found = [e for p in self.pipelines() for e in self.executions(p)]
        return sorted(found, key=lambda e: str(e.describe().get("CreationTime", "")), reverse=True)

    @staticmethod
    def records(execution: Execution) -> dict[str, dict[str, Any]]:
        return {r["StepName"]: r for r in execution.records()}

    def changed_parameters(self, execution: Execution) -> list[tuple[str, str]]:
        """The parameters this execution set to other values than the definition's defaults."""
        defaults = {
            p["Name"]: str(p.get("DefaultValue"))
            for p in self.definition_of(execution).get("Parameters", [])
        }
        given = execution.describe().get("PipelineParameters", [])
        return [
            (p["Name"], str(p["Value"]))
            for p in given
            if not _same_text(defaults.get(p["Name"]), str(p["Value"]))
        ]

    def gate(self, execution: Execution) -> list[Decision]:
        return decisions(self.definition_of(execution), self.records(execution))

    def step_log(self, execution: Execution, step: str) -> Path | None:
        """Where the step's log is (or will be), when the step is one of the execution's."""
        known = self.records(execution).keys() | {
            p.name for p in all_steps(self.definition_of(execution))
        }
        return execution.step_dir(step) / "log.txt" if step in known else None

    def reports(self, record: dict[str, Any]) -> list[Report]:
        """The JSON documents among a step's outputs in the engine's S3 folder."""
        uris = sorted(set(_output_uris(record.get("Properties", {}))))
        found = []
        for uri in uris:
            path = self._local(uri)
            if path is None:
                continue
            files = sorted(path.rglob("*.json"))[:8] if path.is_dir() else [path]
            for file in files:
                if file.suffix == ".json" and file.is_file() and file.stat().st_size < REPORT_LIMIT:
                    shown = uri if file == path else f"{uri.rstrip('/')}/{file.relative_to(path)}"
                    found.append(Report(shown, _json(file)))
        return found

    def _local(self, uri: str) -> Path | None:
        """Where the engine keeps an S3 URI a record names, or None for one it cannot hold
        (empty, not s3://, a bucket S3 refuses): such a record shows no file, never an error."""
        try:
            return self.s3.path(uri)
        except S3UriError:
            return None

    def document(self, uri: str) -> Any:
        """A small JSON document in the engine's S3 folder (a registered metric), or None."""
        path = self._local(uri)
        if (
            path is None
            or path.suffix != ".json"
            or not path.is_file()
            or path.stat().st_size > REPORT_LIMIT
        ):
            return None
        return _json(path)

    # ------------------------------------------------------------------ registry, serving

    def packages(self) -> dict[str, list[Package]]:
        """The model registry's packages by group, newest version first."""
        path = self.root / "registry.sqlite"
        if not path.is_file():
            return {}
        groups: dict[str, list[Package]] = {}
        for package in Registry(path).packages():
            groups.setdefault(package.group, []).insert(0, package)
        return groups

    def set_status(self, arn: str, status: str) -> bool:
        """Approve or reject a listed package; False when no listed package has this ARN."""
        listed = {p.arn for ps in self.packages().values() for p in ps}
        if arn not in listed:
            return False
        Registry(self.root / "registry.sqlite").set_status(arn, status)
        return True

    def endpoints(self) -> list[dict[str, Any]]:
        """Each endpoint's record, with `CapturedRequests` counted from its data capture."""
        found = []
        for record in _records(self.root / "endpoints"):
            capture = record.get("DataCaptureConfig", {})
            folder = self._local(
                f"{str(capture.get('DestinationS3Uri', '')).rstrip('/')}/{record['EndpointName']}"
            )
            lines = (
                sum(1 for f in folder.rglob("*.jsonl") for line in f.open() if line.strip())
                if folder is not None and folder.is_dir()
                else 0
            )
            found.append({**record, "CapturedRequests": lines})
        return found

    def schedules(self) -> list[dict[str, Any]]:
        """Each schedule's record; a pipeline-target one (builtin backend) with `TargetPipeline`,
        the engine's name of the monitoring pipeline it starts (whose executions are its runs)."""
        names = {name.lower(): name for name in self.pipelines()}
        found = []
        for record in _records(self.root / "schedules"):
            arn = str(record.get("Target", {}).get("Arn", ""))
            target = names.get(arn.rsplit("/", 1)[-1].lower()) if arn else None
            found.append({**record, "TargetPipeline": target})
        return found

    def monitoring_runs(self, schedule: dict[str, Any]) -> list[MonitoringRun]:
        """A Model Monitor schedule's runs (`engine.schedule run`), newest first."""
        name = str(schedule.get("MonitoringScheduleName", ""))
        folder = self.root / "schedules" / name
        runs: list[MonitoringRun] = []
        if not name or "Target" in schedule:  # a pipeline target's runs are its executions
            return runs
        for run in sorted(folder.iterdir(), reverse=True) if folder.is_dir() else []:
            violations = run / "output" / "constraint_violations.json"
            found = _json(violations).get("violations", []) if violations.is_file() else []
            runs.append(MonitoringRun(run.name, found))
        return runs


def duration(describe: dict[str, Any]) -> str:
    """Seconds from creation to the last change (to now while it runs)."""
    start = describe.get("CreationTime")
    if not start:
        return ""
    final = describe.get("PipelineExecutionStatus") in FINAL and describe.get("LastModifiedTime")
    end = datetime.fromisoformat(str(final)) if final else datetime.now().astimezone()
    return f"{(end - datetime.fromisoformat(str(start))).total_seconds():.1f} s"


def _same_text(default: str | None, value: str) -> bool:
    """A value equals its default as written (the engine writes Booleans as True/False)."""
    return default is not None and default.lower() == value.lower()


def _output_uris(value: Any, key: str = "") -> list[str]:
    if key in INPUT_KEYS:
        return []
    if isinstance(value, dict):
        return [u for k, v in value.items() for u in _output_uris(v, k)]
    if isinstance(value, list):
        return [u for v in value for u in _output_uris(v, key)]
    return [value] if isinstance(value, str) and value.startswith("s3://") else []


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return None


def _records(folder: Path) -> list[dict[str, Any]]:
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        data = _json(path)
        if isinstance(data, dict):
            found.append(data)
    return found

"""The scheduler: runs a bundle's steps in dependency order, in parallel up to a limit.

Before anything runs, the parameters are checked, the assets are put in the local S3 with the
bytes and keys publishing uses, and the raw data are placed at InputDataUri. Then each step whose
needs have succeeded (and whose Condition chose its branch) runs in a worker thread: its
expressions are resolved, the cache is asked, its type's executor runs it, and its record is
written. After a failure no new step starts, as on SageMaker; the running ones finish.
"""

from __future__ import annotations

import functools
import json
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bundle.assets import AssetObject, StaleBundleError, asset_objects, put_assets
from bundle.read import Bundle, BundleError, monitor_bundles
from engine import cache, pipelines, process
from engine.data import DATA_PARAMETER, DataError, place_data, plan_data
from engine.environments import EnvironmentUnavailable, Interpreters
from engine.executions import (
    Execution,
    engine_identity,
    execution_arn,
    executions_dir,
    fail_abandoned,
    list_executions,
    new_execution_id,
    now,
)
from engine.executors import MODULES, executor_for
from engine.executors.base import StepContext, StepFailed
from engine.expressions import (
    ExpressionError,
    ParameterError,
    PropertyFileRef,
    Scope,
    parse_parameters,
    resolve,
    walk_path,
)
from engine.graph import DefinitionError, Node, build_graph, descendants, own_definition
from engine.localmap import unmapped_lambdas, unmapped_reads
from engine.s3 import S3, S3UriError
from engine.stand_ins import stand_in_notes
from kernel.check import all_steps, definition_problems, rendered_at
from kernel.check_steps import RECOMPILE
from kernel.errors import Problem
from kernel.limits import limit_problems

IMAGE_KEYS = {"ImageUri", "TrainingImage"}  # the images jobs run in (not serving's Image)
METADATA_KEYS = {
    "Processing": ("ProcessingJob", "ProcessingJobArn"),
    "Training": ("TrainingJob", "TrainingJobArn"),
    "Tuning": ("TuningJob", "HyperParameterTuningJobArn"),
    "Transform": ("TransformJob", "TransformJobArn"),
    "Model": ("Model", "ModelArn"),
    "RegisterModel": ("RegisterModel", "ModelPackageArn"),
    "Lambda": ("Lambda", "FunctionArn"),
}


BARE_FIX = "correct the definition (SageMaker would refuse it too), or rebuild it with your SDK"


class EngineInputError(Exception):
    """Bad input to a run (arguments, bundle, data); nothing ran. Reads where/what/why/fix."""


@dataclass(frozen=True)
class RunOptions:
    root: Path
    parameters: tuple[str, ...] = ()
    data: Path | None = None
    from_step: str | None = None
    use_cache: bool = True
    max_parallel: int = 4
    containers: frozenset[str] = frozenset()  # image repositories (or "all"): see environments


@dataclass
class Result:
    """How an execution ended."""

    execution: Execution
    status: str
    failure: str | None
    nodes: dict[str, Node]
    records: dict[str, dict[str, Any]] = field(default_factory=dict)


Listener = Callable[[dict[str, Any]], None]


def run_bundle(
    bundle: Bundle,
    options: RunOptions,
    on_record: Listener = lambda r: None,
    on_notes: Callable[[list[str]], None] = lambda n: None,
) -> Result:
    """Run one execution of the bundle; `on_notes` hears, once the input is checked and before
    any step runs, which local versions stand in for each image (engine/stand_ins.py).

    Raises:
        EngineInputError: bad parameters, stale assets, missing data, a bad --from, a definition
            SageMaker would reject; no execution folder is created.
    """
    options = replace(options, root=options.root.resolve())  # jobs run in their own folders
    check_definitions(bundle)
    try:
        nodes = build_graph(bundle.definition)
    except DefinitionError as exc:
        raise EngineInputError(str(exc)) from None
    try:
        parameters = parse_parameters(bundle.definition.get("Parameters", []), options.parameters)
    except ParameterError as exc:
        raise EngineInputError(str(exc)) from None
    _check_given_values(bundle, parameters, options.parameters)
    if bundle.bare:
        _refuse(unmapped_reads(bundle, parameters), "S3 URIs the local map does not cover")
    s3 = S3(options.root / "s3")
    try:
        data = plan_data(bundle, parameters, s3, options.data)
    except DataError as exc:
        raise EngineInputError(str(exc)) from None
    fail_abandoned(options.root)
    earlier = list_executions(options.root, bundle.name)
    reused = _selective(nodes, earlier, options.from_step) if options.from_step else {}
    interpreters = Interpreters(options.containers)
    if options.containers:
        try:
            interpreters.prepare(job_images(bundle.definition))
        except EnvironmentUnavailable as exc:
            raise EngineInputError(exc.problem.render()) from None
    _put_assets(bundle, s3)
    _publish_monitors(bundle, s3, options.root)
    if data is not None:
        try:
            place_data(data, options.root)
        except DataError as exc:
            raise EngineInputError(str(exc)) from None
    execution_id = new_execution_id()
    folder = executions_dir(options.root, bundle.name) / execution_id
    execution = Execution(folder)
    notes = stand_in_notes(job_images(bundle.definition), interpreters)
    on_notes(notes)
    run = _Run(bundle, options, nodes, parameters, s3, execution, earlier, on_record, interpreters)
    return run.execute(reused, notes)


class _Run:
    """The state of one execution while it runs."""

    def __init__(
        self,
        bundle: Bundle,
        options: RunOptions,
        nodes: dict[str, Node],
        parameters: dict[str, Any],
        s3: S3,
        execution: Execution,
        earlier: list[Execution],
        on_record: Listener,
        interpreters: Interpreters,
    ) -> None:
        self.bundle, self.options, self.nodes, self.s3 = bundle, options, nodes, s3
        self.execution, self.earlier, self.on_record = execution, earlier, on_record
        self.parameters = parameters
        self.records: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.region, self.account = bundle.manifest.publish.region, bundle.manifest.publish.account
        self.arn = execution_arn(self.region, self.account, bundle.name, execution.id)
        self.variables = {
            "PipelineExecutionId": execution.id,
            "PipelineExecutionArn": self.arn,
            "PipelineName": bundle.name,
            "PipelineArn": f"arn:aws:sagemaker:{self.region}:{self.account}:pipeline/{bundle.name}",
            "CurrentDateTime": now(),
        }
        self.scope = Scope(parameters, self.variables, self._properties, self._property_file)
        self.reports: dict[PropertyFileRef, Any] = {}
        self.interpreters = interpreters

    def execute(self, reused: dict[str, dict[str, Any]], notes: list[str]) -> Result:
        process.reset()
        describe: dict[str, Any] = {
            "PipelineArn": self.variables["PipelineArn"],
            "PipelineName": self.bundle.name,
            "PipelineExecutionArn": self.arn,
            "PipelineExecutionId": self.execution.id,
            "PipelineExecutionStatus": "Executing",
            "CreationTime": now(),
            "PipelineParameters": [
                {"Name": k, "Value": str(v)} for k, v in self.parameters.items()
            ],
            "Bundle": str((self.bundle.file or self.bundle.root).resolve()),
            "ImageStandIns": notes,
            **engine_identity(),
        }
        if self.options.from_step:
            source = next(iter(reused.values()), {}).get("SelectiveExecutionResult", {})
            describe["SelectiveExecutionConfig"] = {
                "SourcePipelineExecutionArn": source.get("SourcePipelineExecutionArn"),
                "SelectedSteps": [{"StepName": self.options.from_step}],
            }
        self.execution.write_describe(describe)
        for record in reused.values():
            self._save(record)
        status, failure = self._schedule()
        describe.update(PipelineExecutionStatus=status, LastModifiedTime=now())
        if failure:
            describe["FailureReason"] = failure
        self.execution.write_describe(describe)
        return Result(self.execution, status, failure, self.nodes, dict(self.records))

    def _schedule(self) -> tuple[str, str | None]:
        running: dict[Future[None], str] = {}
        stopped = False
        with ThreadPoolExecutor(max_workers=max(1, self.options.max_parallel)) as pool:
            while True:
                try:
                    if not stopped and not self._failed():
                        for name in self._ready(set(running.values()))[: self._slots(running)]:
                            record = _record(self.nodes[name], "Executing")
                            self._save(record)
                            running[pool.submit(self._step, self.nodes[name], record)] = name
                    if not running:
                        break
                    done, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
                except KeyboardInterrupt:
                    stopped = True
                    process.stop_all()
                    continue
                for future in done:
                    del running[future]
                    future.result()
        if stopped:
            return "Stopped", "the execution was stopped (Ctrl-C); its running jobs were stopped"
        failed = [r for r in self.records.values() if r["StepStatus"] in ("Failed", "Stopped")]
        if failed:
            first = min(failed, key=lambda r: r.get("EndTime") or "")
            return "Failed", f"step {first['StepName']} failed: {first.get('FailureReason', '')}"
        stranded = [n for n in self.nodes if n not in self.records and self._on_path(n)]
        if stranded:  # never Succeeded with steps of the path taken left out
            return "Failed", (
                f"engine bug: steps {', '.join(stranded)} never started although the path that "
                "holds them was taken"
            )
        return "Succeeded", None

    def _on_path(self, name: str) -> bool:
        """Whether step `name` is at the top level or in branches its conditions chose."""
        node = self.nodes[name]
        if node.parent is None:
            return True
        record = self.records.get(node.parent) or {}
        outcome = record.get("Properties", {}).get("Outcome")
        return outcome == ("True" if node.branch else "False") and self._on_path(node.parent)

    def _slots(self, running: dict[Future[None], str]) -> int:
        return max(1, self.options.max_parallel) - len(running)

    def _failed(self) -> bool:
        with self.lock:
            return any(r["StepStatus"] in ("Failed", "Stopped") for r in self.records.values())

    def _ready(self, running: set[str]) -> list[str]:
        with self.lock:
            status = {n: r["StepStatus"] for n, r in self.records.items()}
            outcome = {n: r.get("Properties", {}).get("Outcome") for n, r in self.records.items()}
        ready = []
        for node in self.nodes.values():
            if node.name in status or node.name in running:
                continue
            if not all(status.get(need) == "Succeeded" for need in node.needs):
                continue
            if node.parent and outcome.get(node.parent) != ("True" if node.branch else "False"):
                continue
            ready.append(node.name)
        return ready

    def _step(self, node: Node, record: dict[str, Any]) -> None:
        step_dir = self.execution.step_dir(node.name)
        log_path = step_dir / "log.txt"
        work = step_dir / "work"
        work.mkdir(parents=True, exist_ok=True)
        log = _logger(log_path)
        definition: dict[str, Any] | None = None
        try:
            definition = resolve(own_definition(node.definition), self.scope)
            hit = self._cached(node, definition, record)
            if hit is not None:
                properties = hit
                log(f"cache hit: {record['CacheHitResult']['SourcePipelineExecutionArn']}")
            else:
                executor = executor_for(node.name, node.type)
                ctx = StepContext(
                    pipeline_name=self.bundle.name,
                    execution_id=self.execution.id,
                    step_name=node.name,
                    step_type=node.type,
                    arguments=definition.get("Arguments", {}),
                    definition=definition,
                    s3=self.s3,
                    work=work,
                    log=log,
                    log_path=log_path,
                    root=self.options.root,
                    run_process=functools.partial(process.run_process, log_path=log_path),
                    assets={a.name: a.s3_uri for a in self.bundle.assets},
                    region=self.region,
                    account=self.account,
                    python_for=self._python_for,
                    functions={f.function_arn: f for f in self.bundle.manifest.functions},
                )
                properties = executor(ctx)
        except (StepFailed, ExpressionError, cache.CacheConfigError, S3UriError) as exc:
            self._end(node, record, None, self._reason(node, str(exc), definition))
            log(f"Failed: {record['FailureReason']}")
            return
        except Exception as exc:  # an engine bug must still end the step, with its traceback
            log(traceback.format_exc())
            self._end(node, record, None, engine_bug(exc, log_path))
            return
        self._end(node, record, properties, None)

    def _python_for(self, image: str) -> str:
        try:
            return self.interpreters.python(image)
        except EnvironmentUnavailable as exc:  # an image only a parameter named
            raise StepFailed(exc.problem.render()) from None

    def _cached(
        self, node: Node, definition: dict[str, Any], record: dict[str, Any]
    ) -> dict[str, Any] | None:
        config = definition.get("CacheConfig") or {}
        key = cache.cache_key(node.type, definition)
        if key is None:
            return None
        record["CacheKey"] = key
        if not config.get("Enabled") or not self.options.use_cache:
            return None
        ttl = cache.expire_after(str(config.get("ExpireAfter", "")))
        found = cache.find_cached(self.earlier, node.name, key, ttl, datetime.now(UTC))
        if found is None:
            return None
        source, earlier = found
        record["CacheHitResult"] = {
            "SourcePipelineExecutionArn": source.describe()["PipelineExecutionArn"]
        }
        properties: dict[str, Any] = earlier["Properties"]
        return properties

    def _reason(self, node: Node, message: str, definition: dict[str, Any] | None) -> str:
        """The failure with the bundle assets the step ran (which script, from where), the raw
        data named as the user gave them (--data DIR rather than its copy in the S3 folder)."""
        data = self.parameters.get(DATA_PARAMETER)  # --data's files, named as given
        if self.options.data is not None and isinstance(data, str):
            message = message.replace(data.rstrip("/") + "/", f"{self.options.data}/")
        if node.type == "Fail" or definition is None:
            return message
        text = repr(definition)
        used = [a for a in self.bundle.assets if a.s3_uri in text]
        lines = [f"asset {a.name}: {_paths([f.path for f in a.files])}" for a in used]
        return message + "".join(f"\n  code: {line}" for line in lines)

    def _end(
        self,
        node: Node,
        record: dict[str, Any],
        properties: dict[str, Any] | None,
        failure: str | None,
    ) -> None:
        record["EndTime"] = now()
        if failure is None:
            record["StepStatus"] = "Succeeded"
            record["Properties"] = properties or {}
        else:
            record["StepStatus"] = "Stopped" if process.stopping() else "Failed"
            record["FailureReason"] = failure
        record["Metadata"] = _metadata(node, record)
        self._save(record)

    def _save(self, record: dict[str, Any]) -> None:
        with self.lock:
            self.records[record["StepName"]] = record
        self.execution.write_record(record)
        self.on_record(record)

    def _properties(self, step: str) -> dict[str, Any]:
        with self.lock:
            record = self.records.get(step)
        if step not in self.nodes:
            raise ExpressionError(f"no step named {step!r} in the definition")
        if record is None or record["StepStatus"] != "Succeeded":
            state = record["StepStatus"] if record else "not run"
            raise ExpressionError(f"step {step} has no properties in this execution ({state})")
        properties: dict[str, Any] = record.get("Properties", {})
        return properties

    def _property_file(self, ref: PropertyFileRef) -> Any:
        if ref in self.reports:
            return self.reports[ref]
        node = self.nodes.get(ref.step)
        files = (node.definition.get("PropertyFiles") or []) if node else []
        spec = next((f for f in files if f.get("PropertyFileName") == ref.name), None)
        if spec is None:
            names = ", ".join(f.get("PropertyFileName", "?") for f in files) or "none"
            raise ExpressionError(
                f"step {ref.step} declares no property file {ref.name!r} (it declares: {names})"
            )
        outputs = self._properties(ref.step).get("ProcessingOutputConfig", {}).get("Outputs", {})
        output = walk_path(
            outputs,
            [str(spec["OutputName"])],
            f"property file {ref.name} of step {ref.step}: OutputName",
        )
        uri = f"{str(output['S3Output']['S3Uri']).rstrip('/')}/{spec['FilePath']}"
        path = self.s3.path(uri)
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ExpressionError(
                f"property file {ref.name} of step {ref.step}: {uri} does not exist "
                f"(FilePath {spec['FilePath']!r} in output {spec['OutputName']!r}; "
                "the job did not write it)"
            ) from None
        except ValueError as exc:
            raise ExpressionError(
                f"property file {ref.name} of step {ref.step}: {uri} is not JSON ({exc})"
            ) from None
        self.reports[ref] = report
        return report


def engine_bug(exc: BaseException, log_path: Path) -> str:
    """How an exception the engine did not expect reads: a fault of the engine, not the bundle."""
    return (
        f"engine bug ({type(exc).__name__}: {exc}): the local engine failed, not the bundle; "
        f"the traceback is in {log_path}"
    )


def _paths(paths: list[str], shown: int = 3) -> str:
    more = f" and {len(paths) - shown} more" if len(paths) > shown else ""
    return ", ".join(paths[:shown]) + more


def job_images(definition: dict[str, Any]) -> set[str]:
    """Every container image a definition names as a literal (jobs, models, monitors)."""
    found: set[str] = set()
    pending: list[Any] = [definition]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key in IMAGE_KEYS and isinstance(value, str):
                    found.add(value)
                else:
                    pending.append(value)
        elif isinstance(node, list):
            pending.extend(node)
    return found


def _record(node: Node, status: str) -> dict[str, Any]:
    return {
        "StepName": node.name,
        "StepType": node.type,
        "StepStatus": status,
        "StartTime": now(),
        "AttemptCount": 1,
    }


def _metadata(node: Node, record: dict[str, Any]) -> dict[str, Any]:
    properties = record.get("Properties", {})
    if node.type == "Condition" and "Outcome" in properties:
        return {"Condition": {"Outcome": properties["Outcome"]}}
    if node.type == "Fail":
        return {"Fail": {"ErrorMessage": record.get("FailureReason", "")}}
    if node.type in METADATA_KEYS and properties:
        key, arn = METADATA_KEYS[node.type]
        return {key: {"Arn": properties.get(arn)}}
    return {}


def _logger(log_path: Path) -> Callable[[str], None]:
    lock = threading.Lock()
    log_path.parent.mkdir(parents=True, exist_ok=True)

    def log(line: str) -> None:
        with lock, log_path.open("a", encoding="utf-8") as out:
            out.write(f"[engine {datetime.now(UTC).strftime('%H:%M:%S')}] {line}\n")

    return log


def _selective(
    nodes: dict[str, Node], earlier: list[Execution], step: str
) -> dict[str, dict[str, Any]]:
    """Records to reuse for a run from `step`: every step it does not rerun, taken from the
    newest execution in which the steps it needs succeeded (SageMaker's selective execution)."""
    if step not in nodes:
        raise EngineInputError(
            f"--from {step}\n  no such step\n  why: --from names the step to rerun from\n"
            f"  fix: use one of {', '.join(nodes)}"
        )
    selected = descendants(nodes, step)
    needed = sorted({need for name in selected for need in nodes[name].needs} - selected)
    for source in reversed(earlier):
        records = {name: source.record(name) for name in nodes if name not in selected}
        if all((records.get(n) or {}).get("StepStatus") == "Succeeded" for n in needed):
            arn = source.describe()["PipelineExecutionArn"]
            return {
                name: {**record, "SelectiveExecutionResult": {"SourcePipelineExecutionArn": arn}}
                for name, record in records.items()
                if record is not None and record["StepStatus"] == "Succeeded"
            }
    raise EngineInputError(
        f"--from {step}\n  no earlier execution of this pipeline in which "
        f"{', '.join(needed) or 'its steps'} succeeded ({len(earlier)} executions looked at)\n"
        "  why: a selective run reuses the outputs of the steps before the one it starts from\n"
        "  fix: run the whole pipeline once (without --from), or run from an earlier step"
    )


def check_definitions(bundle: Bundle) -> None:
    """The definition check (kernel.check, as compiling and publishing run it) on the bundle and
    its monitoring pipelines, and every step type having an executor here.

    Raises:
        EngineInputError: every problem found, each with where/what/why/fix; nothing ran.
    """
    try:
        monitors = monitor_bundles(bundle)
    except BundleError as exc:
        raise EngineInputError(str(exc)) from None
    problems = []
    for each in (bundle, *monitors):
        functions = [f.function_arn for f in each.manifest.functions]
        found = definition_problems(each.definition, None if each.bare else functions)
        if each.bare:  # not ours to recompile: SageMaker would refuse it too
            found = [replace(p, fix=_bare_fix(p.fix)) for p in found]
        found += [
            Problem(
                f"step {step['Name']}",
                f"Type {step['Type']!r}",
                "the local engine has no executor for it (it runs "
                f"{', '.join(sorted(MODULES))}); SageMaker would run it, this engine cannot",
                "run it on SageMaker"
                + ("" if each.bare else " (python -m bundle.publish)")
                + ", or drop the step",
            )
            for step in all_steps(each.definition.get("Steps", []))
            if not found and step["Type"] not in MODULES
        ]
        problems += rendered_at(each.definition_file, found)
    if problems:
        count = f"{len(problems)} problems" if len(problems) > 1 else "1 problem"
        raise EngineInputError(
            f"{count} in the definition; nothing ran\n\n" + "\n\n".join(problems)
        )
    if bundle.bare:
        _refuse(unmapped_lambdas(bundle), "Lambda functions the local map does not cover")


def _bare_fix(fix: str) -> str:
    """A definition check's fix for a definition our compiler did not write."""
    return BARE_FIX if fix == RECOMPILE else fix.replace(f" ({RECOMPILE})", "")


def _refuse(problems: list[Problem], what: str) -> None:
    """Raise every problem at once, under one headline (`what` they are)."""
    if problems:
        raise EngineInputError(
            f"{len(problems)} {what}; nothing ran\n\n" + "\n\n".join(p.render() for p in problems)
        )


def _check_given_values(
    bundle: Bundle, parameters: dict[str, Any], overrides: tuple[str, ...]
) -> None:
    """The -p values against the API fields their parameters feed, as the defaults are checked:
    on SageMaker a value the API refuses fails its step when it starts (here it would pass).

    Raises:
        EngineInputError: each value and the field that refuses it.
    """
    given = {o.partition("=")[0] for o in overrides}
    declared = {
        str(p["Name"]): {**p, "DefaultValue": parameters[p["Name"]], "ValueFrom": "-p value"}
        for p in bundle.definition.get("Parameters", [])
        if p["Name"] in given
    }
    problems = [
        f"step {step['Name']}, Arguments.{problem}"
        for step in all_steps(bundle.definition["Steps"])
        for problem in limit_problems(step["Type"], step.get("Arguments", {}), declared)
    ]
    if problems:
        shown = " ".join(f"-p {o}" for o in overrides if o.partition("=")[0] in given)
        raise EngineInputError(
            f"{shown}\n  " + "\n  ".join(problems) + "\n  why: SageMaker's API refuses "
            "these values there, so the steps would fail when they start\n  fix: give values "
            "the API takes (the message lists some)"
        )


def _put_assets(bundle: Bundle, s3: S3) -> None:
    try:
        objects = asset_objects(bundle.assets)
    except StaleBundleError as exc:
        raise EngineInputError(str(exc)) from None
    put_assets(objects, lambda o: _holds(s3, o), lambda o: s3.put_bytes(o.uri, o.body))


def _holds(s3: S3, obj: AssetObject) -> bool:
    """Whether the object is there with these bytes: a mapped file's URI is fixed (the SDK's
    keys are not content addresses), so its object is refreshed whenever the file changes."""
    path = s3.path(obj.uri)
    return path.is_file() and path.stat().st_size == len(obj.body) and path.read_bytes() == obj.body


def _publish_monitors(bundle: Bundle, s3: S3, root: Path) -> None:
    """The bundle's monitoring pipelines, published as publishing would (engine/pipelines.py)."""
    try:
        monitors = monitor_bundles(bundle)
    except BundleError as exc:
        raise EngineInputError(str(exc)) from None
    for monitor in monitors:
        _put_assets(monitor, s3)
        pipelines.publish(root, monitor)

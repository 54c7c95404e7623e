"""The QualityCheck executor on the compiled penguins definition's own steps, with real data.

Each test hands the executor a StepContext built by hand (tmp folders, the step's expressions
resolved here) and runs the real analyzer as a child process.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bundle.assets import asset_objects
from compiler.compile import Bundle
from engine.executors import quality_check
from engine.executors.base import StepContext, StepFailed
from engine.process import run_process
from engine.s3 import S3
from kernel.manifest import Asset
from tests.components import fixtures_data
from tests.components.test_analyzer import (
    degrade,
    rename_biscoe,
    schema,
    shift_culmen_length,
    traffic,
    transform_records,
)

penguins_raw = fixtures_data.penguins_raw  # the real preprocess output, shared with the
penguins_processed = fixtures_data.penguins_processed  # component tests (session fixtures)

EXECUTION = "exec-0002"  # the execution under test; the first run's baseline is exec-0001's
BUCKET = "s3://example-sagemaker-bucket/ml-pipelines/penguins"


def step_properties(execution: str) -> dict[str, str]:
    """What the steps before the checks produced, as the scheduler resolves their Gets."""
    return {
        "Steps.Preprocess.ProcessingOutputConfig.Outputs['baseline'].S3Output.S3Uri": (
            f"{BUCKET}/{execution}/Preprocess/baseline"
        ),
        "Steps.TransformTestSet.TransformOutput.S3OutputPath": (
            f"{BUCKET}/{execution}/TransformTestSet"
        ),
    }


def dataset_uri(step_name: str, execution: str) -> str:
    if step_name == "DataQualityBaseline":
        return f"{BUCKET}/{execution}/Preprocess/baseline/data-quality.csv"
    return f"{BUCKET}/{execution}/TransformTestSet/test.jsonl.out"


@pytest.fixture(scope="module")
def compiled() -> Bundle:
    from compiler.compile import compile_overrides

    return compile_overrides(["project=penguins", "framework=pytorch"])


@pytest.fixture(scope="module")
def compiled_steps(compiled: Bundle) -> dict[str, dict[str, Any]]:
    """The QualityCheck steps of the compiled penguins definition, by name."""
    definition = json.loads(compiled.pipeline_json)

    def walk(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for step in steps:
            yield step
            for branch in ("IfSteps", "ElseSteps"):
                yield from walk(step.get("Arguments", {}).get(branch) or [])

    return {s["Name"]: s for s in walk(definition["Steps"]) if s["Type"] == "QualityCheck"}


def resolve(value: Any, parameters: dict[str, Any], execution: str) -> Any:
    """The step's expressions resolved as the scheduler resolves them (Get, Std:Join)."""
    if isinstance(value, list):
        return [resolve(v, parameters, execution) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Get"}:
        path = value["Get"]
        if path == "Execution.PipelineExecutionId":
            return execution
        if path.startswith("Parameters."):
            return parameters[path.removeprefix("Parameters.")]
        return step_properties(execution)[path]
    if set(value) == {"Std:Join"}:
        join = value["Std:Join"]
        return join["On"].join(str(resolve(v, parameters, execution)) for v in join["Values"])
    return {k: resolve(v, parameters, execution) for k, v in value.items()}


@dataclass
class Engine:
    """An engine root in a tmp folder: its S3 folder and the contexts of its steps."""

    root: Path
    steps: dict[str, dict[str, Any]]
    assets: tuple[Asset, ...]
    execution: str = EXECUTION
    runs: int = field(default=0)

    @property
    def s3(self) -> S3:
        return S3(self.root / "s3")

    def context(self, step_name: str, **overrides: Any) -> StepContext:
        """The step's context; overrides replace top-level keys of its definition (after
        resolving: SkipCheck, RegisterNewBaseline, FailOnViolation, SuppliedBaseline*...)."""
        check = "DataQuality" if step_name == "DataQualityBaseline" else "ModelQuality"
        parameters = {f"Skip{check}Check": True, f"RegisterNew{check}Baseline": True}
        definition = {**resolve(self.steps[step_name], parameters, self.execution), **overrides}
        self.runs += 1
        work = self.root / "executions" / str(self.runs) / "work"
        work.mkdir(parents=True)
        log_path = work.parent / "log.txt"
        lines: list[str] = []
        for obj in asset_objects(self.assets):  # as the engine puts the bundle's assets
            self.s3.put_bytes(obj.uri, obj.body)
        return StepContext(
            pipeline_name="penguins",
            execution_id=self.execution,
            step_name=step_name,
            step_type="QualityCheck",
            arguments=definition["Arguments"],
            definition=definition,
            s3=self.s3,
            work=work,
            log=lines.append,
            log_path=log_path,
            root=self.root,
            run_process=functools.partial(run_process, log_path=log_path),
            assets={a.name: a.s3_uri for a in self.assets},
        )

    def put_dataset(self, step_name: str, records: list[dict[str, Any]]) -> None:
        """The step's input as its producer writes it: data quality preprocess's CSV with a
        header, model quality the transform's JSON lines."""
        if step_name == "DataQualityBaseline":
            text = io.StringIO()
            writer = csv.DictWriter(
                text, fieldnames=list(dict.fromkeys(k for r in records for k in r))
            )
            writer.writeheader()
            writer.writerows({k: "" if v is None else v for k, v in r.items()} for r in records)
            body = text.getvalue().encode()
        else:
            body = "".join(json.dumps(r) + "\n" for r in records).encode()
        self.s3.put_bytes(dataset_uri(step_name, self.execution), body)


@pytest.fixture
def engine(tmp_path: Path, compiled: Bundle, compiled_steps: dict[str, dict[str, Any]]) -> Engine:
    return Engine(tmp_path, compiled_steps, compiled.manifest.assets)


def output_prefix(step_name: str) -> str:
    return f"{BUCKET}/{EXECUTION}/{step_name}/quality_check_output"


def first_run(engine: Engine, step_name: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    engine.put_dataset(step_name, records)
    return quality_check.run(engine.context(step_name, SkipCheck=True, RegisterNewBaseline=True))


@pytest.fixture(scope="module")
def first_data_quality_run(
    tmp_path_factory: pytest.TempPathFactory,
    compiled: Bundle,
    compiled_steps: dict[str, dict[str, Any]],
    penguins_processed: Path,
) -> tuple[Path, dict[str, Any]]:
    """DataQualityBaseline's first run (execution exec-0001): its S3 folder and properties."""
    root = tmp_path_factory.mktemp("first_run")
    engine = Engine(root, compiled_steps, compiled.manifest.assets, execution="exec-0001")
    records = fixtures_data.penguins_train_records(penguins_processed)
    return engine.root / "s3", first_run(engine, "DataQualityBaseline", records)


def data_quality_baseline(engine: Engine, first: tuple[Path, dict[str, Any]]) -> dict[str, Any]:
    """That first run's files put in this engine's S3 folder; its properties."""
    shutil.copytree(first[0], engine.root / "s3", dirs_exist_ok=True)
    return first[1]


def used(properties: dict[str, Any]) -> tuple[str, str]:
    return (
        properties["BaselineUsedForDriftCheckStatistics"],
        properties["BaselineUsedForDriftCheckConstraints"],
    )


# --- the registry -----------------------------------------------------------------------------


def registry_module() -> ModuleType:
    """engine.registry (engine-serve's), or a minimal stand-in with its API while it is absent."""
    try:
        import engine.registry

        return engine.registry
    except ImportError:
        pass
    module = ModuleType("engine.registry")

    @dataclass(frozen=True)
    class Package:
        arn: str
        group: str
        version: int
        status: str
        drift_check_baselines: dict[str, Any]

    class Registry:
        def __init__(self, path: Path) -> None:
            self.path = path

        def _rows(self) -> list[dict[str, Any]]:
            return json.loads(self.path.read_text()) if self.path.exists() else []

        def register(
            self, group: str, *, status: str, drift_check_baselines: dict[str, Any], **_: Any
        ) -> str:
            rows = self._rows()
            arn = f"arn:aws:sagemaker:us-east-1:111122223333:model-package/{group}/{len(rows) + 1}"
            rows.append({"arn": arn, "group": group, "version": len(rows) + 1, "status": status,
                         "drift_check_baselines": drift_check_baselines})  # fmt: skip
            self.path.write_text(json.dumps(rows))
            return arn

        def latest_approved(self, group: str) -> Package | None:
            rows = [r for r in self._rows() if r["group"] == group and r["status"] == "Approved"]
            return Package(**rows[-1]) if rows else None

    module.Registry = Registry  # type: ignore[attr-defined]
    return module


@pytest.fixture
def registry(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Any:
    module = registry_module()
    monkeypatch.setitem(sys.modules, "engine.registry", module)
    return module.Registry(engine.root / "registry.sqlite")


def register(registry: Any, key: str, properties: dict[str, Any], status: str = "Approved") -> str:
    baselines = {
        key: {
            "Statistics": {
                "ContentType": "application/json",
                "S3Uri": properties["BaselineUsedForDriftCheckStatistics"],
            },
            "Constraints": {
                "ContentType": "application/json",
                "S3Uri": properties["BaselineUsedForDriftCheckConstraints"],
            },
        }
    }
    arn = registry.register(
        "penguins",
        model_data_url=f"{BUCKET}/model.tar.gz",
        image="pytorch-inference",
        status=status,
        metrics={},
        drift_check_baselines=baselines,
        inference_specification={},
        execution_id="exec-0000",
    )
    return str(arn)


# --- data quality -----------------------------------------------------------------------------


def test_first_run_calculates_and_registers_the_new_baseline(
    engine: Engine, penguins_processed: Path
) -> None:
    records = fixtures_data.penguins_train_records(penguins_processed)
    properties = first_run(engine, "DataQualityBaseline", records)
    prefix = output_prefix("DataQualityBaseline")
    assert properties == {
        "CalculatedBaselineStatistics": f"{prefix}/statistics.json",
        "CalculatedBaselineConstraints": f"{prefix}/constraints.json",
        "BaselineUsedForDriftCheckStatistics": f"{prefix}/statistics.json",
        "BaselineUsedForDriftCheckConstraints": f"{prefix}/constraints.json",
    }
    statistics = json.loads(engine.s3.get_bytes(properties["CalculatedBaselineStatistics"]))
    assert list(schema("statistics").iter_errors(statistics)) == []
    assert statistics["dataset"]["item_count"] == len(records)
    constraints = json.loads(engine.s3.get_bytes(properties["CalculatedBaselineConstraints"]))
    assert list(schema("constraints").iter_errors(constraints)) == []
    assert not engine.s3.exists(f"{prefix}/constraint_violations.json")  # no check asked for


@pytest.mark.parametrize("register_new", [True, False], ids=["register-new", "keep-supplied"])
def test_check_against_a_supplied_baseline(
    engine: Engine,
    penguins_processed: Path,
    first_data_quality_run: tuple[Path, dict[str, Any]],
    register_new: bool,
) -> None:
    base = data_quality_baseline(engine, first_data_quality_run)
    supplied = {
        "SuppliedBaselineStatistics": engine.s3.uri(engine.root / "s3/supplied/statistics.json"),
        "SuppliedBaselineConstraints": engine.s3.uri(engine.root / "s3/supplied/constraints.json"),
    }
    engine.s3.put_bytes(
        supplied["SuppliedBaselineStatistics"],
        engine.s3.get_bytes(base["CalculatedBaselineStatistics"]),
    )
    engine.s3.put_bytes(
        supplied["SuppliedBaselineConstraints"],
        engine.s3.get_bytes(base["CalculatedBaselineConstraints"]),
    )
    engine.put_dataset("DataQualityBaseline", traffic(penguins_processed))
    ctx = engine.context(
        "DataQualityBaseline", SkipCheck=False, RegisterNewBaseline=register_new, **supplied
    )
    properties = quality_check.run(ctx)
    prefix = output_prefix("DataQualityBaseline")
    report = json.loads(engine.s3.get_bytes(f"{prefix}/constraint_violations.json"))
    assert report == {"violations": []}
    assert properties["CalculatedBaselineStatistics"] == f"{prefix}/statistics.json"
    expected = (
        (f"{prefix}/statistics.json", f"{prefix}/constraints.json")
        if register_new
        else (supplied["SuppliedBaselineStatistics"], supplied["SuppliedBaselineConstraints"])
    )
    assert used(properties) == expected


def test_violations_fail_the_step_and_name_the_features(
    engine: Engine,
    penguins_processed: Path,
    first_data_quality_run: tuple[Path, dict[str, Any]],
    registry: Any,
) -> None:
    base = data_quality_baseline(engine, first_data_quality_run)
    arn = register(registry, "ModelDataQuality", base)
    engine.put_dataset(
        "DataQualityBaseline", rename_biscoe(shift_culmen_length(traffic(penguins_processed)))
    )
    ctx = engine.context("DataQualityBaseline", SkipCheck=False, RegisterNewBaseline=False)
    with pytest.raises(StepFailed) as failed:
        quality_check.run(ctx)
    message = str(failed.value)
    report = f"{output_prefix('DataQualityBaseline')}/constraint_violations.json"
    assert message.startswith(
        "QualityCheck DataQualityBaseline (DATA_QUALITY): 3 violation(s) against the latest "
        f"Approved package {arn}:\n"
        "  island: categorical_values_check: Data content requirement is not met."
    )
    assert "\n  island: baseline_drift_check: Baseline drift distance: " in message
    assert "\n  culmen_length_mm: baseline_drift_check: Baseline drift distance: " in message
    assert f"\n  report: {report}\n  fix: if the change is intended, run with SkipCheck" in message
    uploaded = json.loads(engine.s3.get_bytes(report))["violations"]  # before failing
    assert len(uploaded) == 3


@pytest.mark.parametrize(
    ("flags", "checked"),
    [
        pytest.param({"SkipCheck": False, "FailOnViolation": False}, True, id="check-not-failing"),
        pytest.param({"SkipCheck": True}, False, id="skip-check"),
    ],
)
def test_drifted_data_keep_the_registered_baseline(
    engine: Engine,
    penguins_processed: Path,
    first_data_quality_run: tuple[Path, dict[str, Any]],
    registry: Any,
    flags: dict[str, bool],
    checked: bool,
) -> None:
    base = data_quality_baseline(engine, first_data_quality_run)
    register(registry, "ModelDataQuality", base)
    engine.put_dataset("DataQualityBaseline", shift_culmen_length(traffic(penguins_processed)))
    ctx = engine.context("DataQualityBaseline", RegisterNewBaseline=False, **flags)
    properties = quality_check.run(ctx)
    assert used(properties) == used(base)  # carried over from the registry
    report = f"{output_prefix('DataQualityBaseline')}/constraint_violations.json"
    assert engine.s3.exists(report) == checked
    logged = ctx.log_path.read_text().count("violation: culmen_length_mm: baseline_drift_check")
    assert logged == int(checked)


@pytest.mark.parametrize(
    ("status", "why"),
    [
        pytest.param(
            None, "model package group 'penguins' has no Approved package", id="empty-registry"
        ),
        pytest.param(
            "PendingManualApproval",
            "model package group 'penguins' has no Approved package",
            id="only-pending",
        ),
    ],
)
def test_no_previous_baseline_is_a_clear_failure(
    engine: Engine,
    first_data_quality_run: tuple[Path, dict[str, Any]],
    registry: Any,
    status: str | None,
    why: str,
) -> None:
    base = data_quality_baseline(engine, first_data_quality_run)
    if status:
        register(registry, "ModelDataQuality", base, status=status)
    with pytest.raises(StepFailed) as failed:
        quality_check.run(
            engine.context("DataQualityBaseline", SkipCheck=False, RegisterNewBaseline=True)
        )
    assert str(failed.value) == (
        "QualityCheck DataQualityBaseline (DATA_QUALITY): no previous baseline\n"
        f"  why: SkipCheck is false, so the step needs the previous baseline, but {why}\n"
        "  fix: on a first run set SkipCheck and RegisterNewBaseline to true; or approve a package "
        "whose DriftCheckBaselines has ModelDataQuality; or supply SuppliedBaselineStatistics and "
        "SuppliedBaselineConstraints"
    )


def test_a_package_without_this_check_type_is_no_baseline(
    engine: Engine, first_data_quality_run: tuple[Path, dict[str, Any]], registry: Any
) -> None:
    base = data_quality_baseline(engine, first_data_quality_run)
    arn = register(registry, "ModelQuality", base)  # the other check type only
    why = (
        "RegisterNewBaseline is false, so the step needs the previous baseline, but the latest "
        f"Approved package {arn} has no DriftCheckBaselines.ModelDataQuality.Constraints\n"
    )
    with pytest.raises(StepFailed, match=re.escape(why)):
        quality_check.run(
            engine.context("DataQualityBaseline", SkipCheck=True, RegisterNewBaseline=False)
        )


def test_supplied_baseline_that_does_not_exist(engine: Engine, penguins_processed: Path) -> None:
    engine.put_dataset("DataQualityBaseline", traffic(penguins_processed))
    missing = f"{BUCKET}/nowhere/constraints.json"
    ctx = engine.context(
        "DataQualityBaseline", SkipCheck=False, RegisterNewBaseline=True,
        SuppliedBaselineConstraints=missing,
    )  # fmt: skip
    with pytest.raises(StepFailed) as failed:
        quality_check.run(ctx)
    assert str(failed.value) == (
        f"QualityCheck DataQualityBaseline: the previous baseline's constraints {missing} cannot "
        f"be read\n  why: no object or prefix at {missing}\n"
        "  fix: point the baseline at an existing statistics/constraints file"
    )


def test_analyzer_failure_shows_its_error(engine: Engine) -> None:
    uri = dataset_uri("DataQualityBaseline", engine.execution)
    engine.s3.put_bytes(uri, b"p0,p1,p2\n0,16\n")
    ctx = engine.context("DataQualityBaseline", SkipCheck=True, RegisterNewBaseline=True)
    with pytest.raises(StepFailed) as failed:
        quality_check.run(ctx)
    message = str(failed.value)
    assert message.startswith(
        f"QualityCheck DataQualityBaseline: the analyzer (analyzer.py) exited 2\n"
        f"  last lines of its log {ctx.log_path}:\n"
    )
    assert "data-quality.csv:2: 2 fields, the header has 3" in message
    assert not engine.s3.exists(f"{output_prefix('DataQualityBaseline')}/statistics.json")


def test_missing_dataset_names_the_input(engine: Engine) -> None:
    with pytest.raises(
        StepFailed,
        match=r"^QualityCheck DataQualityBaseline, input 'baseline_dataset_input': "
        r"the dataset cannot be read\n  why: no object or prefix at s3://",
    ):
        quality_check.run(
            engine.context("DataQualityBaseline", SkipCheck=True, RegisterNewBaseline=True)
        )


def test_non_boolean_flag_is_refused(engine: Engine) -> None:
    with pytest.raises(
        StepFailed,
        match=r"^QualityCheck DataQualityBaseline: SkipCheck is 'false'\n"
        r"  why: SageMaker takes a boolean",
    ):
        quality_check.run(engine.context("DataQualityBaseline", SkipCheck="false"))


# --- model quality ----------------------------------------------------------------------------


def test_model_quality_baseline_then_a_worse_model_fails(
    engine: Engine, penguins_processed: Path, registry: Any
) -> None:
    records = transform_records(penguins_processed)
    base = first_run(engine, "ModelQualityBaseline", records)
    statistics = json.loads(engine.s3.get_bytes(base["CalculatedBaselineStatistics"]))
    accuracy = sum(r["ground_truth"] == r["SageMakerOutput"]["label"] for r in records) / len(
        records
    )
    assert statistics["multiclass_classification_metrics"]["accuracy"]["value"] == pytest.approx(
        accuracy
    )
    arn = register(registry, "ModelQuality", base)
    engine.put_dataset("ModelQualityBaseline", degrade(records, every=4))
    with pytest.raises(StepFailed) as failed:
        quality_check.run(
            engine.context("ModelQualityBaseline", SkipCheck=False, RegisterNewBaseline=True)
        )
    message = str(failed.value)
    assert message.startswith(
        f"QualityCheck ModelQualityBaseline (MODEL_QUALITY): 6 violation(s) against the latest "
        f"Approved package {arn}:\n  accuracy: LessThanThreshold: Metric accuracy with "
    )
    for metric in [
        "weighted_recall",
        "weighted_precision",
        "weighted_f0_5",
        "weighted_f1",
        "weighted_f2",
    ]:
        assert f"\n  {metric}: LessThanThreshold: Metric {metric} with " in message

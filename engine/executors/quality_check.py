"""QualityCheck steps: the analyzer job, then SageMaker's baseline and drift-check rules.

The step's Arguments are a Processing job (the dataset input, one output, the analyzer's
Environment); instead of the Model Monitor image the engine runs the project's analyzer script
(components/quality_check/scripts/analyzer.py) with those inputs and environment, in the job's
container filesystem as for Processing steps (engine/container_fs.py).

The rules, as SageMaker documents them ("Baseline calculation, drift detection and lifecycle with
ClarifyCheck and QualityCheck steps"):
- the new baseline is always calculated: CalculatedBaselineStatistics/Constraints point at the
  job's statistics.json and constraints.json;
- SkipCheck false: the data are checked against the previous baseline, which is the supplied one
  (SuppliedBaselineStatistics/Constraints) or else the DriftCheckBaselines of the latest Approved
  package in ModelPackageGroupName; with violations and FailOnViolation true the step fails;
- BaselineUsedForDriftCheckStatistics/Constraints are the new baseline when RegisterNewBaseline
  is true, else the previous one (so SkipCheck false or RegisterNewBaseline false needs one).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.container_fs import ContainerFs
from engine.executors.base import StepContext, StepFailed
from engine.process import log_tail

ANALYZER_ASSET = "quality-check-analyzer"  # the bundle asset the analyzer ships as
# The DriftCheckBaselines entry each check type reads and registers.
BASELINE_KEYS = {"DATA_QUALITY": "ModelDataQuality", "MODEL_QUALITY": "ModelQuality"}
METRICS_DIR = "/opt/ml/output/metrics/cloudwatch"  # where the analyzer puts CloudWatch records
BASELINE_DIR = "/opt/ml/processing/baseline"  # where the previous baseline's files are put
LOG_TAIL = 15
REPO = Path(__file__).resolve().parents[2]
REPO_ANALYZER = REPO / "components/quality_check/scripts/analyzer.py"  # run, never imported


def entry_script(path: Path) -> Path:
    """A job's script in local S3: the file itself, or the one script at a folder asset's top
    (its modules are in the folders beside it)."""
    scripts = sorted(path.glob("*.py")) if path.is_dir() else [path]
    return scripts[0] if len(scripts) == 1 else path


def analyzer_script(ctx: StepContext) -> tuple[Path, dict[str, str]]:
    """The analyzer the job runs, and what its environment adds: the bundle's
    `quality-check-analyzer` asset in local S3; for a definition our compiler did not write
    (the SDK's QualityCheckStep names Model Monitor's image, no asset), this checkout's analyzer,
    its modules found from the repository's root."""
    uri = ctx.assets.get(ANALYZER_ASSET)
    if uri is None:
        return REPO_ANALYZER, {"PYTHONPATH": os.pathsep.join([str(REPO), *_pythonpath()])}
    return entry_script(ctx.s3.path(uri)), {}


def _pythonpath() -> list[str]:
    return [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]


@dataclass(frozen=True)
class Baseline:
    """A previous baseline: S3 URIs of its files, and where it came from (for messages)."""

    statistics: str | None
    constraints: str
    origin: str


def _flag(ctx: StepContext, key: str, default: bool | None = None) -> bool:
    value = ctx.definition.get(key, default)
    if not isinstance(value, bool):
        raise StepFailed.because(
            f"QualityCheck {ctx.step_name}",
            f"{key} is {value!r}",
            "SageMaker takes a boolean (or a Boolean pipeline parameter) there",
            f"set {key} to true or false in the definition",
        )
    return value


def previous_baseline(ctx: StepContext, check_type: str) -> Baseline | str:
    """The baseline to check against, or why there is none."""
    supplied = ctx.definition.get("SuppliedBaselineConstraints")
    if supplied:
        statistics = ctx.definition.get("SuppliedBaselineStatistics") or None
        return Baseline(statistics, str(supplied), "the supplied baseline (SuppliedBaseline*)")
    group = ctx.definition.get("ModelPackageGroupName")
    if not group:
        return "no SuppliedBaselineConstraints and no ModelPackageGroupName to look one up in"
    from engine.registry import Registry  # the registry only when a baseline is needed

    package = Registry(ctx.root / "registry.sqlite").latest_approved(str(group))
    if package is None:
        return f"model package group {group!r} has no Approved package"
    entry = package.drift_check_baselines.get(BASELINE_KEYS[check_type]) or {}
    constraints = (entry.get("Constraints") or {}).get("S3Uri")
    if not constraints:
        return (
            f"the latest Approved package {package.arn} has no "
            f"DriftCheckBaselines.{BASELINE_KEYS[check_type]}.Constraints"
        )
    statistics = (entry.get("Statistics") or {}).get("S3Uri")
    return Baseline(statistics, str(constraints), f"the latest Approved package {package.arn}")


def _environment(fs: ContainerFs, environment: dict[str, Any]) -> dict[str, str]:
    mapped = {
        key: fs.seen(str(value)) if str(value).startswith("/opt/ml/") else str(value)
        for key, value in environment.items()
    }
    return {**os.environ, **mapped, "cloudwatch_metrics_directory": fs.seen(METRICS_DIR)}


def _fetch(ctx: StepContext, fs: ContainerFs, uri: str, what: str) -> str:
    """Give the job a baseline file; its path as the job sees it."""
    target = f"{BASELINE_DIR}/{what}"
    try:
        fs.stage(ctx.s3, uri, target)
    except (FileNotFoundError, ValueError) as exc:
        raise StepFailed.because(
            f"QualityCheck {ctx.step_name}",
            f"the previous baseline's {what} {uri} cannot be read",
            str(exc),
            "point the baseline at an existing statistics/constraints file",
        ) from None
    return fs.seen(f"{target}/{uri.rsplit('/', 1)[-1]}")


def _log_tail(ctx: StepContext, offset: int) -> str:
    return "\n".join(f"    {line}" for line in log_tail(ctx.log_path, offset, LOG_TAIL))


def _run_analyzer(ctx: StepContext, fs: ContainerFs, env: dict[str, str]) -> None:
    limit = ctx.arguments.get("StoppingCondition", {}).get("MaxRuntimeInSeconds")
    offset = ctx.log_path.stat().st_size if ctx.log_path.exists() else 0
    script, extra = analyzer_script(ctx)
    argv = [sys.executable, str(script)]
    code = ctx.run_process(argv, env={**env, **extra}, cwd=ctx.work, timeout=limit, fs=fs)
    if code != 0:
        raise StepFailed(
            f"QualityCheck {ctx.step_name}: the analyzer ({script.name}) exited {code}\n"
            f"  last lines of its log {ctx.log_path}:\n{_log_tail(ctx, offset)}"
        )


def _output(ctx: StepContext) -> tuple[str, str]:
    """(container LocalPath, S3Uri) of the job's one output."""
    outputs = ctx.arguments.get("ProcessingOutputConfig", {}).get("Outputs", [])
    if len(outputs) != 1:
        raise StepFailed.because(
            f"QualityCheck {ctx.step_name}",
            f"{len(outputs)} ProcessingOutputConfig.Outputs",
            "the quality check job writes its reports to exactly one output",
            "give the step one output (quality_check_output)",
        )
    s3_output = outputs[0]["S3Output"]
    return str(s3_output["LocalPath"]), str(s3_output["S3Uri"]).rstrip("/")


def _violations_failure(
    ctx: StepContext, check_type: str, baseline: Baseline, report: str, violations: list[Any]
) -> str:
    lines = [
        f"  {v.get('feature_name') or v.get('metric_name')}: {v['constraint_check_type']}: "
        f"{v['description']}"
        for v in violations
    ]
    return (
        f"QualityCheck {ctx.step_name} ({check_type}): {len(violations)} violation(s) against "
        f"{baseline.origin}:\n" + "\n".join(lines) + f"\n  report: {report}\n"
        "  fix: if the change is intended, run with SkipCheck and RegisterNewBaseline true to "
        "take the new baseline; or set FailOnViolation false to record violations without failing"
    )


def run(ctx: StepContext) -> dict[str, Any]:
    check_type = ctx.definition.get("CheckType")
    if check_type not in BASELINE_KEYS:
        raise StepFailed.because(
            f"QualityCheck {ctx.step_name}",
            f"CheckType {check_type!r}",
            "a quality check is of data or of model quality",
            "use DATA_QUALITY or MODEL_QUALITY",
        )
    skip, register = _flag(ctx, "SkipCheck"), _flag(ctx, "RegisterNewBaseline")
    fail_on_violation = _flag(ctx, "FailOnViolation", default=True)
    baseline: Baseline | None = None
    if not skip or not register:
        found = previous_baseline(ctx, check_type)
        if isinstance(found, str):
            needs = "SkipCheck is false" if not skip else "RegisterNewBaseline is false"
            raise StepFailed.because(
                f"QualityCheck {ctx.step_name} ({check_type})",
                "no previous baseline",
                f"{needs}, so the step needs the previous baseline, but {found}",
                "on a first run set SkipCheck and RegisterNewBaseline to true; or approve "
                f"a package whose DriftCheckBaselines has {BASELINE_KEYS[check_type]}; or supply "
                "SuppliedBaselineStatistics and SuppliedBaselineConstraints",
            )
        baseline = found
    fs = ContainerFs(ctx.work, f"QualityCheck {ctx.step_name}")
    for item in ctx.arguments.get("ProcessingInputs", []):
        s3_input = item.get("S3Input")
        if s3_input is None:
            raise StepFailed.because(
                f"QualityCheck {ctx.step_name}, input {item.get('InputName')!r}",
                "no S3Input",
                "the local engine reads datasets from S3 only",
                "give the dataset as an S3Input",
            )
        try:
            fs.stage(ctx.s3, str(s3_input["S3Uri"]), str(s3_input["LocalPath"]))
        except (FileNotFoundError, ValueError) as exc:
            raise StepFailed.because(
                f"QualityCheck {ctx.step_name}, input {item.get('InputName')!r}",
                "the dataset cannot be read",
                str(exc),
                "check the step that writes the dataset (the input's S3Uri)",
            ) from None
    local_output, output_uri = _output(ctx)
    fs.host(local_output).mkdir(parents=True, exist_ok=True)
    env = _environment(fs, ctx.arguments.get("Environment", {}))
    if not skip and baseline is not None:
        env["baseline_constraints"] = _fetch(ctx, fs, baseline.constraints, "constraints")
        if baseline.statistics:
            env["baseline_statistics"] = _fetch(ctx, fs, baseline.statistics, "statistics")
    _run_analyzer(ctx, fs, env)
    ctx.s3.upload(fs.host(local_output), output_uri)
    calculated = (f"{output_uri}/statistics.json", f"{output_uri}/constraints.json")
    if not skip and baseline is not None:
        report = f"{output_uri}/constraint_violations.json"
        violations = json.loads(ctx.s3.get_bytes(report))["violations"]
        ctx.log(f"{ctx.step_name}: {len(violations)} violation(s) against {baseline.origin}")
        if violations and fail_on_violation:
            raise StepFailed(_violations_failure(ctx, check_type, baseline, report, violations))
    used = (
        calculated if register or baseline is None else (baseline.statistics, baseline.constraints)
    )
    return {
        "CalculatedBaselineStatistics": calculated[0],
        "CalculatedBaselineConstraints": calculated[1],
        "BaselineUsedForDriftCheckStatistics": used[0],
        "BaselineUsedForDriftCheckConstraints": used[1],
    }

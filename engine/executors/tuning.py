"""Tuning steps: real training trials, ranked the way SageMaker ranks them.

MaxNumberOfTrainingJobs trials run, MaxParallelTrainingJobs at a time, each a full training job
(engine.executors.training) whose objective is the last value its log gives for the objective
metric's regex. Hyperparameters are drawn from the ranges with their ScalingType (Auto is
Linear, as SageMaker's Auto may choose). Strategies: Random draws each trial independently;
Bayesian, which needs SageMaker's model of the objective, is stood in for by the same seeded
random draws (so trials stay independent and can run in parallel); Grid enumerates the
categorical ranges. The seed is the tuning configuration's hash: the same definition draws
the same trials. TrainingJobSummaries list completed trials best first (by objective, following
Maximize/Minimize; ties by start order), then failed ones; BestTrainingJob is the first.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import random
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from engine import process
from engine.executors.base import StepContext, StepFailed
from engine.executors.training import run_training_job

STRATEGIES = ("Random", "Bayesian", "Grid")


def run(ctx: StepContext) -> dict[str, Any]:
    config = ctx.arguments["HyperParameterTuningJobConfig"]
    definition = ctx.arguments["TrainingJobDefinition"]
    strategy = str(config.get("Strategy", "Bayesian"))
    if strategy not in STRATEGIES:
        raise StepFailed(f"Strategy {strategy!r}: the local engine runs {', '.join(STRATEGIES)}")
    limits = config["ResourceLimits"]
    objective = config["HyperParameterTuningJobObjective"]
    metric_names = [m["Name"] for m in definition["AlgorithmSpecification"]["MetricDefinitions"]]
    if objective["MetricName"] not in metric_names:
        raise StepFailed(
            f"HyperParameterTuningJobObjective.MetricName {objective['MetricName']!r} is not in "
            f"MetricDefinitions ({', '.join(metric_names)})"
        )
    tuning_name = f"{ctx.execution_id}-{ctx.step_name}".lower()[:32].rstrip("-")
    points = draw(
        config["ParameterRanges"],
        strategy,
        int(limits["MaxNumberOfTrainingJobs"]),
        seed=json.dumps(config, sort_keys=True),
    )
    trials = [
        (f"{tuning_name}-{i + 1:03d}-{_short_hash(tuning_name, i)}", p)
        for i, p in enumerate(points)
    ]
    ctx.log(
        f"tuning job {tuning_name}: {len(trials)} trials, "
        f"{limits['MaxParallelTrainingJobs']} at a time, strategy {strategy}"
    )

    def trial(job: str, tuned: dict[str, str]) -> dict[str, Any]:
        return _run_trial(ctx, definition, objective, job, tuned)

    with ThreadPoolExecutor(max_workers=int(limits["MaxParallelTrainingJobs"])) as pool:
        summaries = list(pool.map(lambda t: trial(*t), trials))
    ranked = rank(summaries, str(objective["Type"]))
    if not ranked or ranked[0]["TrainingJobStatus"] != "Completed":
        reasons = "; ".join(f"{s['TrainingJobName']}: {s['FailureReason']}" for s in ranked)
        raise StepFailed(f"tuning job {tuning_name}: no trial completed ({reasons})")
    counts = {"Completed": 0, "Failed": 0}
    for summary in ranked:
        counts[summary["TrainingJobStatus"]] += 1
    return {
        "HyperParameterTuningJobName": tuning_name,
        "HyperParameterTuningJobArn": ranked[0]["TrainingJobArn"].replace(
            f"training-job/{ranked[0]['TrainingJobName']}",
            f"hyper-parameter-tuning-job/{tuning_name}",
        ),
        "HyperParameterTuningJobStatus": "Completed",
        "HyperParameterTuningJobConfig": config,
        "TrainingJobDefinition": definition,
        "TrainingJobSummaries": ranked,
        "BestTrainingJob": ranked[0],
        "TrainingJobStatusCounters": counts,
    }


def draw(ranges: dict[str, Any], strategy: str, count: int, seed: str) -> list[dict[str, str]]:
    """`count` hyperparameter points (values as the strings SageMaker passes)."""
    categorical = ranges.get("CategoricalParameterRanges", [])
    if strategy == "Grid":
        if ranges.get("ContinuousParameterRanges") or ranges.get("IntegerParameterRanges"):
            raise StepFailed("Grid strategy: only categorical ranges can be enumerated")
        grid = itertools.product(
            *[[(r["Name"], v) for r in [r] for v in r["Values"]] for r in categorical]
        )
        return [dict(point) for point in itertools.islice(grid, count)]
    rng = random.Random(hashlib.sha256(seed.encode()).hexdigest())
    points = []
    for _ in range(count):
        point = {}
        for r in ranges.get("ContinuousParameterRanges", []):
            point[r["Name"]] = repr(_scaled(rng, float(r["MinValue"]), float(r["MaxValue"]), r))
        for r in ranges.get("IntegerParameterRanges", []):
            low, high = int(r["MinValue"]), int(r["MaxValue"])
            point[r["Name"]] = str(min(high, max(low, round(_scaled(rng, low, high + 0.999, r)))))
        for r in categorical:
            point[r["Name"]] = str(rng.choice(r["Values"]))
        points.append(point)
    return points


def rank(summaries: list[dict[str, Any]], direction: str) -> list[dict[str, Any]]:
    """Completed trials best first (Maximize: highest objective), then failed ones, stable."""
    sign = -1.0 if direction == "Maximize" else 1.0

    def key(item: tuple[int, dict[str, Any]]) -> tuple[int, float, int]:
        index, summary = item
        metric = summary.get("FinalHyperParameterTuningJobObjectiveMetric")
        if summary["TrainingJobStatus"] != "Completed" or metric is None:
            return (1, 0.0, index)
        return (0, sign * float(metric["Value"]), index)

    return [summary for _, summary in sorted(enumerate(summaries), key=key)]


def _scaled(rng: random.Random, low: float, high: float, spec: dict[str, Any]) -> float:
    scaling = spec.get("ScalingType", "Auto")
    u = rng.random()
    if scaling == "Logarithmic" and low > 0:
        return math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
    if scaling == "ReverseLogarithmic" and high < 1:
        return 1 - math.exp(math.log(1 - high) + u * (math.log(1 - low) - math.log(1 - high)))
    return low + u * (high - low)


def _short_hash(name: str, index: int) -> str:
    return hashlib.sha256(f"{name}/{index}".encode()).hexdigest()[:8]


def _run_trial(
    ctx: StepContext,
    definition: dict[str, Any],
    objective: dict[str, Any],
    job: str,
    tuned: dict[str, str],
) -> dict[str, Any]:
    started = datetime.now(UTC).isoformat()
    arguments = {
        **definition,
        "HyperParameters": {**definition.get("StaticHyperParameters", {}), **tuned},
    }
    log_path = ctx.log_path.parent / "jobs" / f"{job}.log"
    summary: dict[str, Any] = {
        "TrainingJobName": job,
        "TrainingJobArn": ctx.arn(f"training-job/{job}"),
        "TunedHyperParameters": tuned,
        "CreationTime": started,
        "TrainingStartTime": started,
    }
    ctx.log(f"trial {job} {tuned}: started (log: {log_path})")
    try:
        described = run_training_job(ctx, job, arguments, ctx.work / "trials" / job, log_path)
    except StepFailed as exc:
        if process.stopping():
            raise
        ctx.log(f"trial {job}: Failed: {exc}")
        return {
            **summary,
            "TrainingJobStatus": "Failed",
            "FailureReason": str(exc),
            "TrainingEndTime": datetime.now(UTC).isoformat(),
        }
    values = {m["MetricName"]: m["Value"] for m in described["FinalMetricDataList"]}
    summary["TrainingJobArn"] = described["TrainingJobArn"]
    summary["TrainingEndTime"] = described["TrainingEndTime"]
    if objective["MetricName"] not in values:
        reason = f"the log never matched the objective metric {objective['MetricName']!r}'s regex"
        ctx.log(f"trial {job}: Failed: {reason}")
        return {**summary, "TrainingJobStatus": "Failed", "FailureReason": reason}
    value = values[objective["MetricName"]]
    ctx.log(f"trial {job}: {objective['MetricName']} = {value}")
    return {
        **summary,
        "TrainingJobStatus": "Completed",
        "ObjectiveStatus": "Succeeded",
        "FinalHyperParameterTuningJobObjectiveMetric": {
            "MetricName": objective["MetricName"],
            "Value": value,
            "Type": objective["Type"],
        },
    }

"""Step caching by SageMaker's rules: which fields form a step's cache key, and when it expires.

SageMaker reuses a step's earlier successful run when the step has
`CacheConfig: {"Enabled": true, "ExpireAfter": <ISO 8601 duration>}` and the attributes below,
resolved, equal that run's (docs: "Default cache key attributes by pipeline step type",
https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-default-keys.html). Anything else
(output locations, instance types, job names) may change without a rerun. Step types missing
here (Condition, Fail, Model, RegisterModel, Lambda) are never cached, as on SageMaker.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta
from typing import Any

from engine.executions import Execution

# Arguments keys per step type; a tuple names a nested key (Tuning's TrainingJobDefinition).
KEY_FIELDS: dict[str, tuple[str | tuple[str, ...], ...]] = {
    "Processing": ("AppSpecification", "Environment", "ProcessingInputs"),
    "Training": (
        "AlgorithmSpecification",
        "CheckpointConfig",
        "DebugHookConfig",
        "DebugRuleConfigurations",
        "Environment",
        "HyperParameters",
        "InputDataConfig",
    ),
    "Tuning": (
        "HyperParameterTuningJobConfig",
        ("TrainingJobDefinition", "AlgorithmSpecification"),
        ("TrainingJobDefinition", "HyperParameterRanges"),
        ("TrainingJobDefinition", "InputDataConfig"),
        ("TrainingJobDefinition", "StaticHyperParameters"),
        ("TrainingJobDefinition", "TuningObjective"),
        "TrainingJobDefinitions",
    ),
    "Transform": ("DataProcessing", "Environment", "ModelName", "TransformInput"),
}
# QualityCheck's key is its check configuration and these step-level fields.
QUALITY_CHECK_FIELDS = (
    "CheckType",
    "SkipCheck",
    "RegisterNewBaseline",
    "ModelPackageGroupName",
    "SuppliedBaselineConstraints",
    "SuppliedBaselineStatistics",
)
_DURATION = re.compile(
    r"P?(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?",
    re.IGNORECASE,
)
_DAYS = {"years": 365, "months": 30, "weeks": 7, "days": 1}
_SECONDS = {"hours": 3600, "minutes": 60, "seconds": 1}


class CacheConfigError(ValueError):
    """A CacheConfig SageMaker would reject."""


def cache_key(step_type: str, definition: dict[str, Any]) -> str | None:
    """The sha256 of the resolved key fields of a step, or None for a type that is never cached."""
    arguments = definition.get("Arguments", {})
    if step_type == "QualityCheck":
        fields: dict[str, Any] = {"Arguments": arguments}
        fields.update({name: definition.get(name) for name in QUALITY_CHECK_FIELDS})
    elif step_type in KEY_FIELDS:
        fields = {}
        for name in KEY_FIELDS[step_type]:
            path = (name,) if isinstance(name, str) else name
            value: Any = arguments
            for part in path:
                value = value.get(part) if isinstance(value, dict) else None
            fields[".".join(path)] = value
    else:
        return None
    canonical = json.dumps([step_type, fields], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def expire_after(text: str) -> timedelta:
    """An ISO 8601 duration ('PT1H', 'P30D') or SageMaker's short form ('30d', 'T16m').

    Raises:
        CacheConfigError: anything else, or a zero duration.
    """
    match = _DURATION.fullmatch(text.strip())
    parts = {k: int(v) for k, v in match.groupdict().items() if v} if match else {}
    if not parts:
        raise CacheConfigError(
            f"ExpireAfter {text!r} is not an ISO 8601 duration (e.g. 'PT1H', 'P30D', 'T16m')"
        )
    days = sum(_DAYS[k] * v for k, v in parts.items() if k in _DAYS)
    seconds = sum(_SECONDS[k] * v for k, v in parts.items() if k in _SECONDS)
    return timedelta(days=days, seconds=seconds)


def find_cached(
    executions: list[Execution], step: str, key: str, ttl: timedelta, at: datetime
) -> tuple[Execution, dict[str, Any]] | None:
    """The newest successful, unexpired run of `step` with cache key `key`, if any."""
    for execution in reversed(executions):
        record = execution.record(step)
        if not record or record.get("StepStatus") != "Succeeded" or record.get("CacheKey") != key:
            continue
        if "CacheHitResult" in record:
            continue  # a hit points at the run that did the work; that one is found on its own
        ended = datetime.fromisoformat(record["EndTime"])
        if at - ended <= ttl:
            return execution, record
    return None

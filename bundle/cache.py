"""Which fields of a step form SageMaker Pipelines' cache key, by step type.

From AWS's "Caching pipeline steps" page, section "Default cache key attributes by pipeline
step type" (https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-caching.html,
https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-default-keys.html). A step with
`CacheConfig: {"Enabled": true, ...}` is reused from an earlier successful run of the same
pipeline, within `ExpireAfter`, when these fields are equal; a change anywhere else (instance
types, output locations, stopping conditions, retry policies) does not make it run again.
Only the types below can be cached; every other step (Condition, Fail, Lambda, Model,
RegisterModel, Callback, ...) and every step without caching turned on runs on every execution.

CACHE_KEYS below is AWS's list with each attribute written as its path in the step: the
job's fields sit under `Arguments` (`Arguments.ProcessingInputs`); for ClarifyCheck and
QualityCheck, the SDK's ClarifyCheckConfig/QualityCheckConfig and CheckJobConfig are rendered
together as `Arguments` (the processing job) and `CheckType`, while SkipCheck,
RegisterNewBaseline, ModelPackageGroupName and the supplied baselines are step fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

DOCS = "https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-default-keys.html"


def arguments(*fields: str) -> tuple[str, ...]:
    return tuple(f"Arguments.{field}" for field in fields)


CHECK_FIELDS = (
    "Arguments",
    "CheckType",
    "SkipCheck",
    "RegisterNewBaseline",
    "ModelPackageGroupName",
)

CACHE_KEYS: dict[str, tuple[str, ...]] = {
    "Processing": arguments("AppSpecification", "Environment", "ProcessingInputs"),
    "Training": arguments(
        "AlgorithmSpecification",
        "CheckpointConfig",
        "DebugHookConfig",
        "DebugRuleConfigurations",
        "Environment",
        "HyperParameters",
        "InputDataConfig",
    ),
    "Tuning": arguments(
        "HyperParameterTuningJobConfig",
        "TrainingJobDefinition.AlgorithmSpecification",
        "TrainingJobDefinition.HyperParameterRanges",
        "TrainingJobDefinition.InputDataConfig",
        "TrainingJobDefinition.StaticHyperParameters",
        "TrainingJobDefinition.TuningObjective",
        "TrainingJobDefinitions",
    ),
    "AutoML": arguments(
        "AutoMLJobConfig.CompletionCriteria",
        "AutoMLJobConfig.CandidateGenerationConfig",
        "AutoMLJobConfig.DataSplitConfig",
        "AutoMLJobConfig.Mode",
        "AutoMLJobObjective",
        "InputDataConfig",
        "ProblemType",
    ),
    "Transform": arguments("DataProcessing", "Environment", "ModelName", "TransformInput"),
    "ClarifyCheck": (*CHECK_FIELDS, "SuppliedBaselineConstraints"),
    "QualityCheck": (*CHECK_FIELDS, "SuppliedBaselineConstraints", "SuppliedBaselineStatistics"),
    "EMR": arguments("ClusterId", "StepConfig"),
}


def is_cacheable(step_type: str) -> bool:
    return step_type in CACHE_KEYS


def cache_key_fields(step_type: str) -> tuple[str, ...]:
    """The dotted paths in a step of this type that form its cache key; () if never cached."""
    return CACHE_KEYS.get(step_type, ())


def covers(key: str, path: str) -> bool:
    """Whether a change at `path` (`Arguments.ProcessingInputs[code].S3Input`) touches `key`."""
    if path == key:
        return True
    if path.startswith(key) and path[len(key)] in ".[":
        return True
    return key.startswith(path) and key[len(path)] == "."


def field_name(step_type: str, key: str) -> str:
    """AWS's name for a key field: `ProcessingInputs`, `QualityCheckConfig/CheckJobConfig`."""
    if key == "Arguments":
        return f"{step_type}Config/CheckJobConfig (Arguments)"
    return key.removeprefix("Arguments.")


def changed_key_fields(step_type: str, changed_paths: Iterable[str]) -> tuple[str, ...]:
    """The cache key fields that the changes touch, in table order."""
    paths = list(changed_paths)
    return tuple(k for k in cache_key_fields(step_type) if any(covers(k, p) for p in paths))


def affects_cache(step_type: str, changed_paths: Iterable[str]) -> bool:
    """Whether changes at these paths make a cached step of this type run again."""
    return bool(changed_key_fields(step_type, changed_paths))


def caching_enabled(step: dict[str, Any]) -> bool:
    """Whether the step asks to be cached (and its type can be)."""
    config = step.get("CacheConfig")
    return (
        is_cacheable(str(step.get("Type")))
        and isinstance(config, dict)
        and config.get("Enabled") is True
    )


def cache_key_values(step: dict[str, Any]) -> dict[str, Any]:
    """The step's cache key: each key field present in the step -> its value, as written."""
    values = {}
    for key in cache_key_fields(str(step.get("Type"))):
        node: Any = step
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            values[key] = node
    return values

"""Step caching by SageMaker's rules: which fields form a step's cache key, and when it expires.

SageMaker reuses a step's earlier successful run when the step has
`CacheConfig: {"Enabled": true, "ExpireAfter": <ISO 8601 duration>}` and its key fields,
resolved, equal that run's (bundle/cache.py's table, from AWS's "Default cache key attributes by
pipeline step type"). Anything else (output locations, instance types, job names) may change
without a rerun; Condition, Fail, Model, RegisterModel and Lambda steps are never cached.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta
from typing import Any

from bundle.cache import cache_key_fields, cache_key_values, is_cacheable
from engine.executions import Execution

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
    """The sha256 of the resolved key fields of a step, or None for a type that is never cached.

    The fields are bundle.cache's table (the one `python -m bundle.diff` judges changes by).
    """
    if not is_cacheable(step_type):
        return None
    values = cache_key_values({**definition, "Type": step_type})
    fields = {key: values.get(key) for key in cache_key_fields(step_type)}
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

"""Retry policies and caching: which step types take them, and the JSON they emit.

From AWS's "Retry Policy for Pipeline Steps" page (pipelines-retry-policy.html): Processing,
Training, Tuning, CreateModel (Model), RegisterModel and Transform steps take RetryPolicies;
Step.SERVICE_FAULT and Step.THROTTLING apply to all of them, the SageMaker.* job errors to the
steps that run a job, and a Tuning job retries its own trials' internal errors, so its policy
leaves SageMaker.JOB_INTERNAL_ERROR out. Caching (CacheConfig) applies to the types bundle/cache.py
lists whose cache key AWS documents; the compiler emits it for those of them it builds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kernel.ir import Step

SERVICE_ERRORS = ("Step.SERVICE_FAULT", "Step.THROTTLING")
JOB_ERRORS = (
    "SageMaker.JOB_INTERNAL_ERROR",
    "SageMaker.CAPACITY_ERROR",
    "SageMaker.RESOURCE_LIMIT",
)
RETRYABLE = ("Processing", "Training", "Tuning", "Model", "RegisterModel", "Transform")
RUNS_A_JOB = ("Processing", "Training", "Tuning", "Transform")
CACHEABLE = ("Processing", "Training", "Tuning", "Transform", "QualityCheck")


@dataclass(frozen=True)
class Retry:
    """One retry policy: the first retry after `interval_seconds`, each next one `backoff_rate`
    times later, at most `max_attempts` in all."""

    interval_seconds: int
    backoff_rate: float
    max_attempts: int


@dataclass(frozen=True)
class Policies:
    """What every step of a pipeline is given: None switches a policy off."""

    service_retry: Retry | None = None
    job_retry: Retry | None = None
    cache_expire_after: str | None = None  # an ISO 8601 duration; None: no caching


def _policy(errors: tuple[str, ...], retry: Retry) -> dict[str, Any]:
    return {
        "BackoffRate": retry.backoff_rate,
        "ExceptionType": list(errors),
        "IntervalSeconds": retry.interval_seconds,
        "MaxAttempts": retry.max_attempts,
    }


def step_policies(step_type: str, policies: Policies) -> Mapping[str, Any]:
    """The top-level keys (RetryPolicies, CacheConfig) a step of this type gets."""
    out: dict[str, Any] = {}
    retries = []
    if step_type in RETRYABLE and policies.service_retry:
        retries.append(_policy(SERVICE_ERRORS, policies.service_retry))
    if step_type in RUNS_A_JOB and policies.job_retry:
        errors = JOB_ERRORS[1:] if step_type == "Tuning" else JOB_ERRORS
        retries.append(_policy(errors, policies.job_retry))
    if retries:
        out["RetryPolicies"] = retries
    if step_type in CACHEABLE and policies.cache_expire_after:
        out["CacheConfig"] = {"Enabled": True, "ExpireAfter": policies.cache_expire_after}
    return out


def with_policies(step: Step, policies: Policies) -> Step:
    """The step, and every step in its condition branches, with their policies added."""
    return dataclasses.replace(
        step,
        extra={**step.extra, **step_policies(step.type, policies)},
        if_steps=tuple(with_policies(s, policies) for s in step.if_steps),
        else_steps=tuple(with_policies(s, policies) for s in step.else_steps),
    )

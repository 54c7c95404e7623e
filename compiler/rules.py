"""Rules across config groups, each a function of the validated config at the keys it breaks.

A group's rules across its own keys sit beside its model (compiler/schema.py), one component's
beside its settings (components/<name>/config.py); what differs per monitoring backend is asked
of the backend (compiler/monitoring.py). `RULES` lists them all, in the order they report.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import BaseModel

from compiler.monitoring import KINDS, backend
from compiler.schema import PipelineConfig
from components.evaluate.contract import BINARY as BINARY_METRICS
from components.evaluate.contract import report_contract
from components.model.contract import CONFIDENCE, PROBABILITY, record_contract
from components.quality_check.config import ModelQualityAttributes
from components.schedule.config import schedule_name
from kernel import images
from kernel.errors import Issue, did_you_mean
from kernel.frameworks import SCOPES, framework_issues
from kernel.graph import json_path_problem
from kernel.instances import USE, InstanceKind, instance_types

Rule = Callable[[PipelineConfig], list[Issue]]


def gate_metric(config: PipelineConfig) -> list[Issue]:
    """The gate's metric is a numeric path of this project's evaluation report."""
    project, metric = config.project, config.gate.metric
    why = json_path_problem(report_contract(tuple(project.classes), project.positive_class), metric)
    binary_metric = metric.split(".")[:2] in (["metrics", m] for m in BINARY_METRICS)
    if why and binary_metric and not project.binary:
        why = (
            f"only a 2-class project's report has {' and '.join(BINARY_METRICS)}, and this one "
            f"has {len(project.classes)} classes"
        )
    if not why:
        return []
    return [
        Issue(
            ("gate", "metric"),
            f"gate.metric = {metric!r}",
            f"the gate's conditions read this path from evaluation.json, but {why}",
            "use a numeric path that components/evaluate/report.schema.json requires for "
            "this project's classes, e.g. 'metrics.accuracy.value' or "
            f"'metrics.recall.per_class.{project.classes[0]}'",
        )
    ]


def framework_fits(config: PipelineConfig) -> list[Issue]:
    """The framework learns the project's data kind and tunes only its own hyperparameters."""
    tuning = config.training.tuning
    ranges = tuning.ranges if tuning else None
    return framework_issues(config.framework.name, config.project.data.kind, ranges)


def containers(config: PipelineConfig) -> list[Issue]:
    """Every container the pipeline runs must exist for its instance type and region."""
    framework, region = config.framework, config.aws.region
    issues = []
    for scope in SCOPES:
        key, instance = f"{scope}_image", getattr(framework, f"{scope}_instance_type")
        version, python = framework.image_version(scope), framework.image_python(scope)
        if getattr(framework, key) is not None or not python:
            continue  # the user's image, or no such version (Framework.problems says so)
        try:
            framework.aws_image(scope, region)
        except ValueError as exc:
            issues.append(
                Issue(
                    ("framework", f"{scope}_instance_type"),
                    f"framework = {framework.name} {version} {python} on {instance} in {region}",
                    f"no {scope} container: {exc}",
                    f"pick another framework.{scope}_instance_type (e.g. ml.m5.xlarge), "
                    f"or set framework.{key} to an image URI",
                )
            )
    preprocessing = (
        ("framework", "processing_instance_type"),
        framework.processing_instance_type,
        "preprocessing runs",
    )
    for loc, instance, job in [preprocessing, *backend(config).scikit_learn_jobs(config)]:
        try:
            images.scikit_learn_image(region, instance)
        except ValueError as exc:
            issues.append(
                Issue(
                    loc,
                    f"{'.'.join(loc)} = '{instance}'",
                    f"{job} the scikit-learn container, and {exc}",
                    "use a CPU instance type such as ml.m5.xlarge",
                )
            )
    return issues


def schedules_need_their_check(config: PipelineConfig) -> list[Issue]:
    """A schedule watches the deployed endpoint against its check's baseline."""
    monitoring, deployment = config.monitoring, config.deployment
    issues = []
    for kind in KINDS:
        check = getattr(monitoring, kind)
        if check.schedule.enabled and (not check.enabled or not deployment.enabled):
            needs = "deployment.enabled" if not deployment.enabled else f"monitoring.{kind}.enabled"
            issues.append(
                Issue(
                    ("monitoring", kind, "schedule", "enabled"),
                    f"monitoring.{kind}.schedule.enabled = true",
                    "a schedule watches the deployed endpoint against the "
                    f"{kind.replace('_', ' ')} baseline, but {needs} is false",
                    f"set {needs}=true, or monitoring.{kind}.schedule.enabled=false",
                )
            )
    return issues


def monitoring_instances(config: PipelineConfig) -> list[Issue]:
    """The monitoring and endpoint instance types exist for the jobs that use them."""
    monitoring, deployment = config.monitoring, config.deployment
    instances: list[tuple[tuple[str, ...], str, InstanceKind]] = [
        (("monitoring", "instance_type"), monitoring.instance_type, "Processing"),
        (("monitoring", "instance_type"), monitoring.instance_type, "Transform"),
        (("deployment", "instance_type"), deployment.instance_type, "ProductionVariant"),
    ]
    instances += [
        (
            ("monitoring", kind, "schedule", "instance_type"),
            getattr(monitoring, kind).schedule.instance_type,
            "Processing",
        )
        for kind in KINDS
    ]
    issues, reported = [], set()
    for loc, value, kind in instances:
        if value not in instance_types(kind) and loc not in reported:
            reported.add(loc)
            issues.append(
                Issue(
                    loc,
                    f"{'.'.join(loc)} = '{value}'",
                    f"'{value}' is not a SageMaker {USE[kind]} instance type",
                    f"use e.g. 'ml.m5.xlarge'{did_you_mean(value, instance_types(kind))}",
                )
            )
    return issues


def model_quality_paths(config: PipelineConfig) -> list[Issue]:
    """Model quality's paths are in the transform's joined records, of the right class."""
    if not config.monitoring.model_quality.enabled:
        return []
    project = config.project
    attributes = config.monitoring.model_quality.attributes(project.binary)
    contract = record_contract(project.binary)
    issues = []
    for key in ModelQualityAttributes.model_fields:
        path = getattr(attributes, key)
        why = json_path_problem(contract, path, ("string", "integer", "number"))
        if why and path == f"SageMakerOutput.{PROBABILITY}" and not project.binary:
            why = (
                "only a 2-class project's model answers with the positive class's "
                f"'{PROBABILITY}', and this one has {len(project.classes)} classes"
            )
        if why:
            issues.append(
                Issue(
                    ("monitoring", "model_quality", key),
                    f"monitoring.model_quality.{key} = {path!r}",
                    f"the batch transform's joined records may not have it: {why}",
                    "use a path that components/model/record.schema.json requires, e.g. "
                    "'SageMakerOutput.label' or 'ground_truth'",
                )
            )
    probability = attributes.probability_attribute or ""
    if project.binary and probability.endswith(f".{CONFIDENCE}"):
        issues.append(
            Issue(
                ("monitoring", "model_quality", "probability_attribute"),
                f"monitoring.model_quality.probability_attribute = {probability!r}",
                "BinaryClassification reads the positive class's probability (its AUC and "
                f"threshold), but '{CONFIDENCE}' is the predicted class's",
                "use 'SageMakerOutput.probability', or null for the problem type's own",
            )
        )
    return issues


def schedule_expressions_and_names(config: PipelineConfig) -> list[Issue]:
    """Each created schedule's expression and name, as the backend's service would take them."""
    monitoring, deployment, chosen = config.monitoring, config.deployment, backend(config)
    issues, names = [], []
    for kind in KINDS:
        check = getattr(monitoring, kind)
        if not (check.enabled and check.schedule.enabled and deployment.enabled):
            continue
        cron = check.schedule.cron
        why = chosen.cron_problem(cron)
        if why:
            reason, _, fix = why.partition("; fix: ")
            issues.append(
                Issue(
                    ("monitoring", kind, "schedule", "cron"),
                    f"monitoring.{kind}.schedule.cron = {cron!r}",
                    f"{reason} (monitoring.backend={monitoring.backend})",
                    fix + chosen.cron_alternative,
                )
            )
        names.append(schedule_name(deployment.endpoint_name, kind))
    pattern, limit = chosen.schedule_name_rule
    longest = max(names, key=len, default="")
    if longest and not re.match(pattern, longest):
        endpoint = deployment.endpoint_name
        issues.append(
            Issue(
                ("deployment", "endpoint_name"),
                f"deployment.endpoint_name = {endpoint!r}",
                f"the monitoring schedules are named after it, e.g. {longest!r} "
                f"({len(longest)} characters), and schedule names have at most {limit}",
                f"shorten deployment.endpoint_name to at most "
                f"{limit - len(longest) + len(endpoint)} characters",
            )
        )
    return issues


def arn_settings(value: Any, loc: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """(key path, ARN) of every setting named `*_arn` in the config, however deep."""
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            child = getattr(value, name)
            if name.endswith("_arn") and isinstance(child, str):
                yield (*loc, name), child
            else:
                yield from arn_settings(child, (*loc, name))
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from arn_settings(child, (*loc, str(key)))


def arns_in_the_roles_account(config: PipelineConfig) -> list[Issue]:
    """Every role and function ARN names the account of aws.role_arn, the account publishing
    goes to: a role or function left in another account (the placeholder 111122223333, say)
    compiles but fails in AWS, when the pipeline, a schedule or a Lambda step first uses it."""
    account = config.aws.role_arn.split(":")[4]
    issues = []
    for loc, arn in arn_settings(config):
        fields = arn.split(":")
        if loc == ("aws", "role_arn") or len(fields) < 5 or fields[4] in ("", account):
            continue
        key = ".".join(loc)
        issues.append(
            Issue(
                loc,
                f"{key} = {arn!r}",
                f"it names account {fields[4]}, but the pipeline goes to account {account} "
                "(aws.role_arn's), where publishing creates everything and where this must exist",
                f"set {key} to the ARN in account {account} "
                f"({':'.join([*fields[:4], account, *fields[5:]])} if it has the same name there)",
            )
        )
    return issues


RULES: tuple[Rule, ...] = (
    lambda config: config.project.problems(),
    gate_metric,
    lambda config: config.training.problems(),
    framework_fits,
    lambda config: config.framework.problems(),
    containers,
    schedules_need_their_check,
    monitoring_instances,
    model_quality_paths,
    schedule_expressions_and_names,
    arns_in_the_roles_account,
    lambda config: backend(config).problems(config),
)


def broken_rules(config: PipelineConfig) -> list[Issue]:
    """Every rule's issues, in the order of RULES."""
    return [issue for rule in RULES for issue in rule(config)]

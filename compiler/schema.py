"""Stage 2, validate: pydantic v2 models of the whole configuration. No I/O but cached tables."""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator

from compiler import images
from compiler.base import Settings
from compiler.errors import CompileError, Problem, did_you_mean, one_of
from compiler.graph import json_path_problem
from compiler.load import LoadedConfig
from components.deploy.config import Deployment
from components.evaluate.config import report_contract
from components.gate.config import Gate
from components.inference.contract import record_contract
from components.monitor.config import Monitoring
from components.preprocess.config import SKLEARN_VERSION, ImageData, Split, TabularData
from components.train.config import Hyperparameters
from components.tune.config import Tuning

# SageMaker's own name rules (CreatePipeline, model package groups, steps and parameters).
PIPELINE_NAME = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$"
GROUP_NAME = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
ROLE_ARN = r"^arn:aws[a-z\-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@\-/]{1,512}$"
BUCKET = r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$"
S3_URI = r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$"

InstanceKind = Literal["Training", "Processing", "ProductionVariant", "Transform"]


@cache
def instance_types(kind: InstanceKind) -> tuple[str, ...]:
    """The instance types SageMaker accepts for a job kind, from botocore's API model."""
    from botocore.loaders import Loader

    model = Loader().load_service_model("sagemaker", "service-2")
    return tuple(model["shapes"][f"{kind}InstanceType"]["enum"])


INSTANCE_USE = {
    "Training": "training",
    "Processing": "processing",
    "ProductionVariant": "endpoint",
    "Transform": "batch transform",
}


def _check_instance(value: str, kind: InstanceKind) -> str:
    known = instance_types(kind)
    if value not in known:
        raise ValueError(
            f"'{value}' is not a SageMaker {INSTANCE_USE[kind]} instance type; "
            f"fix: use e.g. 'ml.m5.xlarge'{did_you_mean(value, known)}"
        )
    return value


def _check_name(value: str, pattern: str, what: str) -> str:
    if not re.match(pattern, value):
        suggestion = re.sub(r"[^A-Za-z0-9]+", "-", value).strip("-") or "my-pipeline"
        raise ValueError(
            f"SageMaker {what} allow only letters, digits and hyphens (no '_', "
            f"no leading or trailing '-'); fix: use e.g. '{suggestion}'"
        )
    return value


class Project(Settings):
    name: str
    pipeline_name: str
    model_package_group: str
    input_data_uri: Annotated[str, Field(pattern=S3_URI)]
    classes: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=2)]
    data: Annotated[TabularData | ImageData, Field(discriminator="kind")]
    split: Split
    hyperparameters: Hyperparameters

    @field_validator("pipeline_name")
    @classmethod
    def _pipeline_name(cls, value: str) -> str:
        return _check_name(value, PIPELINE_NAME, "pipeline names")

    @field_validator("name", "model_package_group")
    @classmethod
    def _group_name(cls, value: str) -> str:
        return _check_name(value, GROUP_NAME, "model package group and project names")

    @field_validator("classes")
    @classmethod
    def _unique(cls, classes: list[str]) -> list[str]:
        repeated = sorted({c for c in classes if classes.count(c) > 1})
        if repeated:
            raise ValueError(f"classes {repeated} appear twice; fix: list each class once")
        return classes


class Framework(Settings):
    name: Literal["tensorflow", "pytorch"]
    version: str
    py_version: str
    training_instance_type: str
    processing_instance_type: str
    inference_instance_type: str
    training_image: str | None = None
    inference_image: str | None = None

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, version: object) -> object:
        # `framework.version=2.19` reaches us as a float from the command line.
        return str(version) if isinstance(version, int | float) else version

    @field_validator("version")
    @classmethod
    def _known_version(cls, version: str, info: ValidationInfo) -> str:
        name = info.data.get("name")
        if name is None:
            return version
        known = images.known_versions(name)
        if version not in known:
            raise ValueError(
                f"{name} {version} is not a version this compiler has containers for; "
                f"fix: use {one_of(known)}{did_you_mean(version, known)}"
            )
        return version

    @field_validator("py_version")
    @classmethod
    def _known_py_version(cls, py_version: str, info: ValidationInfo) -> str:
        name, version = info.data.get("name"), info.data.get("version")
        if name is None or version is None:
            return py_version
        known = images.py_versions(name, version)
        if py_version not in known:
            raise ValueError(
                f"{name} {version} containers exist for {known}; fix: use '{known[0]}'"
            )
        return py_version

    @field_validator("training_instance_type")
    @classmethod
    def _training(cls, value: str) -> str:
        return _check_instance(value, "Training")

    @field_validator("processing_instance_type")
    @classmethod
    def _processing(cls, value: str) -> str:
        return _check_instance(value, "Processing")

    @field_validator("inference_instance_type")
    @classmethod
    def _inference(cls, value: str) -> str:
        return _check_instance(value, "ProductionVariant")


class Training(Settings):
    name: str
    mode: Literal["train", "tune", "train_and_tune"]
    top_k: Literal[1, 2] = 1
    tuning: Tuning | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_name(value, GROUP_NAME, "training mode names (part of pipeline names)")


class Aws(Settings):
    region: str
    role_arn: str
    bucket: Annotated[str, Field(pattern=BUCKET)]
    prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9!\-_.*'()/]*[A-Za-z0-9!\-_.*'()]$")]

    @field_validator("role_arn")
    @classmethod
    def _full_arn(cls, value: str) -> str:
        if not re.match(ROLE_ARN, value):
            raise ValueError(
                "SageMaker needs the full ARN of an IAM role; "
                "fix: use arn:aws:iam::<12-digit account id>:role/<role name>"
            )
        return value

    @field_validator("region")
    @classmethod
    def _known_region(cls, region: str) -> str:
        known = images.known_regions("tensorflow")
        if region not in known:
            raise ValueError(
                f"no SageMaker framework containers are listed for region '{region}'; "
                f"fix: use a region such as 'us-east-1'{did_you_mean(region, known)}"
            )
        return region


class PipelineConfig(Settings):
    """The whole, validated configuration of one pipeline."""

    project: Project
    framework: Framework
    training: Training
    gate: Gate
    aws: Aws
    monitoring: Monitoring
    deployment: Deployment
    output_dir: str


def validate_config(loaded: LoadedConfig) -> PipelineConfig:
    """Validate the composed config; collect every problem into one CompileError.

    Raises:
        CompileError: with one where/what/why/fix problem per invalid key.
    """
    try:
        config = PipelineConfig.model_validate(loaded.data)
    except ValidationError as exc:
        raise CompileError(_problems(loaded, exc)) from None
    problems = _cross_checks(loaded, config)
    if problems:
        raise CompileError(problems)
    return config


def _problems(loaded: LoadedConfig, exc: ValidationError) -> list[Problem]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(p for p in error["loc"] if not _is_union_tag(p))
        path = ".".join(str(p) for p in loc)
        why, _, fix = _split_message(error["msg"])
        if error["type"] == "extra_forbidden":
            siblings = _siblings(loaded.data, loc)
            problems.append(
                Problem(
                    where=loaded.source_of(loc),
                    what=f"unknown key '{path}'",
                    why=f"{'.'.join(str(p) for p in loc[:-1]) or 'the root'} has no key "
                    f"'{loc[-1]}'" + (f"; its keys are {one_of(siblings)}" if siblings else ""),
                    fix=f"remove it or use an existing key{did_you_mean(str(loc[-1]), siblings)}",
                )
            )
            continue
        if error["type"] == "missing":
            why, fix = "this key is required", f"set {path} (see README's config reference)"
        elif not fix:
            fix = _default_fix(error)
        problems.append(
            Problem(
                where=loaded.source_of(loc),
                what=f"{path} = {error['input']!r}" if error["type"] != "missing" else path,
                why=why,
                fix=fix,
            )
        )
    return problems


def _cross_checks(loaded: LoadedConfig, config: PipelineConfig) -> list[Problem]:
    """Rules across groups, with the exact key path that breaks them."""
    problems = []
    loc: tuple[str, ...]
    project, framework, aws = config.project, config.framework, config.aws
    if isinstance(project.data, TabularData) and project.split.test is None:
        loc = ("project", "split", "test")
        problems.append(
            Problem(
                loaded.source_of(loc),
                "project.split.test = None",
                "a tabular project has one file, so the test set must be split off",
                "set project.split.test, e.g. 0.15",
            )
        )
    if isinstance(project.data, ImageData) and project.split.test is not None:
        loc = ("project", "split", "test")
        problems.append(
            Problem(
                loaded.source_of(loc),
                f"project.split.test = {project.split.test}",
                f"an image project reads its test set from {project.data.test_file}",
                "set project.split.test=null",
            )
        )
    total = project.split.validation + (project.split.test or 0)
    if total >= 1:
        loc = ("project", "split", "validation")
        problems.append(
            Problem(
                loaded.source_of(loc),
                f"project.split = {total} held out",
                "validation and test fractions leave nothing to train on",
                "keep validation + test below 1, e.g. 0.15 each",
            )
        )
    why = json_path_problem(report_contract(), config.gate.metric)
    if why:
        loc = ("gate", "metric")
        problems.append(
            Problem(
                loaded.source_of(loc),
                f"gate.metric = {config.gate.metric!r}",
                f"the gate's conditions read this path from evaluation.json, but {why}",
                "use a numeric path that components/evaluate/report.schema.json requires, "
                "e.g. 'metrics.accuracy.value'",
            )
        )
    problems += _monitoring_checks(loaded, config)
    tuning = config.training.tuning
    if config.training.mode in ("tune", "train_and_tune") and tuning is None:
        loc = ("training", "tuning")
        problems.append(
            Problem(
                loaded.source_of(loc),
                f"training.mode = '{config.training.mode}'",
                "a tuning mode needs tuning settings",
                "pick training=tune (which brings them) or set training.tuning",
            )
        )
    if config.training.top_k > 1 and config.training.mode != "tune":
        loc = ("training", "top_k")
        problems.append(
            Problem(
                loaded.source_of(loc),
                f"training.top_k = {config.training.top_k}",
                "only a tuning job has several models to rank",
                "use training=tune_top2, or training.top_k=1",
            )
        )
    if tuning is not None and config.training.top_k > tuning.max_jobs:
        loc = ("training", "top_k")
        problems.append(
            Problem(
                loaded.source_of(loc),
                f"training.top_k = {config.training.top_k}",
                f"the tuning job trains only {tuning.max_jobs} models",
                "raise training.tuning.max_jobs or lower training.top_k",
            )
        )
    images_needed = [
        ("training", "training_image", framework.training_instance_type),
        ("inference", "inference_image", framework.inference_instance_type),
    ]
    for scope, key, instance in images_needed:
        if getattr(framework, key) is None:
            try:
                images.image_uri(
                    framework.name,
                    scope,
                    framework.version,
                    framework.py_version,
                    aws.region,
                    instance,
                )
            except ValueError as exc:
                loc = ("framework", f"{scope}_instance_type")
                problems.append(
                    Problem(
                        loaded.source_of(loc),
                        f"framework = {framework.name} {framework.version} {framework.py_version} "
                        f"on {instance} in {aws.region}",
                        f"no {scope} container: {exc}",
                        f"pick another framework.{scope}_instance_type (e.g. ml.m5.xlarge), "
                        f"or set framework.{key} to an image URI",
                    )
                )
    try:
        images.image_uri(
            "sklearn",
            "training",
            SKLEARN_VERSION,
            "py3",
            aws.region,
            framework.processing_instance_type,
        )
    except ValueError as exc:
        loc = ("framework", "processing_instance_type")
        problems.append(
            Problem(
                loaded.source_of(loc),
                f"framework.processing_instance_type = '{framework.processing_instance_type}'",
                f"preprocessing runs the scikit-learn container, and {exc}",
                "use a CPU instance type such as ml.m5.xlarge",
            )
        )
    return problems


def _monitoring_checks(loaded: LoadedConfig, config: PipelineConfig) -> list[Problem]:
    """Monitoring and deployment settings that can never work, or that name bad resources."""
    problems = []
    loc: tuple[str, ...]
    monitoring, deployment = config.monitoring, config.deployment
    instances: list[tuple[tuple[str, ...], str, InstanceKind]] = [
        (("monitoring", "instance_type"), monitoring.instance_type, "Processing"),
        (("monitoring", "instance_type"), monitoring.instance_type, "Transform"),
        (("deployment", "instance_type"), deployment.instance_type, "ProductionVariant"),
    ]
    checks = (
        ("data_quality", monitoring.data_quality),
        ("model_quality", monitoring.model_quality),
    )
    for name, check in checks:
        instances.append(
            (
                ("monitoring", name, "schedule", "instance_type"),
                check.schedule.instance_type,
                "Processing",
            )
        )
        if not check.enabled:
            continue
        if monitoring.first_run and not check.skip_check:
            loc = ("monitoring", name, "skip_check")
            problems.append(
                Problem(
                    loaded.source_of(loc),
                    f"monitoring.{name}.skip_check = false",
                    "on a first run (monitoring.first_run) no baseline is registered yet, so the "
                    "check has nothing to check against and can never succeed",
                    f"keep monitoring.{name}.skip_check=true for the first run; after a run has "
                    "registered a baseline, set monitoring.first_run=false",
                )
            )
    for name, check in checks:
        if check.schedule.enabled and (not check.enabled or not deployment.enabled):
            loc = ("monitoring", name, "schedule", "enabled")
            needs = "deployment.enabled" if not deployment.enabled else f"monitoring.{name}.enabled"
            problems.append(
                Problem(
                    loaded.source_of(loc),
                    f"monitoring.{name}.schedule.enabled = true",
                    "a schedule watches the deployed endpoint against the "
                    f"{name.replace('_', ' ')} baseline, but {needs} is false",
                    f"set {needs}=true, or monitoring.{name}.schedule.enabled=false",
                )
            )
    for loc, value, kind in instances:
        if value not in instance_types(kind) and not any(
            p.what.startswith(f"{'.'.join(loc)} =") for p in problems
        ):
            problems.append(
                Problem(
                    loaded.source_of(loc),
                    f"{'.'.join(loc)} = '{value}'",
                    f"'{value}' is not a SageMaker {INSTANCE_USE[kind]} instance type",
                    f"use e.g. 'ml.m5.xlarge'{did_you_mean(value, instance_types(kind))}",
                )
            )
    if monitoring.model_quality.enabled:
        for key in ("inference_attribute", "probability_attribute", "ground_truth_attribute"):
            path = getattr(monitoring.model_quality, key)
            why = json_path_problem(record_contract(), path, ("string", "integer", "number"))
            if why:
                loc = ("monitoring", "model_quality", key)
                problems.append(
                    Problem(
                        loaded.source_of(loc),
                        f"monitoring.model_quality.{key} = {path!r}",
                        f"the batch transform's joined records may not have it: {why}",
                        "use a path that components/inference/record.schema.json requires, e.g. "
                        "'SageMakerOutput.label' or 'ground_truth'",
                    )
                )
    if monitoring.data_quality.enabled or monitoring.model_quality.enabled:
        try:
            images.monitor_image(config.aws.region)
        except ValueError as exc:
            loc = ("aws", "region")
            problems.append(
                Problem(
                    loaded.source_of(loc),
                    f"aws.region = '{config.aws.region}'",
                    str(exc),
                    "use another region, or switch monitoring off",
                )
            )
    return problems


def _is_union_tag(part: object) -> bool:
    return part in ("tabular", "image")


def _split_message(message: str) -> tuple[str, str, str]:
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    why, sep, fix = message.partition("; fix: ")
    return why, sep, fix


def _default_fix(error: Any) -> str:
    ctx = error.get("ctx") or {}
    if "pattern" in ctx:
        return f"use a value matching {ctx['pattern']}"
    if "expected" in ctx:
        return f"use one of {ctx['expected']}"
    bounds = {"gt": "above", "ge": "at least", "lt": "below", "le": "at most"}
    for key, word in bounds.items():
        if key in ctx:
            return f"use a value {word} {ctx[key]}"
    return "see README's config reference for the expected value"


def _siblings(data: dict[str, Any], loc: tuple[Any, ...]) -> list[str]:
    node: Any = data
    for part in loc[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    return [str(k) for k in node if k != loc[-1]] if isinstance(node, dict) else []

"""Stage 2, validate: the configuration schema, composed from the components' settings.

Rules within one component's settings sit beside them (components/<name>/config.py); the rules
here span components or groups. No I/O but cached tables.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator

from compiler.load import LoadedConfig
from components.deploy.config import Deployment
from components.evaluate.contract import BINARY as BINARY_METRICS
from components.evaluate.contract import report_contract
from components.gate.config import Gate
from components.model.contract import CONFIDENCE, PROBABILITY, probability_field, record_contract
from components.monitor.config import monitor_pipeline_name
from components.preprocess.config import ImageData, Split, TabularData, data_problems
from components.quality_check.config import Check, ModelQualityAttributes
from components.schedule.config import (
    ModelQualitySchedule,
    Schedule,
    model_monitor_cron_problem,
    schedule_name,
)
from components.train.config import Hyperparameters
from components.tune.config import Tuning
from kernel import images
from kernel.context import REPO
from kernel.errors import CompileError, Issue, Problem, did_you_mean, one_of
from kernel.frameworks import FRAMEWORKS, SKLEARN_VERSION, FrameworkName, framework_issues
from kernel.graph import json_path_problem
from kernel.instances import USE, InstanceKind, instance_problem, instance_types
from kernel.names import (
    BUCKET,
    ECR_IMAGE,
    GROUP_NAME,
    PIPELINE_NAME,
    ROLE_ARN,
    S3_URI,
    SCHEDULER_NAME,
    check_name,
    scheduler_expression_problem,
)
from kernel.settings import Settings


def _check_instance(value: str, kind: InstanceKind) -> str:
    why = instance_problem(value, kind)
    if why:
        raise ValueError(why)
    return value


def _check_role(value: str, why: str) -> str:
    if not re.match(ROLE_ARN, value):
        raise ValueError(f"{why}; fix: use arn:aws:iam::<12-digit account id>:role/<role name>")
    return value


class DataQuality(Check):
    schedule: Schedule


class ModelQuality(Check, ModelQualityAttributes):
    schedule: ModelQualitySchedule


class Monitoring(Settings):
    backend: Literal["model_monitor", "builtin"] = "model_monitor"
    scheduler_role_arn: str
    first_run: bool = True

    @field_validator("scheduler_role_arn")
    @classmethod
    def _role(cls, value: str) -> str:
        return _check_role(
            value, "EventBridge Scheduler assumes this IAM role to start the monitoring pipelines"
        )

    instance_type: str
    data_quality: DataQuality
    model_quality: ModelQuality


class ProjectScripts(Settings):
    """A project's own job scripts (repository paths under projects/<name>/); None: the shipped."""

    preprocess: str | None = None
    train: str | None = None
    evaluate: str | None = None
    inference: str | None = None


class Project(Settings):
    name: str
    pipeline_name: str
    model_package_group: str
    input_data_uri: Annotated[str, Field(pattern=S3_URI)]
    classes: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=2)]
    data: Annotated[TabularData | ImageData, Field(discriminator="kind")]
    split: Split
    hyperparameters: Hyperparameters
    scripts: ProjectScripts = ProjectScripts()
    positive_class: str | None = None  # a 2-class project's class of interest (binary metrics)

    @field_validator("pipeline_name")
    @classmethod
    def _pipeline_name(cls, value: str) -> str:
        return check_name(value, PIPELINE_NAME, "pipeline names")

    @field_validator("name", "model_package_group")
    @classmethod
    def _group_name(cls, value: str) -> str:
        return check_name(value, GROUP_NAME, "model package group and project names")

    @field_validator("classes", mode="before")
    @classmethod
    def _text(cls, classes: object) -> object:
        # YAML reads `classes: [0, 1]` as numbers; one message instead of one per class.
        if isinstance(classes, list) and any(not isinstance(c, str) for c in classes):
            quoted = ", ".join(f"'{c}'" for c in classes)
            raise ValueError(
                "class names must be text, but YAML read some as numbers or other values; "
                f"fix: quote every name, e.g. classes: [{quoted}]"
            )
        return classes

    @field_validator("classes")
    @classmethod
    def _unique(cls, classes: list[str]) -> list[str]:
        repeated = sorted({c for c in classes if classes.count(c) > 1})
        if repeated:
            raise ValueError(f"classes {repeated} appear twice; fix: list each class once")
        return classes

    @property
    def binary(self) -> bool:
        return len(self.classes) == 2


class Framework(Settings):
    name: FrameworkName
    version: str
    py_version: str
    training_instance_type: str
    processing_instance_type: str
    inference_instance_type: str
    training_image: str | None = None
    inference_image: str | None = None

    @field_validator("training_image", "inference_image")
    @classmethod
    def _ecr_image(cls, image: str | None) -> str | None:
        if image is not None and not re.match(ECR_IMAGE, image):
            raise ValueError(
                "SageMaker pulls job and serving containers from Amazon ECR only; "
                "fix: use <account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>, "
                "or null for the AWS Deep Learning Container"
            )
        return image

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
        return check_name(value, GROUP_NAME, "training mode names (part of pipeline names)")


class Aws(Settings):
    region: str
    role_arn: str
    bucket: str
    prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9!\-_.*'()/]*[A-Za-z0-9!\-_.*'()]$")]

    @field_validator("bucket")
    @classmethod
    def _bucket_name(cls, value: str) -> str:
        if not re.match(BUCKET, value):
            suggestion = re.sub(r"[^a-z0-9.\-]+", "-", value.lower()).strip("-.")[:63]
            raise ValueError(
                "S3 bucket names have 3 to 63 lowercase letters, digits, dots and hyphens, "
                "beginning and ending with a letter or digit; "
                f"fix: use e.g. '{suggestion or 'my-bucket'}'"
            )
        return value

    @field_validator("role_arn")
    @classmethod
    def _full_arn(cls, value: str) -> str:
        return _check_role(value, "SageMaker needs the full ARN of an IAM role")

    @field_validator("region")
    @classmethod
    def _known_region(cls, region: str) -> str:
        known = images.known_regions(next(iter(FRAMEWORKS)))
        if region not in known:
            raise ValueError(
                f"no SageMaker framework containers are listed for region '{region}'; "
                f"fix: use a region such as 'us-east-1'{did_you_mean(region, known)}"
            )
        return region


ISO_DURATION = r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$"


class RetrySettings(Settings):
    enabled: bool = True
    interval_seconds: Annotated[int, Field(ge=1, le=86_400)]
    backoff_rate: Annotated[float, Field(ge=1, le=10)]
    max_attempts: Annotated[int, Field(ge=1, le=20)]


class Retries(Settings):
    service: RetrySettings
    job: RetrySettings


class CacheSettings(Settings):
    enabled: bool = False
    expire_after: str = "P30D"

    @field_validator("expire_after")
    @classmethod
    def _duration(cls, duration: str) -> str:
        if not re.match(ISO_DURATION, duration):
            raise ValueError(
                f"'{duration}' is not an ISO 8601 duration; fix: use e.g. 'P30D' (30 days), "
                "'PT12H' (12 hours) or 'P1W'"
            )
        return duration


class PipelineSchedule(Settings):
    enabled: bool = False
    name: str
    cron: str
    timezone: str = "UTC"
    role_arn: Annotated[str, Field(pattern=ROLE_ARN)]
    parameters: dict[str, str | int | float | bool] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _schedule_name(cls, name: str) -> str:
        if not re.match(SCHEDULER_NAME, name):
            raise ValueError(
                "EventBridge Scheduler names have 1 to 64 letters, digits, '-', '_' and '.'; "
                f"fix: use e.g. '{re.sub(r'[^0-9a-zA-Z._-]+', '-', name)[:64].strip('-')}'"
            )
        return name

    @field_validator("cron")
    @classmethod
    def _scheduler_form(cls, cron: str) -> str:
        why = scheduler_expression_problem(cron)
        if why:
            raise ValueError(why)
        return cron


class Production(Settings):
    """What publishing applies to the pipeline, and the policies every step gets."""

    description: Annotated[str, Field(max_length=3072)]
    tags: dict[str, Annotated[str, Field(max_length=256)]] = Field(default_factory=dict)
    max_parallel_steps: Annotated[int, Field(ge=1, le=10_000)] | None = None
    retry: Retries
    cache: CacheSettings
    schedule: PipelineSchedule

    @field_validator("tags")
    @classmethod
    def _tag_keys(cls, tags: dict[str, str]) -> dict[str, str]:
        for key in tags:
            if not 1 <= len(key) <= 128 or key.lower().startswith("aws:"):
                raise ValueError(
                    f"tag key '{key}': AWS tag keys have 1 to 128 characters and do not start "
                    "with 'aws:'; fix: rename the key"
                )
        return tags


class PipelineConfig(Settings):
    """The whole, validated configuration of one pipeline."""

    project: Project
    framework: Framework
    training: Training
    gate: Gate
    aws: Aws
    monitoring: Monitoring
    deployment: Deployment
    pipeline: Production
    output_dir: str

    @field_validator("output_dir", mode="before")
    @classmethod
    def _folder(cls, folder: object) -> object:
        if not isinstance(folder, str) or not folder.strip() or "\n" in folder:
            raise ValueError(
                "output_dir is the folder the bundle is written to, one path; "
                "fix: e.g. output_dir=build/my-pipeline"
            )
        return folder


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
    errors = [(_key_path(e), e) for e in exc.errors(include_url=False)]
    failing = {".".join(map(str, loc)) for loc, _ in errors}
    problems = []
    for loc, error in errors:
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
        what = f"{path} = {error['input']!r}" if error["type"] != "missing" else path
        where = loaded.source_of(loc)
        sources = loaded.derived_from(loc)
        if any(source in failing for source in sources):
            continue  # the key it is made from is reported, and fixing that fixes this one
        if sources:
            # A derived value: name the keys the user sets, and where the one they set was set.
            what += f", made from {', '.join(sources)}"
            where = next(
                (loaded.source_of(tuple(s.split("."))) for s in sources if _overridden(loaded, s)),
                where,
            )
            fix = f"{fix}: change {' or '.join(sources)}, or set {path} itself"
        problems.append(Problem(where=where, what=what, why=why, fix=fix))
    return problems


def _key_path(error: Any) -> tuple[Any, ...]:
    return tuple(p for p in error["loc"] if not _is_union_tag(p))


def _overridden(loaded: LoadedConfig, key: str) -> bool:
    return loaded.source_of(tuple(key.split("."))).startswith("command line")


def _cross_checks(loaded: LoadedConfig, config: PipelineConfig) -> list[Problem]:
    """Rules across components and groups, each at the exact key path that breaks it."""
    project = config.project
    issues = [
        Issue(("project", *i.loc), i.what, i.why, i.fix)
        for i in data_problems(project.data, project.split, "project")
    ]
    issues += _positive_class_checks(project)
    why = json_path_problem(
        report_contract(tuple(project.classes), project.positive_class), config.gate.metric
    )
    binary_metric = config.gate.metric.split(".")[:2] in (["metrics", m] for m in BINARY_METRICS)
    if why and binary_metric and not project.binary:
        why = (
            f"only a 2-class project's report has {' and '.join(BINARY_METRICS)}, and this one "
            f"has {len(project.classes)} classes"
        )
    if why:
        issues.append(
            Issue(
                ("gate", "metric"),
                f"gate.metric = {config.gate.metric!r}",
                f"the gate's conditions read this path from evaluation.json, but {why}",
                "use a numeric path that components/evaluate/report.schema.json requires for "
                "this project's classes, e.g. 'metrics.accuracy.value' or "
                f"'metrics.recall.per_class.{project.classes[0]}'",
            )
        )
    issues += _script_checks(config)
    tuning = config.training.tuning
    ranges = tuning.ranges if tuning else None
    issues += framework_issues(config.framework.name, project.data.kind, ranges)
    issues += _training_checks(config) + _image_checks(config) + _monitoring_checks(config)
    return [Problem(loaded.source_of(i.loc), i.what, i.why, i.fix) for i in issues]


def _positive_class_checks(project: Project) -> list[Issue]:
    """A 2-class project names its positive class, one of its classes; others name none."""
    loc, positive, classes = ("project", "positive_class"), project.positive_class, project.classes
    if project.binary and positive is None:
        return [
            Issue(
                loc,
                "project.positive_class",
                f"a 2-class project ({_listed(classes)}) is scored as BinaryClassification, "
                "which needs to know which class is the positive one (its probability is what "
                "model quality and ROC/PR AUC read)",
                f"set project.positive_class to one of {_listed(classes)}",
            )
        ]
    if positive is None or (project.binary and positive in classes):
        return []
    if not project.binary:
        why = (
            f"only a 2-class project has a positive class; this one has {len(classes)} classes "
            "and is scored as MulticlassClassification"
        )
        fix = "remove project.positive_class (or set it to null)"
    else:
        why = f"it is not one of the project's classes {_listed(classes)}"
        fix = f"use one of {_listed(classes)}{did_you_mean(positive, classes)}"
    return [Issue(loc, f"project.positive_class = {positive!r}", why, fix)]


def _listed(classes: list[str]) -> str:
    """The classes in the project's order (index order), quoted."""
    return ", ".join(f"'{c}'" for c in classes)


def _script_checks(config: PipelineConfig) -> list[Issue]:
    """A project's own scripts must be Python files in its folder (they are packed from there)."""
    folder = f"projects/{config.project.name}/"
    issues = []
    for job, path in config.project.scripts.model_dump().items():
        if path is None:
            continue
        why = None
        if not path.startswith(folder) or ".." in Path(path).parts:
            why = f"a project's scripts live in its own folder, {folder}"
        elif not path.endswith(".py"):
            why = "the job runs it with python, so it must be a .py file"
        elif not (REPO / path).is_file():
            why = f"there is no file {path} in the repository"
        if why:
            issues.append(
                Issue(
                    ("project", "scripts", job),
                    f"project.scripts.{job} = {path!r}",
                    why,
                    f"put the script at {folder}<name>.py and name it here, or set null for "
                    f"the shipped {job} script",
                )
            )
    return issues


def _training_checks(config: PipelineConfig) -> list[Issue]:
    training, tuning = config.training, config.training.tuning
    issues = []
    if training.mode in ("tune", "train_and_tune") and tuning is None:
        issues.append(
            Issue(
                ("training", "tuning"),
                f"training.mode = '{training.mode}'",
                "a tuning mode needs tuning settings",
                "pick training=tune (which brings them) or set training.tuning",
            )
        )
    if training.top_k > 1 and training.mode != "tune":
        issues.append(
            Issue(
                ("training", "top_k"),
                f"training.top_k = {training.top_k}",
                "only a tuning job has several models to rank",
                "use training=tune_top2, or training.top_k=1",
            )
        )
    if tuning is not None and training.top_k > tuning.max_jobs:
        issues.append(
            Issue(
                ("training", "top_k"),
                f"training.top_k = {training.top_k}",
                f"the tuning job trains only {tuning.max_jobs} models",
                "raise training.tuning.max_jobs or lower training.top_k",
            )
        )
    return issues


def _image_checks(config: PipelineConfig) -> list[Issue]:
    """Every container the pipeline runs must exist for its instance type and region."""
    framework, region = config.framework, config.aws.region
    issues = []
    for scope in ("training", "inference"):
        key, instance = f"{scope}_image", getattr(framework, f"{scope}_instance_type")
        if getattr(framework, key) is not None:
            continue
        try:
            images.image_uri(
                framework.name, scope, framework.version, framework.py_version, region, instance
            )
        except ValueError as exc:
            issues.append(
                Issue(
                    ("framework", f"{scope}_instance_type"),
                    f"framework = {framework.name} {framework.version} {framework.py_version} "
                    f"on {instance} in {region}",
                    f"no {scope} container: {exc}",
                    f"pick another framework.{scope}_instance_type (e.g. ml.m5.xlarge), "
                    f"or set framework.{key} to an image URI",
                )
            )
    monitoring = config.monitoring
    sklearn_jobs: list[tuple[tuple[str, ...], str, str]] = [
        (
            ("framework", "processing_instance_type"),
            framework.processing_instance_type,
            "preprocessing runs",
        )
    ]
    if monitoring.backend == "builtin":  # the baselines and monitoring jobs run scikit-learn too
        sklearn_jobs.append(
            (
                ("monitoring", "instance_type"),
                monitoring.instance_type,
                "the builtin baseline jobs run",
            )
        )
        sklearn_jobs += [
            (
                ("monitoring", kind, "schedule", "instance_type"),
                getattr(monitoring, kind).schedule.instance_type,
                "the builtin monitoring job runs",
            )
            for kind in ("data_quality", "model_quality")
            if getattr(monitoring, kind).schedule.enabled
        ]
    for loc, instance, job in sklearn_jobs:
        try:
            images.image_uri("sklearn", "training", SKLEARN_VERSION, "py3", region, instance)
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


def _monitoring_checks(config: PipelineConfig) -> list[Issue]:
    """Monitoring and deployment settings that can never work, or that name bad resources."""
    monitoring, deployment = config.monitoring, config.deployment
    issues = []
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
        schedule_key = ("monitoring", name, "schedule", "instance_type")
        instances.append((schedule_key, check.schedule.instance_type, "Processing"))
        if (
            monitoring.backend == "model_monitor"
            and check.enabled
            and monitoring.first_run
            and not check.skip_check
        ):
            issues.append(
                Issue(
                    ("monitoring", name, "skip_check"),
                    f"monitoring.{name}.skip_check = false",
                    "on a first run (monitoring.first_run) no baseline is registered yet, so the "
                    "check has nothing to check against and can never succeed",
                    f"keep monitoring.{name}.skip_check=true for the first run; after a run has "
                    "registered a baseline, set monitoring.first_run=false",
                )
            )
    for name, check in checks:
        if check.schedule.enabled and (not check.enabled or not deployment.enabled):
            needs = "deployment.enabled" if not deployment.enabled else f"monitoring.{name}.enabled"
            issues.append(
                Issue(
                    ("monitoring", name, "schedule", "enabled"),
                    f"monitoring.{name}.schedule.enabled = true",
                    "a schedule watches the deployed endpoint against the "
                    f"{name.replace('_', ' ')} baseline, but {needs} is false",
                    f"set {needs}=true, or monitoring.{name}.schedule.enabled=false",
                )
            )
    reported = set()
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
    if monitoring.model_quality.enabled:
        attributes = model_quality_attributes(config)
        contract = record_contract(config.project.binary)
        for key in ModelQualityAttributes.model_fields:
            path = getattr(attributes, key)
            why = json_path_problem(contract, path, ("string", "integer", "number"))
            if why and path == f"SageMakerOutput.{PROBABILITY}" and not config.project.binary:
                why = (
                    "only a 2-class project's model answers with the positive class's "
                    f"'{PROBABILITY}', and this one has {len(config.project.classes)} classes"
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
        if config.project.binary and probability.endswith(f".{CONFIDENCE}"):
            issues.append(
                Issue(
                    ("monitoring", "model_quality", "probability_attribute"),
                    f"monitoring.model_quality.probability_attribute = {probability!r}",
                    "BinaryClassification reads the positive class's probability (its AUC and "
                    f"threshold), but '{CONFIDENCE}' is the predicted class's",
                    "use 'SageMakerOutput.probability', or null for the problem type's own",
                )
            )
    issues += _schedule_checks(config)
    monitored = monitoring.data_quality.enabled or monitoring.model_quality.enabled
    if monitoring.backend == "model_monitor" and monitored:
        try:
            images.monitor_image(config.aws.region)
        except ValueError as exc:
            issues.append(
                Issue(
                    ("aws", "region"),
                    f"aws.region = '{config.aws.region}'",
                    str(exc),
                    "use another region, or switch monitoring off",
                )
            )
    return issues


def model_quality_attributes(config: PipelineConfig) -> ModelQualityAttributes:
    """The model-quality paths, the probability's defaulting to its problem type's: the positive
    class's probability for a binary project, the predicted class's otherwise."""
    settings = config.monitoring.model_quality
    paths = {key: getattr(settings, key) for key in ModelQualityAttributes.model_fields}
    field = probability_field(config.project.binary)
    paths["probability_attribute"] = paths["probability_attribute"] or f"SageMakerOutput.{field}"
    return ModelQualityAttributes(**paths)


def _schedule_checks(config: PipelineConfig) -> list[Issue]:
    """Each enabled schedule's expression and names, as the backend's service would take them."""
    monitoring, deployment = config.monitoring, config.deployment
    builtin = monitoring.backend == "builtin"
    issues, names = [], []
    for kind in ("data_quality", "model_quality"):
        check = getattr(monitoring, kind)
        if not (check.enabled and check.schedule.enabled and deployment.enabled):
            continue
        cron = check.schedule.cron
        why = scheduler_expression_problem(cron) if builtin else model_monitor_cron_problem(cron)
        if why:
            reason, _, fix = why.partition("; fix: ")
            other = (
                "" if builtin else ", or monitoring.backend=builtin (any EventBridge expression)"
            )
            issues.append(
                Issue(
                    ("monitoring", kind, "schedule", "cron"),
                    f"monitoring.{kind}.schedule.cron = {cron!r}",
                    f"{reason} (monitoring.backend={monitoring.backend})",
                    fix + other,
                )
            )
        names.append(schedule_name(deployment.endpoint_name, kind))
        monitor = monitor_pipeline_name(config.project.pipeline_name, kind)
        if builtin and not re.match(PIPELINE_NAME, monitor):
            issues.append(
                Issue(
                    ("project", "pipeline_name"),
                    f"project.pipeline_name = {config.project.pipeline_name!r}",
                    f"its {kind.replace('_', '-')} monitoring pipeline would be named "
                    f"{monitor!r} ({len(monitor)} characters); pipeline names have at most 256",
                    "shorten project.pipeline_name",
                )
            )
    pattern, limit = (SCHEDULER_NAME, 64) if builtin else (GROUP_NAME, 63)
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

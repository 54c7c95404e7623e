"""The configuration schema: one model per config group, composed from the components' settings.

Rules within one component's settings sit beside them (components/<name>/config.py), a group's
rules across its own keys beside its model here (`problems()`), and rules across groups in
compiler/rules.py. compiler/validate.py runs them all. No I/O but cached tables.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from components.deploy.config import Deployment
from components.gate.config import Gate
from components.model.contract import probability_field
from components.preprocess.config import ImageData, Split, TabularData, data_problems
from components.quality_check.config import Check, ModelQualityAttributes
from components.schedule.config import ModelQualitySchedule, Schedule
from components.train.config import Hyperparameters
from components.tune.config import Tuning
from kernel import images
from kernel.context import REPO
from kernel.errors import Issue, did_you_mean, one_of
from kernel.frameworks import FRAMEWORKS, FrameworkName, Scope
from kernel.instances import InstanceKind, instance_problem
from kernel.names import (
    BUCKET,
    ECR_IMAGE,
    GROUP_NAME,
    PIPELINE_NAME,
    ROLE_ARN,
    S3_URI,
    SCHEDULER_NAME,
    scheduler_expression_problem,
)
from kernel.policies import Policies, Retry
from kernel.settings import Settings, named, rule


def _instance(kind: InstanceKind) -> AfterValidator:
    return rule(lambda value: instance_problem(value, kind))


def _role(why: str) -> AfterValidator:
    """The check of a field holding an IAM role's ARN; `why` says who assumes the role."""
    return rule(
        lambda value: (
            None
            if re.match(ROLE_ARN, value)
            else f"{why}; fix: use arn:aws:iam::<12-digit account id>:role/<role name>"
        )
    )


GroupName = Annotated[str, named(GROUP_NAME, "model package group and project names")]


class DataQuality(Check):
    schedule: Schedule


class ModelQuality(Check, ModelQualityAttributes):
    schedule: ModelQualitySchedule
    # BinaryClassification: a probability at or above it is the positive class (Model Monitor's
    # ProbabilityThresholdAttribute; without one it reads the probabilities as labels)
    probability_threshold: float = 0.5

    @field_validator("probability_threshold")
    @classmethod
    def _threshold(cls, value: float) -> float:
        if not 0 < value < 1:
            raise ValueError(
                f"{value!r} is not a probability strictly between 0 and 1: a binary model's "
                "records are positive when their probability is at or above it; fix: use a "
                "number in (0, 1), e.g. 0.5"
            )
        return value

    def attributes(self, binary: bool) -> ModelQualityAttributes:
        """The paths, the probability's defaulting to its problem type's: the positive class's
        probability for a binary project, the predicted class's otherwise."""
        paths = {key: getattr(self, key) for key in ModelQualityAttributes.model_fields}
        default = f"SageMakerOutput.{probability_field(binary)}"
        paths["probability_attribute"] = paths["probability_attribute"] or default
        return ModelQualityAttributes(**paths)


class Monitoring(Settings):
    backend: Literal["model_monitor", "builtin"] = "model_monitor"
    scheduler_role_arn: Annotated[
        str, _role("EventBridge Scheduler assumes this IAM role to start the monitoring pipelines")
    ]
    first_run: bool = True
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
    name: GroupName
    pipeline_name: Annotated[str, named(PIPELINE_NAME, "pipeline names")]
    model_package_group: GroupName
    input_data_uri: Annotated[str, Field(pattern=S3_URI)]
    classes: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=2)]
    data: Annotated[TabularData | ImageData, Field(discriminator="kind")]
    split: Split
    hyperparameters: Hyperparameters
    scripts: ProjectScripts = ProjectScripts()
    positive_class: str | None = None  # a 2-class project's class of interest (binary metrics)

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

    def problems(self) -> list[Issue]:
        """The project's rules across its own keys: data and split, positive class, scripts."""
        issues = [
            Issue(("project", *i.loc), i.what, i.why, i.fix)
            for i in data_problems(self.data, self.split, "project")
        ]
        return issues + self._positive_class_problems() + self._script_problems()

    def _positive_class_problems(self) -> list[Issue]:
        """A 2-class project names its positive class, one of its classes; others name none."""
        loc, positive, classes = ("project", "positive_class"), self.positive_class, self.classes
        if self.binary and positive is None:
            return [
                Issue(
                    loc,
                    "project.positive_class",
                    f"a 2-class project ({_listed(classes)}) is scored as BinaryClassification, "
                    "which needs to know which class is the positive one (its probability is "
                    "what model quality and ROC/PR AUC read)",
                    f"set project.positive_class to one of {_listed(classes)}",
                )
            ]
        if positive is None or (self.binary and positive in classes):
            return []
        if not self.binary:
            why = (
                f"only a 2-class project has a positive class; this one has {len(classes)} "
                "classes and is scored as MulticlassClassification"
            )
            fix = "remove project.positive_class (or set it to null)"
        else:
            why = f"it is not one of the project's classes {_listed(classes)}"
            fix = f"use one of {_listed(classes)}{did_you_mean(positive, classes)}"
        return [Issue(loc, f"project.positive_class = {positive!r}", why, fix)]

    def _script_problems(self) -> list[Issue]:
        """Its own scripts must be Python files in its folder (they are packed from there)."""
        folder = f"projects/{self.name}/"
        issues = []
        for job, path in self.scripts.model_dump().items():
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


def _listed(classes: list[str]) -> str:
    """The classes in the project's order (index order), quoted."""
    return ", ".join(f"'{c}'" for c in classes)


EcrImage = Annotated[
    str,
    rule(
        lambda image: (
            None
            if re.match(ECR_IMAGE, image)
            else "SageMaker pulls job and serving containers from Amazon ECR only; "
            "fix: use <account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>, "
            "or null for the AWS Deep Learning Container"
        )
    ),
]


class Framework(Settings):
    """The framework and its two images: training (and Evaluate), and serving.

    AWS releases them apart, so each has its own version (`inference_version` null: the training
    one) and Python (null: the image's own, from kernel/images.json).
    """

    name: FrameworkName
    version: str
    py_version: str | None = None
    inference_version: str | None = None
    inference_py_version: str | None = None
    training_instance_type: Annotated[str, _instance("Training")]
    processing_instance_type: Annotated[str, _instance("Processing")]
    inference_instance_type: Annotated[str, _instance("ProductionVariant")]
    training_image: EcrImage | None = None
    inference_image: EcrImage | None = None

    def image_version(self, scope: Scope) -> str:
        """The version of the `scope` image."""
        if scope == "inference" and self.inference_version is not None:
            return self.inference_version
        return self.version

    def image_python(self, scope: Scope) -> str:
        """The Python of the `scope` image: the config's, else the newest its image has."""
        chosen = self.py_version if scope == "training" else self.inference_py_version
        if chosen is not None:
            return chosen
        version = self.image_version(scope)
        if version not in images.known_versions(self.name, scope):
            return ""  # no such image: problems() says so
        return images.py_versions(self.name, version, scope)[-1]

    def aws_image(self, scope: Scope, region: str) -> str:
        """The AWS image of `scope` at its version and Python, for its instance type in `region`.

        Raises:
            ValueError: the table holds no such image (the message says which).
        """
        instance = getattr(self, f"{scope}_instance_type")
        version, python = self.image_version(scope), self.image_python(scope)
        return images.image_uri(self.name, scope, version, python, region, instance)

    def problems(self) -> list[Issue]:
        """A serving image that takes the training version must exist in that version."""
        if self.inference_version is not None:
            return []
        known = images.known_versions(self.name, "inference")
        if self.version in known:
            return []
        return [
            Issue(
                ("framework", "inference_version"),
                f"framework.inference_version = null, framework.version = '{self.version}'",
                "a null inference_version serves with the training version, and this compiler "
                f"has no {self.name} {self.version} inference container",
                f"set framework.inference_version to {one_of(known)}",
            )
        ]

    @field_validator("version", "inference_version", mode="before")
    @classmethod
    def _version_text(cls, version: object) -> object:
        # `framework.version=2.19` reaches us as a float from the command line.
        return str(version) if isinstance(version, int | float) else version

    @field_validator("version", "inference_version")
    @classmethod
    def _known_version(cls, version: str | None, info: ValidationInfo) -> str | None:
        name = info.data.get("name")
        if name is None or version is None:
            return version
        scope: Scope = "training" if info.field_name == "version" else "inference"
        known = images.known_versions(name, scope)
        if version not in known:
            raise ValueError(
                f"{name} {version} is not a version this compiler has {scope} containers for; "
                f"fix: use {one_of(known)}{did_you_mean(version, known)}"
            )
        return version

    @field_validator("py_version", "inference_py_version")
    @classmethod
    def _known_py_version(cls, py_version: str | None, info: ValidationInfo) -> str | None:
        scope: Scope = "training" if info.field_name == "py_version" else "inference"
        name, version = info.data.get("name"), info.data.get("version")
        if scope == "inference" and info.data.get("inference_version") is not None:
            version = info.data["inference_version"]
        if py_version is None or name is None or version is None:
            return py_version
        if version not in images.known_versions(name, scope):
            return py_version  # no such image: reported once, for the version
        known = images.py_versions(name, version, scope)
        if py_version not in known:
            raise ValueError(
                f"{name} {version} {scope} containers exist for {one_of(known)} only; fix: use "
                f"{known[-1]!r}, or null for the image's own"
            )
        return py_version


class Training(Settings):
    name: Annotated[str, named(GROUP_NAME, "training mode names (part of pipeline names)")]
    mode: Literal["train", "tune", "train_and_tune"]
    top_k: Literal[1, 2] = 1
    tuning: Tuning | None = None

    def problems(self) -> list[Issue]:
        """The mode, the number of models ranked and the tuning settings must agree."""
        tuning = self.tuning
        issues = []
        if self.mode in ("tune", "train_and_tune") and tuning is None:
            issues.append(
                Issue(
                    ("training", "tuning"),
                    f"training.mode = '{self.mode}'",
                    "a tuning mode needs tuning settings",
                    "pick training=tune (which brings them) or set training.tuning",
                )
            )
        if self.top_k > 1 and self.mode != "tune":
            issues.append(
                Issue(
                    ("training", "top_k"),
                    f"training.top_k = {self.top_k}",
                    "only a tuning job has several models to rank",
                    "use training=tune_top2, or training.top_k=1",
                )
            )
        if tuning is not None and self.top_k > tuning.max_jobs:
            issues.append(
                Issue(
                    ("training", "top_k"),
                    f"training.top_k = {self.top_k}",
                    f"the tuning job trains only {tuning.max_jobs} models",
                    "raise training.tuning.max_jobs or lower training.top_k",
                )
            )
        return issues


class Aws(Settings):
    region: str
    role_arn: Annotated[str, _role("SageMaker needs the full ARN of an IAM role")]
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
    expire_after: Annotated[
        str,
        rule(
            lambda duration: (
                None
                if re.match(ISO_DURATION, duration)
                else f"'{duration}' is not an ISO 8601 duration; fix: use e.g. 'P30D' (30 days), "
                "'PT12H' (12 hours) or 'P1W'"
            )
        ),
    ] = "P30D"


class PipelineSchedule(Settings):
    enabled: bool = False
    name: str
    cron: Annotated[str, rule(scheduler_expression_problem)]
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

    def policies(self) -> Policies:
        """The retry and cache policies every step gets."""

        def policy(settings: RetrySettings) -> Retry | None:
            if not settings.enabled:
                return None
            return Retry(settings.interval_seconds, settings.backoff_rate, settings.max_attempts)

        return Policies(
            service_retry=policy(self.retry.service),
            job_retry=policy(self.retry.job),
            cache_expire_after=self.cache.expire_after if self.cache.enabled else None,
        )


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

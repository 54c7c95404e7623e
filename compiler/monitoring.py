"""The monitoring backend, chosen once: one object per `monitoring.backend` that the topology and
the rules ask, so no other module branches on its name.

- `model_monitor`: QualityCheck steps on SageMaker Model Monitor's analyzer, and Model Monitor
  schedules on the endpoint.
- `builtin`: the analyzer as Processing jobs on the scikit-learn container, and EventBridge
  Scheduler schedules that start a monitoring pipeline of our own (each its own bundle).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from compiler.parameters import declare_parameters
from components.monitor import step as monitor
from components.monitor.config import MonitorJob, monitor_pipeline_name
from components.quality_check import step as quality_check
from components.quality_check.config import QualityCheck
from components.register.step import Baseline
from components.schedule import step as schedule
from components.schedule.config import (
    MonitorSchedule,
    PipelineSchedule,
    model_monitor_cron_problem,
    schedule_name,
)
from components.schedule.contract import RECORD_PREPROCESSOR
from kernel import images
from kernel.context import BuildContext, Place
from kernel.errors import Issue
from kernel.ir import Pipeline, Step, StepRef
from kernel.names import GROUP_NAME, PIPELINE_NAME, SCHEDULER_NAME, scheduler_expression_problem
from kernel.policies import with_policies

if TYPE_CHECKING:
    from compiler.schema import PipelineConfig

KINDS = ("data_quality", "model_quality")
Location = tuple[str, ...]


@dataclass(frozen=True)
class MonitorPipeline:
    kind: str
    pipeline: Pipeline
    ctx: BuildContext


@dataclass(frozen=True)
class ScheduleCall:
    """What one schedule step of a candidate is built from (the topology's references)."""

    kind: str
    check: str  # the baseline step the schedule checks against
    name: str  # the schedule step's name
    endpoint: StepRef  # the deployed endpoint's name
    deployed: str  # the Deploy step it runs after
    image: str | None  # the quality baselines' container


class MonitoringBackend(ABC):
    """What differs between backends; everything else about monitoring is shared."""

    name: ClassVar[str]
    schedule_name_rule: ClassVar[tuple[str, int]]  # the schedule names' pattern and length limit
    cron_alternative: ClassVar[str]  # added to a refused schedule expression's fix

    @abstractmethod
    def baseline_image(self, config: PipelineConfig) -> str:
        """The container the quality baselines run in."""

    @abstractmethod
    def baseline_steps(
        self, settings: QualityCheck, ctx: BuildContext, name: str, dataset: Any
    ) -> list[Step]:
        """The steps of one quality baseline `name` over `dataset`."""

    @abstractmethod
    def baseline(self, name: str) -> Baseline:
        """Where the files of baseline step `name` are."""

    @abstractmethod
    def schedule_steps(
        self, config: PipelineConfig, ctx: BuildContext, call: ScheduleCall
    ) -> list[Step]:
        """The step that creates the schedule watching the endpoint after deployment."""

    def monitors(self, config: PipelineConfig) -> list[MonitorPipeline]:
        """The pipelines compiled beside the main one (none unless the backend has its own)."""
        del config
        return []

    @abstractmethod
    def cron_problem(self, cron: str) -> str | None:
        """Why the schedule service would refuse the expression (ending in '; fix: ...')."""

    def scikit_learn_jobs(self, config: PipelineConfig) -> list[tuple[Location, str, str]]:
        """(key, instance type, which job) of the monitoring jobs on the scikit-learn container."""
        del config
        return []

    def problems(self, config: PipelineConfig) -> list[Issue]:
        """The backend's own rules."""
        del config
        return []


class ModelMonitor(MonitoringBackend):
    name = "model_monitor"
    schedule_name_rule = (GROUP_NAME, 63)
    cron_alternative = ", or monitoring.backend=builtin (any EventBridge expression)"

    def baseline_image(self, config: PipelineConfig) -> str:
        return images.monitor_image(config.aws.region)

    def baseline_steps(
        self, settings: QualityCheck, ctx: BuildContext, name: str, dataset: Any
    ) -> list[Step]:
        return quality_check.build(settings, ctx, name=name, dataset=dataset)

    def baseline(self, name: str) -> Baseline:
        return Baseline(*quality_check.baseline_files(name, job=False))

    def schedule_steps(
        self, config: PipelineConfig, ctx: BuildContext, call: ScheduleCall
    ) -> list[Step]:
        settings = getattr(config.monitoring, call.kind)
        assert call.image is not None
        return schedule.build(
            MonitorSchedule(
                kind=call.kind,
                schedule=settings.schedule,
                schedule_name=schedule_name(config.deployment.endpoint_name, call.kind),
                function_arn=config.deployment.schedule_function_arn,
                function_role_arn=config.deployment.lambda_role_arn,
                image=call.image,
                ground_truth_uri=getattr(settings.schedule, "ground_truth_uri", None),
                positive_class=(
                    config.project.positive_class if call.kind == "model_quality" else None
                ),
                probability_threshold=config.monitoring.model_quality.probability_threshold,
                **_features(config),
            ),
            ctx,
            name=call.name,
            endpoint=call.endpoint,
            check=call.check,
            after=call.deployed,
        )

    def cron_problem(self, cron: str) -> str | None:
        return model_monitor_cron_problem(cron)

    def problems(self, config: PipelineConfig) -> list[Issue]:
        """A check on a first run can never pass; the region must have the analyzer image."""
        monitoring = config.monitoring
        issues = [
            Issue(
                ("monitoring", kind, "skip_check"),
                f"monitoring.{kind}.skip_check = false",
                "on a first run (monitoring.first_run) no baseline is registered yet, so the "
                "check has nothing to check against and can never succeed",
                f"keep monitoring.{kind}.skip_check=true for the first run; after a run has "
                "registered a baseline, set monitoring.first_run=false",
            )
            for kind in KINDS
            if (check := getattr(monitoring, kind)).enabled
            and monitoring.first_run
            and not check.skip_check
        ]
        if monitoring.data_quality.enabled or monitoring.model_quality.enabled:
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


class Builtin(MonitoringBackend):
    name = "builtin"
    schedule_name_rule = (SCHEDULER_NAME, 64)
    cron_alternative = ""

    def baseline_image(self, config: PipelineConfig) -> str:
        return images.scikit_learn_image(config.aws.region, config.monitoring.instance_type)

    def baseline_steps(
        self, settings: QualityCheck, ctx: BuildContext, name: str, dataset: Any
    ) -> list[Step]:
        return quality_check.build_job(settings, ctx, name=name, dataset=dataset)

    def baseline(self, name: str) -> Baseline:
        return Baseline(*quality_check.baseline_files(name, job=True))

    def schedule_steps(
        self, config: PipelineConfig, ctx: BuildContext, call: ScheduleCall
    ) -> list[Step]:
        """A schedule that starts the monitoring pipeline on this endpoint."""
        deployment, monitoring = config.deployment, config.monitoring
        statistics, constraints, *_ = quality_check.baseline_files(call.check, job=True)
        parameters: dict[str, Any] = {
            "EndpointName": call.endpoint,
            "BaselineConstraintsUri": constraints,
            "DataCaptureUri": ctx.parameter("DataCaptureUri"),
        }
        if call.kind == "data_quality":
            parameters["BaselineStatisticsUri"] = statistics
        else:
            parameters["GroundTruthUri"] = monitoring.model_quality.schedule.ground_truth_uri
        return schedule.build_pipeline_schedule(
            PipelineSchedule(
                schedule_name=schedule_name(deployment.endpoint_name, call.kind),
                expression=getattr(monitoring, call.kind).schedule.cron,
                pipeline_arn=monitor_pipeline_arn(config, call.kind),
                scheduler_role_arn=monitoring.scheduler_role_arn,
                function_arn=deployment.schedule_function_arn,
                function_role_arn=deployment.lambda_role_arn,
            ),
            ctx,
            name=call.name,
            parameters=parameters,
            after=call.deployed,
        )

    def monitors(self, config: PipelineConfig) -> list[MonitorPipeline]:
        """One monitoring pipeline per enabled schedule, each its own bundle."""
        monitoring, deployment = config.monitoring, config.deployment
        if not deployment.enabled:
            return []
        aws = config.aws
        place = Place(aws.region, aws.role_arn, aws.bucket, aws.prefix, config.project.name)
        monitors = []
        for kind in KINDS:
            check = getattr(monitoring, kind)
            if not (check.enabled and check.schedule.enabled):
                continue
            ctx = BuildContext(place, declare_parameters(config))
            settings = MonitorJob(
                kind=kind,
                image=images.scikit_learn_image(aws.region, check.schedule.instance_type),
                instance_type=check.schedule.instance_type,
                max_runtime_seconds=check.schedule.max_runtime_seconds,
                window=check.schedule.window,
                cloudwatch_metrics=check.schedule.cloudwatch_metrics,
                schedule_name=schedule_name(deployment.endpoint_name, kind),
                **(_features(config) if kind == "data_quality" else _answers(config)),
            )
            steps = monitor.build(
                settings,
                ctx,
                analyzer=quality_check.ANALYZER,
                record_preprocessor=RECORD_PREPROCESSOR,
            )
            steps = [with_policies(step, config.pipeline.policies()) for step in steps]
            name = monitor_pipeline_name(config.project.pipeline_name, kind)
            pipeline = Pipeline(name, ctx.parameters(), tuple(steps))
            monitors.append(MonitorPipeline(kind, pipeline, ctx))
        return monitors

    def cron_problem(self, cron: str) -> str | None:
        return scheduler_expression_problem(cron)

    def scikit_learn_jobs(self, config: PipelineConfig) -> list[tuple[Location, str, str]]:
        monitoring = config.monitoring
        jobs: list[tuple[Location, str, str]] = [
            (
                ("monitoring", "instance_type"),
                monitoring.instance_type,
                "the builtin baseline jobs run",
            )
        ]
        jobs += [
            (
                ("monitoring", kind, "schedule", "instance_type"),
                getattr(monitoring, kind).schedule.instance_type,
                "the builtin monitoring job runs",
            )
            for kind in KINDS
            if getattr(monitoring, kind).schedule.enabled
        ]
        return jobs

    def problems(self, config: PipelineConfig) -> list[Issue]:
        """Each monitoring pipeline's name, made from the main pipeline's, must be a valid one."""
        issues = []
        for kind in _scheduled(config):
            pipeline_name = config.project.pipeline_name
            monitor = monitor_pipeline_name(pipeline_name, kind)
            if not re.match(PIPELINE_NAME, monitor):
                issues.append(
                    Issue(
                        ("project", "pipeline_name"),
                        f"project.pipeline_name = {pipeline_name!r}",
                        f"its {kind.replace('_', '-')} monitoring pipeline would be named "
                        f"{monitor!r} ({len(monitor)} characters); pipeline names have at most "
                        "256",
                        "shorten project.pipeline_name",
                    )
                )
        return issues


BACKENDS: dict[str, MonitoringBackend] = {b.name: b for b in (ModelMonitor(), Builtin())}


def backend(config: PipelineConfig) -> MonitoringBackend:
    """The object that answers for the configured `monitoring.backend`."""
    return BACKENDS[config.monitoring.backend]


def _scheduled(config: PipelineConfig) -> list[str]:
    """The kinds whose schedule is created: the check, its schedule and deployment all on."""
    return [
        kind
        for kind in KINDS
        if (check := getattr(config.monitoring, kind)).enabled
        and check.schedule.enabled
        and config.deployment.enabled
    ]


def monitor_pipeline_arn(config: PipelineConfig, kind: str) -> str:
    """The ARN SageMaker gives the monitoring pipeline of `kind` (names are lowercased in it)."""
    aws = config.aws
    name = monitor_pipeline_name(config.project.pipeline_name, kind)
    return f"arn:aws:sagemaker:{aws.region}:{aws.role_arn.split(':')[4]}:pipeline/{name.lower()}"


def _features(config: PipelineConfig) -> dict[str, Any]:
    """The features the record preprocessor keeps: the project's own, or the image's pixels."""
    data = config.project.data
    return {
        "numeric_features": tuple(getattr(data, "numeric", ())),
        "categorical_features": tuple(getattr(data, "categorical", ())),
        "pixel_features": data.kind == "image",
    }


def _answers(config: PipelineConfig) -> dict[str, Any]:
    """What model quality reads in the endpoint's answers: a binary model's positive class's
    probability, else the predicted class's (components/model/record.schema.json)."""
    positive = config.project.positive_class
    if positive is None:
        return {"problem_type": "MulticlassClassification", "probability_attribute": "0.confidence"}
    return {
        "problem_type": "BinaryClassification",
        "probability_attribute": "0.probability",
        "probability_threshold": config.monitoring.model_quality.probability_threshold,
        "positive_label": positive,
    }

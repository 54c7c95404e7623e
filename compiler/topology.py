"""The pipeline's topology: which step feeds which, for every training mode and stage switch.

The one module that wires components together. Each component builds its steps from its own
settings and the references handed to it here; this module maps the validated config to those
settings and passes each step's outputs to the steps that read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compiler.parameters import declare_parameters
from compiler.schema import PipelineConfig, model_quality_attributes
from components.deploy import step as deploy
from components.deploy.contract import OUTPUT as ENDPOINT_OUTPUT
from components.evaluate import contract as report
from components.evaluate import step as evaluate
from components.evaluate.config import Evaluate
from components.gate import step as gate
from components.lambda_step import step as lambda_step
from components.lambda_step.config import Succeeded
from components.lambda_step.contract import output
from components.model import step as model
from components.model.config import Model
from components.model.contract import serving_environment
from components.monitor import step as monitor
from components.monitor.config import MonitorJob, monitor_pipeline_name
from components.preprocess import contract as preprocessed
from components.preprocess import step as preprocess
from components.preprocess.config import Preprocess
from components.quality_check import step as quality_check
from components.quality_check.config import QualityCheck
from components.register import step as register
from components.register.config import Register
from components.register.step import Baseline
from components.schedule import step as schedule
from components.schedule.config import MonitorSchedule, PipelineSchedule, schedule_name
from components.schedule.contract import RECORD_PREPROCESSOR
from components.train import step as train
from components.train.config import Training
from components.train.contract import CHANNELS
from components.transform import step as transform
from components.transform.config import Transform
from components.tune import step as tune
from components.tune.config import Tune, search_ranges
from kernel import images
from kernel.context import BuildContext, Place
from kernel.frameworks import FRAMEWORKS, SKLEARN_VERSION, hyperparameters
from kernel.ir import Join, JsonGet, Pipeline, Step, StepRef, model_artifacts, step_output
from kernel.policies import Policies, Retry, with_policies

DATA_QUALITY = "DataQualityBaseline"


@dataclass(frozen=True)
class Images:
    """The containers of one pipeline, resolved once for its framework, region and instances."""

    preprocess: str
    training: str  # also Evaluate's: the framework's training image can load the model
    inference: str
    monitor: str | None  # the quality baselines': Model Monitor's, or builtin scikit-learn's


def resolve_images(config: PipelineConfig) -> Images:
    fw, region = config.framework, config.aws.region

    def framework_image(scope: str, instance_type: str) -> str:
        return images.image_uri(fw.name, scope, fw.version, fw.py_version, region, instance_type)

    monitoring = config.monitoring
    monitor = None
    if monitoring.data_quality.enabled or monitoring.model_quality.enabled:
        monitor = (
            _sklearn_image(config, monitoring.instance_type)
            if monitoring.backend == "builtin"
            else images.monitor_image(region)
        )
    return Images(
        preprocess=_sklearn_image(config, fw.processing_instance_type),
        training=fw.training_image or framework_image("training", fw.training_instance_type),
        inference=fw.inference_image or framework_image("inference", fw.inference_instance_type),
        monitor=monitor,
    )


def _sklearn_image(config: PipelineConfig, instance_type: str) -> str:
    """The scikit-learn container: preprocessing, and the builtin backend's monitoring jobs."""
    region = config.aws.region
    return images.image_uri("sklearn", "training", SKLEARN_VERSION, "py3", region, instance_type)


def _baseline_steps(
    config: PipelineConfig, ctx: BuildContext, settings: QualityCheck, name: str, dataset: Any
) -> list[Step]:
    """A quality baseline: a QualityCheck step, or (builtin backend) the analyzer as a job."""
    if config.monitoring.backend == "builtin":
        return quality_check.build_job(settings, ctx, name=name, dataset=dataset)
    return quality_check.build(settings, ctx, name=name, dataset=dataset)


def _baseline(config: PipelineConfig, name: str | None) -> Baseline | None:
    if name is None:
        return None
    job = config.monitoring.backend == "builtin"
    return Baseline(*quality_check.baseline_files(name, job=job))


def build_pipeline(config: PipelineConfig) -> tuple[Pipeline, BuildContext]:
    """Preprocess -> Train and/or Tune -> Evaluate each candidate -> Gate -> Register | Fail.

    With monitoring on: a data-quality baseline after Preprocess, a model-quality baseline per
    candidate; with deployment on: Approved models are deployed and their schedules created.
    """
    aws = config.aws
    place = Place(aws.region, aws.role_arn, aws.bucket, aws.prefix, config.project.name)
    ctx = BuildContext(place, declare_parameters(config))
    image = resolve_images(config)
    project, monitoring = config.project, config.monitoring

    steps = preprocess.build(
        Preprocess(
            data=project.data,
            split=project.split,
            classes=tuple(project.classes),
            image=image.preprocess,
            script=project.scripts.preprocess or preprocessed.SCRIPTS[project.data.kind],
        ),
        ctx,
    )
    channels = {c: step_output(preprocessed.NAME, c) for c in CHANNELS}
    own, framework = project.scripts, FRAMEWORKS[config.framework.name]
    training = Training(
        image=image.training,
        program=own.train or framework.training_script,
        sources=(
            *framework.sources(),
            *([f"projects/{project.name}"] if own.train or own.inference else []),
        ),
        hyperparameters=hyperparameters(framework.name, project.hyperparameters.model_dump()),
        inference_handler=own.inference or framework.inference_handler,
    )
    models: list[tuple[str, Any]] = []  # (label, model URI)
    if config.training.mode in ("train", "train_and_tune"):
        steps += train.build(training, ctx, channels)
        models.append((train.NAME, model_artifacts(train.NAME)))
    if config.training.mode in ("tune", "train_and_tune"):
        assert config.training.tuning is not None, "validated: tuning modes carry tuning settings"
        tuning = config.training.tuning
        search = search_ranges(framework.name, tuning)
        steps += tune.build(Tune(training=training, ranges=search, tuning=tuning), ctx, channels)
        top_k = config.training.top_k
        labels = [tune.NAME] if top_k == 1 else [f"Top{k + 1}" for k in range(top_k)]
        models += [(label, tune.top_model_uri(ctx, k)) for k, label in enumerate(labels)]

    data_quality = None
    if monitoring.data_quality.enabled:
        assert image.monitor is not None
        settings = QualityCheck(
            kind="DATA_QUALITY",
            image=image.monitor,
            instance_type=monitoring.instance_type,
            model_package_group=project.model_package_group,
            fail_on_violation=monitoring.data_quality.fail_on_violation,
        )
        records = Join(
            "/", (step_output(preprocessed.NAME, "baseline"), preprocessed.DATA_QUALITY_RECORDS)
        )
        steps += _baseline_steps(config, ctx, settings, DATA_QUALITY, records)
        data_quality = DATA_QUALITY

    candidates = []
    for label, uri in models:
        suffix = "" if len(models) == 1 else label
        evaluation = f"Evaluate{suffix}"
        steps += evaluate.build(
            Evaluate(
                image=image.training,
                script=project.scripts.evaluate or report.SCRIPT,
                classes=tuple(project.classes),
                positive_class=project.positive_class,
            ),
            ctx,
            name=evaluation,
            model_uri=uri,
            test_data=step_output(preprocessed.NAME, "test"),
        )
        model_quality = None
        if monitoring.model_quality.enabled:
            model_quality = f"ModelQualityBaseline{suffix}"
            steps += _model_quality_steps(config, ctx, image, suffix, uri, model_quality)
        candidates.append(
            gate.Candidate(
                suffix=suffix,
                metric=JsonGet(evaluation, report.PROPERTY_FILE, config.gate.metric),
                approved=tuple(
                    _approved_steps(config, ctx, image, suffix, uri, data_quality, model_quality)
                ),
                pending=tuple(
                    _register(
                        config,
                        ctx,
                        image,
                        f"RegisterPending{suffix}",
                        "PendingManualApproval",
                        uri,
                        evaluation,
                        data_quality,
                        model_quality,
                    )
                ),
            )
        )
    steps += gate.build(config.gate, ctx, candidates)
    production = policies(config)
    steps = [with_policies(step, production) for step in steps]
    return Pipeline(project.pipeline_name, ctx.parameters(), tuple(steps)), ctx


def policies(config: PipelineConfig) -> Policies:
    """The retry and cache policies of config.pipeline."""
    retry, cache = config.pipeline.retry, config.pipeline.cache

    def policy(settings: Any) -> Retry | None:
        if not settings.enabled:
            return None
        return Retry(settings.interval_seconds, settings.backoff_rate, settings.max_attempts)

    return Policies(
        service_retry=policy(retry.service),
        job_retry=policy(retry.job),
        cache_expire_after=cache.expire_after if cache.enabled else None,
    )


def _serving_environment(config: PipelineConfig) -> dict[str, str]:
    framework = FRAMEWORKS[config.framework.name].environment()
    return serving_environment(framework, config.project.positive_class)


def _model_quality_steps(
    config: PipelineConfig, ctx: BuildContext, image: Images, suffix: str, uri: Any, check: str
) -> list[Step]:
    """CreateModel -> TransformTestSet -> ModelQualityBaseline for one candidate model."""
    monitoring = config.monitoring
    model_step, transform_step = f"CreateModel{suffix}", f"TransformTestSet{suffix}"
    records = Join("/", (step_output(preprocessed.NAME, "baseline"), preprocessed.TEST_RECORDS))
    assert image.monitor is not None
    project = config.project
    settings = QualityCheck(
        kind="MODEL_QUALITY",
        image=image.monitor,
        instance_type=monitoring.instance_type,
        model_package_group=project.model_package_group,
        fail_on_violation=monitoring.model_quality.fail_on_violation,
        problem_type="BinaryClassification" if project.binary else "MulticlassClassification",
        attributes=model_quality_attributes(config),
        positive_label=project.positive_class,
    )
    return [
        *model.build(
            Model(image=image.inference, environment=_serving_environment(config)),
            ctx,
            name=model_step,
            model_uri=uri,
        ),
        *transform.build(
            Transform(instance_type=monitoring.instance_type),
            ctx,
            name=transform_step,
            model_name=model.model_name(model_step),
            records=records,
        ),
        *_baseline_steps(config, ctx, settings, check, transform.predictions(transform_step)),
    ]


def _register(
    config: PipelineConfig,
    ctx: BuildContext,
    image: Images,
    name: str,
    status: Any,
    uri: Any,
    evaluation: str,
    data_quality: str | None,
    model_quality: str | None,
) -> list[Step]:
    settings = Register(
        model_package_group=config.project.model_package_group,
        image=image.inference,
        instance_type=config.framework.inference_instance_type,
        status=status,
        environment=_serving_environment(config),
    )
    report_uri = Join("/", (step_output(evaluation, report.OUTPUT), report.FILE))
    return register.build(
        settings,
        ctx,
        name=name,
        model_uri=uri,
        report_uri=report_uri,
        data_quality=_baseline(config, data_quality),
        model_quality=_baseline(config, model_quality),
    )


def _approved_steps(
    config: PipelineConfig,
    ctx: BuildContext,
    image: Images,
    suffix: str,
    uri: Any,
    data_quality: str | None,
    model_quality: str | None,
) -> list[Step]:
    """RegisterApproved, then (with deployment) Deploy -> schedules -> their checks."""
    approved = f"RegisterApproved{suffix}"
    evaluation = f"Evaluate{suffix}"
    steps = _register(
        config, ctx, image, approved, "Approved", uri, evaluation, data_quality, model_quality
    )
    deployment, monitoring = config.deployment, config.monitoring
    if not deployment.enabled:
        return steps
    deployed = f"Deploy{suffix}"
    deploy_steps = deploy.build(
        deployment, ctx, name=deployed, package_arn=register.package_arn(approved), after=approved
    )
    endpoint = output(deployed, ENDPOINT_OUTPUT)
    schedules: list[Step] = []
    for kind, check in (("data_quality", data_quality), ("model_quality", model_quality)):
        if check is None or not getattr(monitoring, kind).schedule.enabled:
            continue
        name = f"Schedule{''.join(w.title() for w in kind.split('_'))}Monitor{suffix}"
        if monitoring.backend == "builtin":
            schedules += _pipeline_schedule(config, ctx, kind, check, name, endpoint, deployed)
            continue
        settings = getattr(monitoring, kind)
        assert image.monitor is not None
        schedules += schedule.build(
            MonitorSchedule(
                kind=kind,
                schedule=settings.schedule,
                schedule_name=schedule_name(deployment.endpoint_name, kind),
                function_arn=deployment.schedule_function_arn,
                function_role_arn=deployment.lambda_role_arn,
                image=image.monitor,
                ground_truth_uri=getattr(settings.schedule, "ground_truth_uri", None),
                positive_class=config.project.positive_class if kind == "model_quality" else None,
                **_features(config),
            ),
            ctx,
            name=name,
            endpoint=endpoint,
            check=check,
            after=deployed,
        )
    after_deploy = list(schedules)
    if schedules:
        after_deploy += lambda_step.build(
            Succeeded(name=f"Monitoring{suffix}"), ctx, calls=schedules, then=[]
        )
    checked = lambda_step.build(
        Succeeded(name=f"Deploy{suffix}"), ctx, calls=deploy_steps, then=after_deploy
    )
    return [*steps, *deploy_steps, *checked]


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
        "positive_label": positive,
    }


def monitor_pipeline_arn(config: PipelineConfig, kind: str) -> str:
    """The ARN SageMaker gives the monitoring pipeline of `kind` (names are lowercased in it)."""
    aws = config.aws
    name = monitor_pipeline_name(config.project.pipeline_name, kind)
    return f"arn:aws:sagemaker:{aws.region}:{aws.role_arn.split(':')[4]}:pipeline/{name.lower()}"


def _pipeline_schedule(
    config: PipelineConfig,
    ctx: BuildContext,
    kind: str,
    check: str,
    name: str,
    endpoint: StepRef,
    deployed: str,
) -> list[Step]:
    """Builtin backend: a schedule that starts the monitoring pipeline on this endpoint."""
    deployment, monitoring = config.deployment, config.monitoring
    statistics, constraints, *_ = quality_check.baseline_files(check, job=True)
    parameters: dict[str, Any] = {
        "EndpointName": endpoint,
        "BaselineConstraintsUri": constraints,
        "DataCaptureUri": ctx.parameter("DataCaptureUri"),
    }
    if kind == "data_quality":
        parameters["BaselineStatisticsUri"] = statistics
    else:
        parameters["GroundTruthUri"] = monitoring.model_quality.schedule.ground_truth_uri
    return schedule.build_pipeline_schedule(
        PipelineSchedule(
            schedule_name=schedule_name(deployment.endpoint_name, kind),
            expression=getattr(monitoring, kind).schedule.cron,
            pipeline_arn=monitor_pipeline_arn(config, kind),
            scheduler_role_arn=monitoring.scheduler_role_arn,
            function_arn=deployment.schedule_function_arn,
            function_role_arn=deployment.lambda_role_arn,
        ),
        ctx,
        name=name,
        parameters=parameters,
        after=deployed,
    )


@dataclass(frozen=True)
class MonitorPipeline:
    kind: str
    pipeline: Pipeline
    ctx: BuildContext


def build_monitors(config: PipelineConfig) -> list[MonitorPipeline]:
    """Builtin backend: one monitoring pipeline per enabled schedule, each its own bundle."""
    monitoring, deployment = config.monitoring, config.deployment
    if monitoring.backend != "builtin" or not deployment.enabled:
        return []
    aws = config.aws
    place = Place(aws.region, aws.role_arn, aws.bucket, aws.prefix, config.project.name)
    monitors = []
    for kind in ("data_quality", "model_quality"):
        check = getattr(monitoring, kind)
        if not (check.enabled and check.schedule.enabled):
            continue
        ctx = BuildContext(place, declare_parameters(config))
        settings = MonitorJob(
            kind=kind,
            image=_sklearn_image(config, check.schedule.instance_type),
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
        steps = [with_policies(step, policies(config)) for step in steps]
        name = monitor_pipeline_name(config.project.pipeline_name, kind)
        monitors.append(MonitorPipeline(kind, Pipeline(name, ctx.parameters(), tuple(steps)), ctx))
    return monitors

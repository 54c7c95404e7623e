"""The pipeline's topology: which step feeds which, for every training mode and stage switch.

The one module that wires components together. Each component builds its steps from its own
settings and the references handed to it here; this module maps the validated config to those
settings and passes each step's outputs to the steps that read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compiler.monitoring import MonitorPipeline, ScheduleCall, backend
from compiler.parameters import declare_parameters
from compiler.schema import PipelineConfig
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
from components.preprocess import contract as preprocessed
from components.preprocess import step as preprocess
from components.preprocess.config import Preprocess
from components.quality_check.config import QualityCheck, QualityKind
from components.register import step as register
from components.register.config import Register
from components.train import step as train
from components.train.config import Training
from components.train.contract import CHANNELS
from components.transform import step as transform
from components.transform.config import Transform
from components.tune import step as tune
from components.tune.config import Tune, search_ranges
from kernel import images
from kernel.context import BuildContext, Place
from kernel.frameworks import FRAMEWORKS, hyperparameters
from kernel.ir import Join, JsonGet, Pipeline, Step, model_artifacts, step_output
from kernel.policies import with_policies

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

    monitoring = config.monitoring
    monitored = monitoring.data_quality.enabled or monitoring.model_quality.enabled
    return Images(
        preprocess=images.scikit_learn_image(region, fw.processing_instance_type),
        training=fw.training_image or fw.aws_image("training", region),
        inference=fw.inference_image or fw.aws_image("inference", region),
        monitor=backend(config).baseline_image(config) if monitored else None,
    )


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
        settings = _quality_check(config, image, "DATA_QUALITY")
        records = _baseline_records(preprocessed.DATA_QUALITY_RECORDS)
        steps += backend(config).baseline_steps(settings, ctx, DATA_QUALITY, records)
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
    production = config.pipeline.policies()
    steps = [with_policies(step, production) for step in steps]
    return Pipeline(project.pipeline_name, ctx.parameters(), tuple(steps)), ctx


def _serving_environment(config: PipelineConfig) -> dict[str, str]:
    framework = FRAMEWORKS[config.framework.name].environment()
    return serving_environment(framework, config.project.positive_class)


def _quality_check(
    config: PipelineConfig, image: Images, kind: QualityKind, **model_quality: Any
) -> QualityCheck:
    """A data or model quality baseline's settings; a model quality one adds its own."""
    monitoring = config.monitoring
    check = monitoring.data_quality if kind == "DATA_QUALITY" else monitoring.model_quality
    assert image.monitor is not None
    return QualityCheck(
        kind=kind,
        image=image.monitor,
        instance_type=monitoring.instance_type,
        model_package_group=config.project.model_package_group,
        fail_on_violation=check.fail_on_violation,
        **model_quality,
    )


def _baseline_records(name: str) -> Join:
    """The records file `name` in the preprocess step's baseline output."""
    return Join("/", (step_output(preprocessed.NAME, "baseline"), name))


def _model_quality_steps(
    config: PipelineConfig, ctx: BuildContext, image: Images, suffix: str, uri: Any, check: str
) -> list[Step]:
    """CreateModel -> TransformTestSet -> ModelQualityBaseline for one candidate model."""
    monitoring = config.monitoring
    model_step, transform_step = f"CreateModel{suffix}", f"TransformTestSet{suffix}"
    records = _baseline_records(preprocessed.TEST_RECORDS)
    project = config.project
    settings = _quality_check(
        config,
        image,
        "MODEL_QUALITY",
        problem_type="BinaryClassification" if project.binary else "MulticlassClassification",
        attributes=monitoring.model_quality.attributes(project.binary),
        positive_label=project.positive_class,
        probability_threshold=monitoring.model_quality.probability_threshold,
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
        *backend(config).baseline_steps(
            settings, ctx, check, transform.predictions(transform_step)
        ),
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
        data_quality=backend(config).baseline(data_quality) if data_quality else None,
        model_quality=backend(config).baseline(model_quality) if model_quality else None,
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
        call = ScheduleCall(kind, check, name, endpoint, deployed, image.monitor)
        schedules += backend(config).schedule_steps(config, ctx, call)
    after_deploy = list(schedules)
    if schedules:
        after_deploy += lambda_step.build(
            Succeeded(name=f"Monitoring{suffix}"), ctx, calls=schedules, then=[]
        )
    checked = lambda_step.build(
        Succeeded(name=f"Deploy{suffix}"), ctx, calls=deploy_steps, then=after_deploy
    )
    return [*steps, *deploy_steps, *checked]


def build_monitors(config: PipelineConfig) -> list[MonitorPipeline]:
    """The pipelines compiled beside the main one: the builtin backend's monitoring pipelines."""
    return backend(config).monitors(config)

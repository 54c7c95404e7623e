"""Assemble the pipeline graph from the components, for the selected training mode."""

from __future__ import annotations

from compiler.context import BuildContext
from compiler.graph import Join, Pipeline, Step, StepRef, model_artifacts
from components.evaluate import step as evaluate
from components.gate import step as gate
from components.gate.step import Candidate
from components.monitor import step as monitor
from components.preprocess import step as preprocess
from components.train import step as train
from components.tune import step as tune


def build_pipeline(ctx: BuildContext) -> Pipeline:
    """Preprocess -> Train and/or Tune -> Evaluate each candidate -> Gate -> Register | Fail.

    With monitoring on: a data-quality baseline after Preprocess, a model-quality baseline per
    candidate; with deployment on: Approved models are deployed and their schedules created.
    """
    training = ctx.config.training
    steps: list[Step] = [preprocess.build(ctx)]
    models: list[tuple[str, StepRef | Join]] = []  # (label, model URI)
    if training.mode in ("train", "train_and_tune"):
        steps.append(train.build(ctx))
        models.append((train.NAME, model_artifacts(train.NAME)))
    if training.mode in ("tune", "train_and_tune"):
        steps.append(tune.build(ctx))
        if training.top_k == 1:
            models.append((tune.NAME, tune.top_model_uri(ctx, 0)))
        else:
            models += [(f"Top{k + 1}", tune.top_model_uri(ctx, k)) for k in range(training.top_k)]
    monitoring = ctx.config.monitoring
    data_quality = None
    if monitoring.data_quality.enabled:
        steps.append(monitor.data_quality_check(ctx))
        data_quality = monitor.DATA_QUALITY
    candidates = []
    for label, uri in models:
        suffix = "" if len(models) == 1 else label
        steps.append(evaluate.build(ctx, f"Evaluate{suffix}", uri))
        model_quality = None
        if monitoring.model_quality.enabled:
            quality_steps = monitor.model_quality_steps(ctx, suffix, uri)
            steps += quality_steps
            model_quality = quality_steps[-1].name
        candidates.append(Candidate(label, uri, f"Evaluate{suffix}", model_quality))
    steps.append(gate.build(ctx, candidates, data_quality))
    parameters = tuple(ctx.parameters[name] for name in sorted(ctx.parameters))
    return Pipeline(ctx.config.project.pipeline_name, parameters, tuple(steps))

"""The pipeline's parameters: the only place they are declared.

Each can be changed per execution without recompiling; its default comes from the config. A
definition lists the parameters its steps use (a pipeline without monitoring has no Skip*).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from compiler.schema import PipelineConfig
from kernel.ir import Parameter


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    type: str  # "String" | "Float" | "Integer" | "Boolean"
    default: Callable[[PipelineConfig], str | float | int | bool]
    key: str  # the config key the default comes from
    description: str


PARAMETERS = (
    ParameterSpec(
        "InputDataUri",
        "String",
        lambda c: c.project.input_data_uri,
        "project.input_data_uri",
        "S3 prefix of the raw data the Preprocess step reads",
    ),
    ParameterSpec(
        "ProcessingInstanceType",
        "String",
        lambda c: c.framework.processing_instance_type,
        "framework.processing_instance_type",
        "instance type of the Preprocess and Evaluate jobs",
    ),
    ParameterSpec(
        "TrainingInstanceType",
        "String",
        lambda c: c.framework.training_instance_type,
        "framework.training_instance_type",
        "instance type of the training (and tuning trial) jobs",
    ),
    ParameterSpec(
        "ApproveThreshold",
        "Float",
        lambda c: c.gate.approve,
        "gate.approve",
        "gate metric at or above which a model is registered Approved",
    ),
    ParameterSpec(
        "PendingThreshold",
        "Float",
        lambda c: c.gate.pending,
        "gate.pending",
        "gate metric at or above which a model waits for manual approval",
    ),
    ParameterSpec(
        "SkipDataQualityCheck",
        "Boolean",
        lambda c: c.monitoring.data_quality.skip_check,
        "monitoring.data_quality.skip_check",
        "compute the data-quality baseline without checking against the registered one",
    ),
    ParameterSpec(
        "RegisterNewDataQualityBaseline",
        "Boolean",
        lambda c: c.monitoring.data_quality.register_new_baseline,
        "monitoring.data_quality.register_new_baseline",
        "register the new data-quality baseline as the drift-check baseline",
    ),
    ParameterSpec(
        "SkipModelQualityCheck",
        "Boolean",
        lambda c: c.monitoring.model_quality.skip_check,
        "monitoring.model_quality.skip_check",
        "compute the model-quality baseline without checking against the registered one",
    ),
    ParameterSpec(
        "RegisterNewModelQualityBaseline",
        "Boolean",
        lambda c: c.monitoring.model_quality.register_new_baseline,
        "monitoring.model_quality.register_new_baseline",
        "register the new model-quality baseline as the drift-check baseline",
    ),
    ParameterSpec(
        "DataCapturePercentage",
        "Integer",
        lambda c: c.deployment.data_capture_percentage,
        "deployment.data_capture_percentage",
        "share of endpoint requests captured for monitoring",
    ),
    ParameterSpec(
        "DataCaptureUri",
        "String",
        lambda c: c.deployment.data_capture_uri,
        "deployment.data_capture_uri",
        "S3 prefix the endpoint writes captured requests to",
    ),
    # The builtin backend's monitoring pipelines: their schedule passes the endpoint and baseline.
    ParameterSpec(
        "EndpointName",
        "String",
        lambda c: c.deployment.endpoint_name,
        "deployment.endpoint_name",
        "the endpoint whose captured requests are checked",
    ),
    ParameterSpec(
        "GroundTruthUri",
        "String",
        lambda c: c.monitoring.model_quality.schedule.ground_truth_uri,
        "monitoring.model_quality.schedule.ground_truth_uri",
        "S3 prefix of the ground truth written for captured requests",
    ),
    ParameterSpec(
        "BaselineStatisticsUri",
        "String",
        lambda c: "",
        "(none: the schedule sets it)",
        "statistics.json of the baseline to check against; set by the schedule",
    ),
    ParameterSpec(
        "BaselineConstraintsUri",
        "String",
        lambda c: "",
        "(none: the schedule sets it)",
        "constraints.json of the baseline to check against; set by the schedule",
    ),
)


def declare_parameters(config: PipelineConfig) -> dict[str, Parameter]:
    """Every parameter with its default taken from the validated config."""
    return {p.name: Parameter(p.name, p.type, p.default(config)) for p in PARAMETERS}

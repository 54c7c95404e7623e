"""Settings of a monitoring pipeline: the builtin backend's scheduled check of the endpoint."""

from __future__ import annotations

from typing import Literal

from kernel.settings import Settings


def monitor_pipeline_name(pipeline_name: str, kind: str) -> str:
    """The monitoring pipeline of `kind` beside pipeline `pipeline_name`."""
    return f"{pipeline_name}-{kind.replace('_', '-')}-monitor"


class MonitorJob(Settings):
    """What one monitoring pipeline (its job, the violation check, the failure) is built from."""

    kind: Literal["data_quality", "model_quality"]
    image: str  # the scikit-learn container: the job and the analyzer need pandas and numpy
    instance_type: str
    max_runtime_seconds: int
    window: str  # ISO 8601: the captures of this last stretch of time are checked
    cloudwatch_metrics: bool
    schedule_name: str  # the CloudWatch dimension MonitoringSchedule, as Model Monitor names it
    # data_quality: the features the record preprocessor keeps (the project's own)
    numeric_features: tuple[str, ...] = ()
    categorical_features: tuple[str, ...] = ()
    pixel_features: bool = False
    # model_quality: the analyzer's settings over the captured answer and the ground truth
    problem_type: Literal["MulticlassClassification", "BinaryClassification"] = (
        "MulticlassClassification"
    )
    inference_attribute: str = "0.label"
    probability_attribute: str = "0.confidence"
    positive_label: str | None = None  # BinaryClassification over class names: the positive one
    probability_threshold: float = 0.5  # BinaryClassification: at or above it, the positive class

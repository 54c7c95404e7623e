"""Settings of the quality baselines (QualityCheck steps)."""

from __future__ import annotations

from typing import Literal

from kernel.settings import Settings


class Check(Settings):
    """A QualityCheck step; skip_check and register_new_baseline are parameter defaults."""

    enabled: bool = True
    skip_check: bool = True
    register_new_baseline: bool = True
    fail_on_violation: bool = True


class ModelQualityAttributes(Settings):
    """Where the joined transform records hold the prediction, its probability and the truth."""

    inference_attribute: str = "SageMakerOutput.label"
    # None: the problem type's own (the compiler picks the positive class's for a binary model)
    probability_attribute: str | None = None
    ground_truth_attribute: str = "ground_truth"


QualityKind = Literal["DATA_QUALITY", "MODEL_QUALITY"]


class QualityCheck(Settings):
    """What one QualityCheck step is built from."""

    kind: QualityKind
    image: str  # the Model Monitor analyzer of the region; builtin: the scikit-learn container
    instance_type: str
    model_package_group: str
    fail_on_violation: bool
    problem_type: Literal["MulticlassClassification", "BinaryClassification"] = (
        "MulticlassClassification"
    )
    attributes: ModelQualityAttributes | None = None  # MODEL_QUALITY only
    # BinaryClassification: the label that counts as positive (the analyzer's extension; the
    # labels are class names, not Model Monitor's 0/1)
    positive_label: str | None = None
    # BinaryClassification with a probability: at or above it, the positive class
    probability_threshold: float = 0.5

"""QualityCheck: baseline statistics and constraints of the data, or of the model's predictions.

Data quality is computed on the training records as live requests carry them (no label); model
quality on the batch transform's joined records (prediction beside ground truth). Whether a run
checks against the registered baseline, and whether it registers a new one, are pipeline
parameters.

The builtin backend computes the same baseline without Model Monitor: the analyzer runs as a
Processing job in the scikit-learn container, always calculating a new baseline (no check).
"""

from __future__ import annotations

import json
from typing import Any

from components.quality_check.config import QualityCheck
from kernel.context import BuildContext
from kernel.ir import Join, Step, StepRef, step_output
from kernel.jobs import processing_arguments, processing_input, processing_output

# What each check reads: preprocess's data-quality CSV (preprocess.contract.DATA_QUALITY_RECORDS,
# written as the SDK's DatasetFormat.csv(header=True) says) and the transform's JSON lines.
DATASET_FORMATS = {
    "DATA_QUALITY": json.dumps({"csv": {"header": True, "output_columns_position": "START"}}),
    "MODEL_QUALITY": json.dumps({"json": {"lines": True}}),
}
INPUT_DIR = "/opt/ml/processing/input/baseline_dataset_input"
OUTPUT = "quality_check_output"
# The analyzer that stands in for Model Monitor's container where none runs (the local engine),
# shipped in the bundle as this asset.
ANALYZER = "components/quality_check/scripts/analyzer.py"
ANALYZER_ASSET = "quality-check-analyzer"
PARAMETERS = {  # (skip the check, register a new baseline), per check type
    "DATA_QUALITY": ("SkipDataQualityCheck", "RegisterNewDataQualityBaseline"),
    "MODEL_QUALITY": ("SkipModelQualityCheck", "RegisterNewModelQualityBaseline"),
}


def _environment(settings: QualityCheck, output_path: str) -> dict[str, str]:
    env = {
        "dataset_format": DATASET_FORMATS[settings.kind],
        "dataset_source": INPUT_DIR,
        "output_path": output_path,
        "publish_cloudwatch_metrics": "Disabled",
    }
    if settings.attributes is not None:
        env |= {
            "analysis_type": "MODEL_QUALITY",
            "ground_truth_attribute": settings.attributes.ground_truth_attribute,
            "inference_attribute": settings.attributes.inference_attribute,
            "problem_type": settings.problem_type,
        }
        if settings.attributes.probability_attribute is not None:
            env["probability_attribute"] = settings.attributes.probability_attribute
            if settings.problem_type == "BinaryClassification":
                # Model Monitor reads binary probabilities as labels without it
                env["probability_threshold_attribute"] = str(settings.probability_threshold)
    if settings.positive_label is not None:
        env["positive_label"] = settings.positive_label
    return env


def build(settings: QualityCheck, ctx: BuildContext, *, name: str, dataset: Any) -> list[Step]:
    """A QualityCheck step `name` over the records at `dataset`."""
    ctx.code_asset(ANALYZER_ASSET, ANALYZER)
    output = processing_output(ctx, name, OUTPUT)
    output["S3Output"]["LocalPath"] = "/opt/ml/processing/output"
    arguments = {
        "AppSpecification": {"ImageUri": settings.image},
        "Environment": _environment(settings, "/opt/ml/processing/output"),
        "ProcessingInputs": [processing_input("baseline_dataset_input", dataset, INPUT_DIR)],
        "ProcessingOutputConfig": {"Outputs": [output]},
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": settings.instance_type,
                "VolumeSizeInGB": 30,
            }
        },
        "RoleArn": ctx.role,
    }
    skip, register_new = PARAMETERS[settings.kind]
    extra = {
        "CheckType": settings.kind,
        "FailOnViolation": settings.fail_on_violation,
        "ModelPackageGroupName": settings.model_package_group,
        "RegisterNewBaseline": ctx.parameter(register_new),
        "SkipCheck": ctx.parameter(skip),
        "SuppliedBaselineConstraints": None,
        "SuppliedBaselineStatistics": None,
    }
    return [Step(name=name, type="QualityCheck", arguments=arguments, extra=extra)]


def build_job(settings: QualityCheck, ctx: BuildContext, *, name: str, dataset: Any) -> list[Step]:
    """The builtin backend's baseline `name`: the analyzer as a Processing job over `dataset`."""
    arguments = processing_arguments(
        ctx,
        step=name,
        image=settings.image,
        code_path=ANALYZER,
        code_asset=ANALYZER_ASSET,
        inputs=[processing_input("baseline_dataset_input", dataset, INPUT_DIR)],
        outputs=(OUTPUT,),
        instance_type=settings.instance_type,
    )
    arguments["Environment"] = _environment(settings, f"/opt/ml/processing/{OUTPUT}")
    return [Step(name=name, type="Processing", arguments=arguments, outputs=(OUTPUT,))]


def baseline_files(name: str, *, job: bool) -> tuple[Any, Any, Any, Any]:
    """Statistics and constraints of baseline step `name`: calculated, then for drift checks.

    A QualityCheck step reports both pairs as properties; a builtin job's files are at its
    output, and the new baseline is the one later checks use.
    """
    if job:
        folder = step_output(name, OUTPUT)
        files = (Join("/", (folder, "statistics.json")), Join("/", (folder, "constraints.json")))
        return (*files, *files)
    return tuple(  # type: ignore[return-value]
        StepRef(name, f"{kind}{part}")
        for kind in ("CalculatedBaseline", "BaselineUsedForDriftCheck")
        for part in ("Statistics", "Constraints")
    )

"""The cache key table against AWS's documented rules.

Source: Amazon SageMaker Developer Guide, "Caching pipeline steps", section "Default cache key
attributes by pipeline step type"
(https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-default-keys.html; also in
awsdocs/amazon-sagemaker-developer-guide, doc_source/pipelines-caching.md). The page lists, per
step type, the attributes that "if changed, initiate a rerun of the step", and says step caching
is available for Processing, Training, Tuning, AutoML, Transform, ClarifyCheck, QualityCheck and
EMR steps only.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bundle.cache import (
    CACHE_KEYS,
    affects_cache,
    cache_key_fields,
    cache_key_values,
    caching_enabled,
    field_name,
)
from kernel.notation import all_steps

PAIRS = Path(__file__).parent / "pairs"

# The page's lists, word for word (child attributes written Parent.Child).
DOCUMENTED = {
    "Processing": ["AppSpecification", "Environment", "ProcessingInputs"],
    "Training": [
        "AlgorithmSpecification",
        "CheckpointConfig",
        "DebugHookConfig",
        "DebugRuleConfigurations",
        "Environment",
        "HyperParameters",
        "InputDataConfig",
    ],
    "Tuning": [
        "HyperParameterTuningJobConfig",
        "TrainingJobDefinition.AlgorithmSpecification",
        "TrainingJobDefinition.HyperParameterRanges",
        "TrainingJobDefinition.InputDataConfig",
        "TrainingJobDefinition.StaticHyperParameters",
        "TrainingJobDefinition.TuningObjective",
        "TrainingJobDefinitions",
    ],
    "AutoML": [
        "AutoMLJobConfig.CompletionCriteria",
        "AutoMLJobConfig.CandidateGenerationConfig",
        "AutoMLJobConfig.DataSplitConfig",
        "AutoMLJobConfig.Mode",
        "AutoMLJobObjective",
        "InputDataConfig",
        "ProblemType",
    ],
    "Transform": ["DataProcessing", "Environment", "ModelName", "TransformInput"],
    "EMR": ["ClusterId", "StepConfig"],
}
CHECK_STEP_FIELDS = {
    "ClarifyCheck": [
        "SkipCheck",
        "RegisterNewBaseline",
        "ModelPackageGroupName",
        "SuppliedBaselineConstraints",
    ],
    "QualityCheck": [
        "SkipCheck",
        "RegisterNewBaseline",
        "ModelPackageGroupName",
        "SuppliedBaselineConstraints",
        "SuppliedBaselineStatistics",
    ],
}
NEVER_CACHED = ("Condition", "Fail", "Lambda", "Model", "RegisterModel", "Callback", "Endpoint")


@pytest.mark.parametrize("kind", sorted(DOCUMENTED), ids=sorted(DOCUMENTED))
def test_job_steps_key_on_the_documented_request_fields(kind: str) -> None:
    assert cache_key_fields(kind) == tuple(f"Arguments.{f}" for f in DOCUMENTED[kind])


@pytest.mark.parametrize("kind", sorted(CHECK_STEP_FIELDS), ids=sorted(CHECK_STEP_FIELDS))
def test_check_steps_key_on_their_configs_and_step_fields(kind: str) -> None:
    """The check configs render as the processing job (Arguments) and CheckType."""
    assert cache_key_fields(kind) == ("Arguments", "CheckType", *CHECK_STEP_FIELDS[kind])
    assert field_name(kind, "Arguments") == f"{kind}Config/CheckJobConfig (Arguments)"


def test_only_the_documented_types_are_cacheable() -> None:
    assert set(CACHE_KEYS) == {*DOCUMENTED, *CHECK_STEP_FIELDS}


@pytest.mark.parametrize("kind", NEVER_CACHED, ids=NEVER_CACHED)
def test_other_types_have_no_cache_key(kind: str) -> None:
    assert cache_key_fields(kind) == ()
    assert not affects_cache(kind, ["Arguments", "FunctionArn"])
    assert not caching_enabled({"Type": kind, "CacheConfig": {"Enabled": True}})


VERDICTS = [
    # (type, changed path, re-runs?) -- each by the page's list for that type
    ("Processing", "Arguments.ProcessingResources.ClusterConfig.InstanceType", False),
    ("Processing", "Arguments.ProcessingInputs[code].S3Input.S3Uri", True),
    ("Processing", "Arguments.AppSpecification.ImageUri", True),
    ("Processing", "Arguments.ProcessingOutputConfig.Outputs[train].S3Output.S3Uri", False),
    ("Processing", "Arguments.StoppingCondition.MaxRuntimeInSeconds", False),
    ("Processing", "Arguments.EnvironmentX", False),  # a prefix of a name is not the field
    ("Processing", "Arguments", True),  # the whole request replaced
    ("Processing", "RetryPolicies", False),
    ("Training", "Arguments.HyperParameters.epochs", True),
    ("Training", "Arguments.InputDataConfig[train].DataSource.S3DataSource.S3Uri", True),
    ("Training", "Arguments.ResourceConfig.InstanceType", False),
    ("Training", "Arguments.OutputDataConfig.S3OutputPath", False),
    (
        "Tuning",
        "Arguments.HyperParameterTuningJobConfig.ResourceLimits.MaxNumberOfTrainingJobs",
        True,
    ),
    ("Tuning", "Arguments.TrainingJobDefinition.StaticHyperParameters.epochs", True),
    ("Tuning", "Arguments.TrainingJobDefinition.ResourceConfig.InstanceType", False),
    ("AutoML", "Arguments.AutoMLJobConfig.Mode", True),
    ("AutoML", "Arguments.AutoMLJobConfig.SecurityConfig.VolumeKmsKeyId", False),
    ("Transform", "Arguments.TransformResources.InstanceType", False),
    ("Transform", "Arguments.ModelName", True),
    ("Transform", "Arguments.TransformInput.DataSource.S3DataSource.S3Uri", True),
    (
        "QualityCheck",
        "Arguments.ProcessingResources.ClusterConfig.InstanceType",
        True,
    ),  # CheckJobConfig
    ("QualityCheck", "FailOnViolation", False),
    ("QualityCheck", "SkipCheck", True),
    ("ClarifyCheck", "ModelName", False),
    ("EMR", "Arguments.StepConfig.HadoopJarStep.Args", True),
]


@pytest.mark.parametrize(
    ("kind", "path", "reruns"), VERDICTS, ids=[f"{k}:{p}" for k, p, _ in VERDICTS]
)
def test_affects_cache_follows_the_page(kind: str, path: str, reruns: bool) -> None:
    assert affects_cache(kind, [path]) is reruns


def test_caching_enabled_reads_cache_config() -> None:
    assert caching_enabled(
        {"Type": "Processing", "CacheConfig": {"Enabled": True, "ExpireAfter": "P1D"}}
    )
    assert not caching_enabled({"Type": "Processing", "CacheConfig": {"Enabled": False}})
    assert not caching_enabled({"Type": "Processing"})


def steps_of(pair: str, side: str) -> dict[str, dict[str, object]]:
    definition = json.loads((PAIRS / pair / side / "pipeline.json").read_text())
    return {p.name: p.step for p in all_steps(definition)}


def test_cache_key_values_of_compiled_steps() -> None:
    """An edited script changes the Processing key; an instance type changes only the checks'."""
    a, edited = steps_of("changed-script", "a"), steps_of("changed-script", "b")
    assert set(cache_key_values(a["Evaluate"])) == {
        "Arguments.AppSpecification",
        "Arguments.ProcessingInputs",
    }
    assert cache_key_values(a["Evaluate"]) != cache_key_values(edited["Evaluate"])
    assert cache_key_values(a["Preprocess"]) == cache_key_values(edited["Preprocess"])
    resized = steps_of("instance-type", "b")
    assert cache_key_values(a["TransformTestSet"]) == cache_key_values(resized["TransformTestSet"])
    assert cache_key_values(a["DataQualityBaseline"]) != cache_key_values(
        resized["DataQualityBaseline"]
    )
    assert cache_key_values(a["CheckApprove"]) == {}

"""Deliberately broken definitions: each is refused before anything runs, or makes the local run
fail at the right step, or decide differently, clearly; never Succeeded, never a traceback.

This is the proof that the engine executes the JSON rather than the configuration: every case
edits only pipeline.json of a compiled bundle (its recorded sha256 recomputed, as a hostile hand
edit would). Refusals need no step to run: each compiles nothing of its own (the bundles are
shared per session) and leaves the engine root unwritten. The failing cases rerun from the broken
step (`--from`) on a copy of one shared full execution, so a case costs one or two jobs at most.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine.s3 import S3
from tests.engine.conftest import Executed, RunEngine, compile_bundle, edit_bundle, step

pytestmark = pytest.mark.integration
Definition = dict[str, Any]


@dataclass(frozen=True)
class Mutation:
    """An edit, where to rerun from, and the step that must fail with `message` in its reason."""

    edit: Callable[[Definition], None]
    from_step: str | None
    step: str
    message: str
    base: str = "penguins_train"


def set_get(path: tuple[str | int, ...], value: Any) -> Callable[[Definition], None]:
    """An edit setting definition[...path...] = value, the first key being a step name."""

    def edit(definition: Definition) -> None:
        target: Any = step(definition, str(path[0]))
        for key in path[1:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def _swap_channels(definition: Definition) -> None:
    channels = step(definition, "Train")["Arguments"]["InputDataConfig"]
    channels[0]["ChannelName"], channels[1]["ChannelName"] = "validation", "train"


def _cut_join(definition: Definition) -> None:
    model = step(definition, "EvaluateTop1")["Arguments"]["ProcessingInputs"][0]
    model["S3Input"]["S3Uri"]["Std:Join"]["Values"].pop()  # drop "output/model.tar.gz"


def _string_threshold(definition: Definition) -> None:
    (parameter,) = [p for p in definition["Parameters"] if p["Name"] == "ApproveThreshold"]
    parameter.update(Type="String", DefaultValue="0.7")


def _equals_text(definition: Definition) -> None:
    (condition,) = step(definition, "CheckApprove")["Arguments"]["Conditions"]
    condition.update(Type="Equals", RightValue="0.7")  # was silently False


CASES = {
    "jsonget-path-typo": Mutation(
        set_get(
            ("CheckApprove", "Arguments", "Conditions", 0, "LeftValue", "Std:JsonGet", "Path"),
            "metrics.acuracy.value",
        ),
        "CheckApprove",
        "CheckApprove",
        "Std:JsonGet 'metrics.acuracy.value' in Evaluate's property file EvaluationReport: no "
        "'acuracy' at metrics (there: accuracy,",
    ),
    "swapped-channels": Mutation(_swap_channels, "Train", "Train", "channel 'train': "),
    "missing-property-file": Mutation(
        set_get(("Evaluate", "PropertyFiles", 0, "FilePath"), "report.json"),
        "CheckApprove",
        "CheckApprove",
        "property file EvaluationReport of step Evaluate: s3://example-sagemaker-bucket/",
    ),
    "wrong-top-k-index": Mutation(
        set_get(
            (
                "EvaluateTop2",
                "Arguments",
                "ProcessingInputs",
                0,
                "S3Input",
                "S3Uri",
                "Std:Join",
                "Values",
                3,
            ),
            {"Get": "Steps.Tune.TrainingJobSummaries[2].TrainingJobName"},
        ),
        "EvaluateTop2",
        "EvaluateTop2",
        "Get Steps.Tune.TrainingJobSummaries[2].TrainingJobName: step Tune: no index [2] at "
        "TrainingJobSummaries (length 2)",
        base="penguins_tune_top2",
    ),
    "parameter-of-wrong-type": Mutation(
        _string_threshold,
        "CheckApprove",
        "CheckApprove",
        "GreaterThanOrEqualTo: cannot compare",
    ),
    "wrong-std-join": Mutation(
        _cut_join,
        "EvaluateTop1",
        "EvaluateTop1",
        "(evaluate.py) exited with code",
        base="penguins_tune_top2",
    ),
    "wrong-entrypoint": Mutation(
        set_get(
            ("Evaluate", "Arguments", "AppSpecification", "ContainerEntrypoint", 1),
            "/opt/ml/processing/input/code/evaluat.py",
        ),
        "Evaluate",
        "Evaluate",
        "(evaluat.py) exited with code 2",
    ),
    "wrong-sagemaker-program": Mutation(
        set_get(
            ("Train", "Arguments", "HyperParameters", "sagemaker_program"),
            '"components/train/scripts/train.py"',
        ),
        "Train",
        "Train",
        "sagemaker_program 'components/train/scripts/train.py' is not in the source dir",
    ),
    "equals-report-with-text": Mutation(
        _equals_text,
        "CheckApprove",
        "CheckApprove",
        "Equals: cannot compare '",  # the report's number (known at run time) with text
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_broken_definition_fails_the_step_that_reads_it(
    case: str, request: pytest.FixtureRequest, engine: RunEngine, tmp_path: Path
) -> None:
    mutation = CASES[case]
    base: Executed = request.getfixturevalue(mutation.base)
    bundle = edit_bundle(base.bundle, tmp_path / "bundle", mutation.edit)
    root = base.copy_root(tmp_path / "root")
    args = ["--from", mutation.from_step] if mutation.from_step else []
    ran = engine(bundle, root, *args)
    record = ran.records[mutation.step]
    assert ran.code == 1
    assert record["StepStatus"] == "Failed"
    assert mutation.message in record["FailureReason"]
    assert ran.execution["FailureReason"].startswith(f"step {mutation.step} failed: ")
    assert mutation.message in ran.out


def _accuracy(root: Path, record: dict[str, Any]) -> float:
    uri = record["Properties"]["ProcessingOutputConfig"]["Outputs"]["evaluation"]["S3Output"][
        "S3Uri"
    ]
    return float(
        json.loads((S3(root / "s3").path(uri) / "evaluation.json").read_text())["metrics"][
            "accuracy"
        ]["value"]
    )


@pytest.mark.parametrize(
    ("case", "edit"),
    [
        (
            "comparison-reversed",
            set_get(("CheckApprove", "Arguments", "Conditions", 0, "Type"), "LessThan"),
        ),
        (
            "threshold-swapped",
            set_get(
                ("CheckApprove", "Arguments", "Conditions", 0, "RightValue"),
                {"Get": "Parameters.PendingThreshold"},
            ),
        ),
    ],
    ids=["comparison-reversed", "threshold-swapped"],
)
def test_broken_condition_decides_differently(
    case: str,
    edit: Callable[[Definition], None],
    penguins_train: Executed,
    engine: RunEngine,
    tmp_path: Path,
) -> None:
    root = penguins_train.copy_root(tmp_path / "root")
    value = _accuracy(root, penguins_train.first.records["Evaluate"])
    approve, pending = value + 0.01, value - 0.1  # the honest gate says: pending
    thresholds = ["-p", f"ApproveThreshold={approve}", "-p", f"PendingThreshold={pending}"]
    honest = engine(penguins_train.bundle, root, "--from", "CheckApprove", *thresholds)
    bundle = edit_bundle(penguins_train.bundle, tmp_path / "bundle", edit)
    broken = engine(bundle, root, "--from", "CheckApprove", *thresholds)
    expected = {"comparison-reversed": value < approve, "threshold-swapped": value >= pending}[case]
    outcome = broken.records["CheckApprove"]["Metadata"]["Condition"]["Outcome"]
    assert outcome == str(expected)
    assert outcome != honest.records["CheckApprove"]["Metadata"]["Condition"]["Outcome"]


# ------------------------------------------------------------------ refused before running

SHAPES = {  # compiled bundles with every stage on (Lambda steps, Fail steps, branches)
    "train": ("project=penguins", "framework=pytorch"),
    "tune": ("project=penguins", "framework=pytorch", "training=tune"),
    "train_and_tune": ("project=penguins", "framework=pytorch", "training=train_and_tune"),
    "tune_top2": ("project=penguins", "framework=pytorch", "training=tune_top2"),
    "builtin": ("project=penguins", "framework=pytorch", "monitoring.backend=builtin"),
}
Compiled = Callable[[str], Path]


@pytest.fixture(scope="session")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    """`compiled(shape)`: the bundle of one shape, compiled once per session when first asked."""
    done: dict[str, Path] = {}

    def get(shape: str) -> Path:
        if shape not in done:
            folder = tmp_path_factory.mktemp(f"compiled-{shape}")
            done[shape] = compile_bundle(folder / "bundle", *SHAPES[shape], stages_off=False)
        return done[shape]

    return get


@dataclass(frozen=True)
class Refusal:
    """An edit of one shape's bundle that the engine must refuse, naming `message`."""

    edit: Callable[[Definition], None]
    message: str
    shape: str = "train"
    monitor: str | None = None  # a monitoring pipeline's folder, to edit that definition
    args: tuple[str, ...] = ()


def top(key: str, value: Any) -> Callable[[Definition], None]:
    def edit(definition: Definition) -> None:
        if value is DROP:
            del definition[key]
        else:
            definition[key] = value

    return edit


def parameter(name: str, **fields: Any) -> Callable[[Definition], None]:
    def edit(definition: Definition) -> None:
        (declared,) = [p for p in definition["Parameters"] if p["Name"] == name]
        declared.update(fields)

    return edit


def drop(path: tuple[str | int, ...]) -> Callable[[Definition], None]:
    """An edit deleting definition[...path...], the first key being a step name."""

    def edit(definition: Definition) -> None:
        target: Any = step(definition, str(path[0]))
        for key in path[1:-1]:
            target = target[key]
        del target[path[-1]]

    return edit


def both(*edits: Callable[[Definition], None]) -> Callable[[Definition], None]:
    def edit(definition: Definition) -> None:
        for each in edits:
            each(definition)

    return edit


DROP = object()
CONDITION = ("CheckApprove", "Arguments", "Conditions")
REJECT_MESSAGE = ("Reject", "Arguments", "ErrorMessage")
JOIN = (*REJECT_MESSAGE, "Std:Join")
JSON_GET = (*JOIN, "Values", 1, "Std:JsonGet")
RANGE = (
    "Tune",
    "Arguments",
    "HyperParameterTuningJobConfig",
    "ParameterRanges",
    "ContinuousParameterRanges",
    0,
)
RANGES = RANGE[:-2]
PREPROCESS_OUTPUT = (
    "Preprocess",
    "Arguments",
    "ProcessingOutputConfig",
    "Outputs",
    0,
    "S3Output",
    "S3Uri",
)
ACCURACY = {
    "Std:JsonGet": {
        "Path": "metrics.accuracy.value",
        "PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.EvaluationReport"},
    }
}


def _compare(kind: str, left: Any, right: Any) -> Callable[[Definition], None]:
    return set_get(CONDITION, [{"Type": kind, "LeftValue": left, "RightValue": right}])


REFUSALS = {
    # the format and the parameters
    "version": Refusal(top("Version", "2021-01-01"), "Version\n  is '2021-01-01'\n"),
    "version-missing": Refusal(top("Version", DROP), "Version\n  is missing\n"),
    "parameter-type-unknown": Refusal(
        parameter("ApproveThreshold", Type="Double"),
        "Parameters[0] (ApproveThreshold)\n  Type 'Double'\n",
    ),
    "float-default-text": Refusal(
        parameter("ApproveThreshold", DefaultValue="high"),
        "DefaultValue 'high' is not of Type Float",
    ),
    "integer-default-text": Refusal(
        parameter("DataCapturePercentage", DefaultValue="100"),
        "DefaultValue '100' is not of Type Integer",
    ),
    "boolean-default-text": Refusal(
        parameter("SkipDataQualityCheck", DefaultValue="false"),
        "DefaultValue 'false' is not of Type Boolean",
        shape="tune",
    ),
    "default-not-an-instance-type": Refusal(
        parameter("TrainingInstanceType", DefaultValue="ml.m5.huge"),
        "Arguments.ResourceConfig.InstanceType: Parameters.TrainingInstanceType's DefaultValue "
        "'ml.m5.huge' is not one of the API's values",
    ),
    "processing-default-not-an-instance-type": Refusal(
        parameter("ProcessingInstanceType", DefaultValue="m5.xlarge"),
        "Parameters.ProcessingInstanceType's DefaultValue 'm5.xlarge' is not one of the API's "
        "values",
        shape="tune",
    ),
    "parameter-declared-twice": Refusal(
        lambda d: d["Parameters"].append(dict(d["Parameters"][0])),
        "ApproveThreshold is declared twice",
    ),
    # step and condition types
    "step-type-unknown": Refusal(
        set_get(("Train", "Type"), "Trainer"),
        "step Train\n  Type 'Trainer'\n  why: not a SageMaker step type",
    ),
    "step-type-the-engine-cannot-run": Refusal(
        set_get(("Reject", "Type"), "Callback"),
        "step Reject\n  Type 'Callback'\n  why: the local engine has no executor for it",
    ),
    "condition-type-unknown": Refusal(
        set_get((*CONDITION, 0, "Type"), "GreaterOrEqual"),
        "Arguments.Conditions[0].Type 'GreaterOrEqual'",
    ),
    "conditions-empty": Refusal(
        set_get(CONDITION, []), "step CheckApprove\n  Arguments.Conditions is []"
    ),
    "condition-without-right-value": Refusal(
        drop((*CONDITION, 0, "RightValue")),
        "Arguments.Conditions[0] (GreaterThanOrEqualTo) has no RightValue",
    ),
    "equals-number-with-text": Refusal(
        set_get(("DeploySucceeded", "Arguments", "Conditions", 0, "RightValue"), "200"),
        "Arguments.Conditions[0] (Equals) compares a number with a string",
    ),
    "parameter-compared-with-text": Refusal(
        _compare("GreaterThan", {"Get": "Parameters.ApproveThreshold"}, "0.5"),
        "(GreaterThan) compares a number with a string",
    ),
    "booleans-ordered": Refusal(_compare("LessThan", True, False), "(LessThan) compares booleans"),
    "in-without-values": Refusal(
        set_get(CONDITION, [{"Type": "In", "QueryValue": ACCURACY, "Values": []}]),
        "Arguments.Conditions[0].Values is []",
    ),
    "or-of-nothing": Refusal(
        set_get(CONDITION, [{"Type": "Or", "Conditions": []}]),
        "Arguments.Conditions[0].Conditions is []",
    ),
    # what a step may wait for and read
    "depends-on-missing-step": Refusal(
        set_get(("Evaluate", "DependsOn"), ["Trian"]),
        "step Evaluate\n  DependsOn names step 'Trian', which is not in the definition (did you "
        "mean 'Train'?)",
    ),
    "depends-on-itself": Refusal(
        set_get(("Train", "DependsOn"), ["Train"]), "DependsOn names the step itself (Train)"
    ),
    "depends-on-the-other-branch": Refusal(
        set_get(("Reject", "DependsOn"), ["RegisterApproved"]),
        "step Reject\n  DependsOn names step RegisterApproved, inside CheckApprove's IfSteps\n"
        "  why: Reject is CheckApprove's ElseSteps > CheckPending's ElseSteps, so "
        "RegisterApproved may not have run",
    ),
    "top-level-depends-on-a-branch": Refusal(
        set_get(("ModelQualityBaseline", "DependsOn"), ["RegisterPending"]),
        "DependsOn names step RegisterPending, inside CheckApprove's ElseSteps > CheckPending's "
        "IfSteps\n  why: ModelQualityBaseline is at the top level",
    ),
    "depends-on-a-condition": Refusal(
        set_get(("ModelQualityBaseline", "DependsOn"), ["CheckApprove"]),
        "DependsOn names Condition step CheckApprove",
    ),
    "depends-on-the-other-candidate": Refusal(
        set_get(("RegisterPendingTune", "DependsOn"), ["RegisterApprovedTrain"]),
        "step RegisterPendingTune\n  DependsOn names step RegisterApprovedTrain, inside "
        "SelectBestModel's IfSteps > CheckApproveTrain's IfSteps\n",
        shape="train_and_tune",
    ),
    "get-from-the-other-branch": Refusal(
        set_get(REJECT_MESSAGE, {"Get": "Steps.RegisterApproved.ModelPackageArn"}),
        "a Get reads step RegisterApproved, inside CheckApprove's IfSteps",
        shape="tune",
    ),
    "get-of-missing-step": Refusal(
        set_get(REJECT_MESSAGE, {"Get": "Steps.Evaluat.ProcessingJobName"}),
        "Get Steps.Evaluat.ProcessingJobName\n  why: no step named 'Evaluat' (did you mean "
        "'Evaluate'?)",
    ),
    "get-of-missing-property": Refusal(
        set_get(REJECT_MESSAGE, {"Get": "Steps.Train.ModelArtifacts.S3Artifacts"}),
        "why: Training steps have no such property",
    ),
    "get-of-wrong-output": Refusal(
        set_get(
            ("Train", "Arguments", "InputDataConfig", 0, "DataSource", "S3DataSource", "S3Uri"),
            {"Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['training'].S3Output.S3Uri"},
        ),
        "why: Preprocess has outputs ['train', 'validation', 'test', 'artifacts', 'baseline']",
    ),
    "get-of-missing-parameter": Refusal(
        set_get((*CONDITION, 0, "RightValue"), {"Get": "Parameters.ApprovalThreshold"}),
        "Arguments.Conditions[0].RightValue: Get Parameters.ApprovalThreshold\n  why: no such "
        "parameter (did you mean 'ApproveThreshold'?)",
    ),
    "get-not-text": Refusal(set_get(REJECT_MESSAGE, {"Get": 3}), "Arguments.ErrorMessage.Get is 3"),
    # expression shapes
    "join-without-values": Refusal(
        drop((*JOIN, "Values")), 'Arguments.ErrorMessage: Std:Join {"On": " "}'
    ),
    "join-of-no-values": Refusal(
        set_get((*JOIN, "Values"), []), 'Arguments.ErrorMessage: Std:Join {"On": " ", "Values": []}'
    ),
    "join-of-an-object": Refusal(
        set_get((*JOIN, "Values", 0), {"text": "Model"}),
        'Arguments.ErrorMessage.Std:Join.Values[0] is {"text": "Model"}',
    ),
    "json-get-without-path": Refusal(
        drop((*JSON_GET, "Path")),
        'Arguments.ErrorMessage.Std:Join.Values[1]: Std:JsonGet {"PropertyFile"',
    ),
    "json-get-of-an-output": Refusal(
        set_get(
            (*JSON_GET, "PropertyFile", "Get"),
            "Steps.Evaluate.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri",
        ),
        "why: Std:JsonGet reads a property file (Steps.<step>.PropertyFiles.<name>)",
    ),
    "expression-with-extra-keys": Refusal(
        set_get(REJECT_MESSAGE, {"Get": "Parameters.PendingThreshold", "Else": "0.5"}),
        "Arguments.ErrorMessage mixes Get with other keys (Else, Get)",
    ),
    "fail-message-is-a-property-file": Refusal(
        set_get(REJECT_MESSAGE, {"Get": "Steps.Evaluate.PropertyFiles.EvaluationReport"}),
        "Arguments.ErrorMessage: Get Steps.Evaluate.PropertyFiles.EvaluationReport is a property "
        "file",
    ),
    "fail-message-is-a-number": Refusal(
        set_get(REJECT_MESSAGE, 42), "Arguments.ErrorMessage is 42"
    ),
    # S3 URIs: S3's rules, and never out of the engine's S3 folder
    "bucket-dot-dot": Refusal(
        parameter("InputDataUri", DefaultValue="s3://../data/"),
        "DefaultValue = 's3://../data/'\n  why: bucket '..' breaks S3's bucket name rules",
    ),
    "bucket-dot-dot-twice": Refusal(
        set_get(PREPROCESS_OUTPUT, "s3://../../train"),
        "Arguments.ProcessingOutputConfig.Outputs[0].S3Output.S3Uri = 's3://../../train'",
    ),
    "key-climbs-out": Refusal(
        set_get(PREPROCESS_OUTPUT, "s3://example-sagemaker-bucket/../../escaped"),
        "why: its key has a '.' or '..' segment",
    ),
    "bucket-with-capitals": Refusal(
        set_get(PREPROCESS_OUTPUT, "s3://Example_Bucket/train"),
        "why: bucket 'Example_Bucket' breaks S3's bucket name rules",
    ),
    "join-climbs-out": Refusal(
        set_get(
            (
                "EvaluateTop1",
                "Arguments",
                "ProcessingInputs",
                0,
                "S3Input",
                "S3Uri",
                "Std:Join",
                "Values",
                0,
            ),
            "s3://example-sagemaker-bucket/../..",
        ),
        "joins to 's3://example-sagemaker-bucket/../../",
        shape="tune_top2",
    ),
    "data-parameter-climbs-out": Refusal(
        lambda d: None,
        "parameter InputDataUri\n  's3://../../outside/': bucket '..' breaks",
        args=("-p", "InputDataUri=s3://../../outside/"),
    ),
    "given-value-not-an-instance-type": Refusal(
        lambda d: None,
        "-p TrainingInstanceType=ml.m5.huge\n  step Train, Arguments.ResourceConfig.InstanceType: "
        "Parameters.TrainingInstanceType's -p value 'ml.m5.huge' is not one of the API's values",
        args=("-p", "TrainingInstanceType=ml.m5.huge"),
    ),
    # Lambda steps
    "function-not-in-the-bundle": Refusal(
        set_get(("Deploy", "FunctionArn"), "arn:aws:lambda:us-east-1:111122223333:function:other"),
        "step Deploy\n  FunctionArn arn:aws:lambda:us-east-1:111122223333:function:other\n"
        "  why: not one of the bundle's Lambda functions",
    ),
    "function-arn-malformed": Refusal(
        set_get(("Deploy", "FunctionArn"), "penguins-deploy"),
        "FunctionArn 'penguins-deploy'\n  why: not a Lambda function ARN",
    ),
    "lambda-output-type-unknown": Refusal(
        set_get(("Deploy", "OutputParameters", 1, "OutputType"), "Number"),
        'OutputParameters[1] is {"OutputName": "statusCode", "OutputType": "Number"}',
    ),
    "schedule-function-not-in-the-bundle": Refusal(
        set_get(
            ("ScheduleDataQualityMonitor", "FunctionArn"),
            "arn:aws:lambda:us-east-1:111122223333:function:penguins-deploy-v2",
        ),
        "step ScheduleDataQualityMonitor\n  FunctionArn",
        shape="builtin",
    ),
    # tuning ranges
    "range-minimum-above-maximum": Refusal(
        both(set_get((*RANGE, "MinValue"), "0.5"), set_get((*RANGE, "MaxValue"), "0.1")),
        "ContinuousParameterRanges[0] (learning_rate) has MinValue 0.5 above MaxValue 0.1",
        shape="tune",
    ),
    "range-logarithmic-from-zero": Refusal(
        both(set_get((*RANGE, "MinValue"), "0"), set_get((*RANGE, "ScalingType"), "Logarithmic")),
        "(learning_rate) is Logarithmic from 0",
        shape="tune",
    ),
    "range-reverse-logarithmic-past-one": Refusal(
        both(
            set_get((*RANGE, "MaxValue"), "1.5"),
            set_get((*RANGE, "ScalingType"), "ReverseLogarithmic"),
        ),
        "(learning_rate) is ReverseLogarithmic over [0.01, 1.5]",
        shape="tune",
    ),
    "range-not-a-number": Refusal(
        set_get((*RANGE, "MaxValue"), "inf"),
        "ContinuousParameterRanges[0].MaxValue is 'inf'",
        shape="train_and_tune",
    ),
    "integer-range-of-a-fraction": Refusal(
        set_get(
            (*RANGES, "IntegerParameterRanges"),
            [{"Name": "layers", "MinValue": "1.5", "MaxValue": "4", "ScalingType": "Auto"}],
        ),
        "IntegerParameterRanges[0].MinValue is '1.5'\n  why: a IntegerParameterRanges bound is a "
        "finite integer",
        shape="tune",
    ),
    "tuned-and-static": Refusal(
        set_get(
            (
                "Tune",
                "Arguments",
                "TrainingJobDefinition",
                "StaticHyperParameters",
                "learning_rate",
            ),
            "0.1",
        ),
        "hyperparameter learning_rate is both tuned and static",
        shape="tune_top2",
    ),
    "tuning-strategy-unknown": Refusal(
        set_get(("Tune", "Arguments", "HyperParameterTuningJobConfig", "Strategy"), "Genetic"),
        "Arguments.HyperParameterTuningJobConfig.Strategy: 'Genetic' is not one of the API's "
        "values",
        shape="tune",
    ),
    # API types and enums of other arguments
    "volume-size-as-text": Refusal(
        set_get(("Train", "Arguments", "ResourceConfig", "VolumeSizeInGB"), "30"),
        "Arguments.ResourceConfig.VolumeSizeInGB: is string '30'; the API takes an integer",
    ),
    "instance-count-from-a-text-parameter": Refusal(
        set_get(
            ("Train", "Arguments", "ResourceConfig", "InstanceCount"),
            {"Get": "Parameters.InputDataUri"},
        ),
        "Arguments.ResourceConfig.InstanceCount: is Parameters.InputDataUri, a string; the API "
        "takes an integer",
    ),
    "approval-status-unknown": Refusal(
        set_get(("RegisterApproved", "Arguments", "ModelApprovalStatus"), "Approve"),
        "Arguments.ModelApprovalStatus: 'Approve' is not one of the API's values",
    ),
    "property-file-of-no-output": Refusal(
        set_get(("Evaluate", "PropertyFiles", 0, "OutputName"), "report"),
        "PropertyFiles[0].OutputName 'report'",
    ),
    # the builtin backend's monitoring pipelines are checked as the main one
    "monitor-version": Refusal(
        top("Version", "2020-12-02"),
        "monitors/data-quality/pipeline.json, Version\n  is '2020-12-02'",
        shape="builtin",
        monitor="monitors/data-quality",
    ),
    "monitor-capture-bucket-climbs-out": Refusal(
        parameter("DataCaptureUri", DefaultValue="s3://../data-capture"),
        "monitors/data-quality/pipeline.json, Parameters[2] (DataCaptureUri)\n  DefaultValue = "
        "'s3://../data-capture'\n  why: bucket '..' breaks S3's bucket name rules",
        shape="builtin",
        monitor="monitors/data-quality",
    ),
    "monitor-parameter-type": Refusal(
        parameter("EndpointName", Type="Text"),
        "monitors/model-quality/pipeline.json, Parameters[",
        shape="builtin",
        monitor="monitors/model-quality",
    ),
}


@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_refused_before_anything_runs(
    case: str, compiled: Compiled, engine: RunEngine, tmp_path: Path
) -> None:
    refusal = REFUSALS[case]
    bundle = edit_bundle(
        compiled(refusal.shape), tmp_path / "bundle", refusal.edit, refusal.monitor
    )
    root = tmp_path / "root"
    ran = engine(bundle, root, *refusal.args)
    assert ran.code == 2, ran.out + ran.err
    assert refusal.message in ran.err
    assert ran.err.startswith("error: ")
    assert "Traceback" not in ran.out + ran.err and "Error(" not in ran.err
    assert not root.exists()  # nothing run, nothing written


def test_the_unedited_bundles_pass_the_check(compiled: Compiled) -> None:
    """The refusals above are the edits': each shape's bundle as compiled is sound."""
    from bundle.read import read_bundle
    from engine.run import check_definitions

    for shape in SHAPES:
        check_definitions(read_bundle(compiled(shape)))


def test_there_are_at_least_forty_kinds_over_every_shape() -> None:
    assert len(REFUSALS) + len(CASES) >= 40
    assert {r.shape for r in REFUSALS.values()} == set(SHAPES)

"""Deliberately broken definitions: each makes the local run fail, or decide differently, clearly.

This is the proof that the engine executes the JSON rather than the configuration: every case
edits only pipeline.json of a compiled bundle. Each reruns from the broken step (`--from`) on a
copy of one shared full execution, so a case costs one or two jobs at most.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine.s3 import S3
from tests.engine.conftest import Executed, RunEngine, edit_bundle, step

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


PREPROCESS_OUTPUTS = "(there: artifacts, baseline, test, train, validation)"
CASES = {
    "get-of-wrong-output": Mutation(
        set_get(
            ("Train", "Arguments", "InputDataConfig", 0, "DataSource", "S3DataSource", "S3Uri"),
            {"Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['training'].S3Output.S3Uri"},
        ),
        "Train",
        "Train",
        "Get Steps.Preprocess.ProcessingOutputConfig.Outputs['training'].S3Output.S3Uri: step "
        f"Preprocess: no 'training' at ProcessingOutputConfig.Outputs {PREPROCESS_OUTPUTS}",
    ),
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
    "get-of-missing-parameter": Mutation(
        set_get(
            ("CheckApprove", "Arguments", "Conditions", 0, "RightValue"),
            {"Get": "Parameters.ApprovalThreshold"},
        ),
        "CheckApprove",
        "CheckApprove",
        "Get Parameters.ApprovalThreshold: no such parameter (there: ApproveThreshold,",
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


def test_missing_depends_on_target_is_refused_before_running(
    penguins_train: Executed, engine: RunEngine, tmp_path: Path
) -> None:
    bundle = edit_bundle(
        penguins_train.bundle, tmp_path / "bundle", set_get(("Evaluate", "DependsOn"), ["Trian"])
    )
    ran = engine(bundle, tmp_path / "root")
    assert ran.code == 2 and ran.folder is None
    assert (
        "error: pipeline.json\n  step Evaluate: DependsOn names step 'Trian', which is not in "
        "the definition (did you mean 'Train'?)\n  why: SageMaker rejects a definition whose "
        "steps name steps that do not exist or wait for each other\n"
    ) in ran.err


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

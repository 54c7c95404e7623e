"""Issue 17's proof: the scikit-learn image's jobs write the same bytes on its own stack.

The scikit-learn image (1.9-0) runs preprocessing, the builtin backend's baseline analyzer (data
and model quality) and its monitoring jobs (data quality runs the record preprocessor and the
analyzer; model quality joins captures with ground truth, then runs the analyzer). For every
shipped project those jobs run through the engine twice, with the engine's Python and with
`--containers sagemaker-scikit-learn` (Python 3.12, numpy 2.5.1, pandas 2.2.3, scipy 1.18.0,
scikit-learn 1.9.0), and every output file is compared byte for byte. The stack is a virtual
environment the install step builds once per machine (`make stacks`), so these tests stay
offline: a missing stack fails them with the command that builds it. The main pipeline keeps only
its scikit-learn steps (training, evaluation and transform run on other images; the model-quality
baseline reads transform records written here), so each run takes seconds.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bundle.read import read_bundle
from endpoint import ground_truth
from endpoint.common import Project as ToolProject
from engine import endpoint as local_endpoint
from engine.cli import main
from engine.environments import built, cache_root
from engine.s3 import S3
from kernel.image_environments import environment_for
from kernel.images import scikit_learn_image
from kernel.manifest import Project
from tests.engine.conftest import SMALL, Ran, edit_bundle

SKLEARN = "sagemaker-scikit-learn"
SKLEARN_IMAGE = scikit_learn_image("us-east-1", "ml.m5.xlarge")
PROJECTS = ("penguins", "cancer", "digits")
# The monitoring job runs the record preprocessor and the analyzer.
SKLEARN_STEPS = {"Preprocess", "DataQualityBaseline", "ModelQualityBaseline", "Monitor"}
PREDICTIONS = "s3://example-sagemaker-bucket/test-predictions"
MONITOR_END = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC)
COMPILED = (
    "framework=pytorch",
    "monitoring.backend=builtin",
    *SMALL,
)
VERSIONS = "import numpy, pandas, scipy, sklearn, sys; print(sys.version_info[:2], \
numpy.__version__, pandas.__version__, scipy.__version__, sklearn.__version__)"


def built_stack(uri: str) -> str:
    """The interpreter of the image's stack as the install step built it: the tests never ask
    pip, so a missing stack fails with the command that builds it."""
    env = environment_for(uri)
    assert env is not None, uri
    python = built(env, cache_root())
    if python is None:
        pytest.fail(
            f"the {env.image} stack is not built on this machine: run `python -m "
            f"engine.environments build {env.image}` (`make stacks` does; it needs the network "
            "once), then run the tests again",
            pytrace=False,
        )
    return str(python)


@pytest.fixture(scope="session")
def sklearn_python() -> str:
    return built_stack(SKLEARN_IMAGE)


def test_a_missing_stack_fails_with_the_command_that_builds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGINE_ENVIRONMENTS", str(tmp_path))
    command = "run `python -m engine.environments build sagemaker-scikit-learn:1.9-0`"

    with pytest.raises(pytest.fail.Exception, match=re.escape(command)):
        built_stack(SKLEARN_IMAGE)
    assert list(tmp_path.iterdir()) == []  # nothing built: pip was never asked


def test_the_install_step_builds_the_stack_these_tests_prove() -> None:
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    stack = environment_for(SKLEARN_IMAGE)

    assert stack is not None and f"-m engine.environments build {stack.image}\n" in makefile


def test_the_default_image_is_1_9_0_on_its_own_stack(sklearn_python: str) -> None:
    env = environment_for(SKLEARN_IMAGE)
    assert SKLEARN_IMAGE.endswith("/sagemaker-scikit-learn:1.9-0-cpu-py3")
    assert env is not None and env.python == "3.12"
    versions = {p.name: p.version for p in env.packages}

    shown = subprocess.run(
        [sklearn_python, "-c", VERSIONS], capture_output=True, text=True, check=True
    ).stdout.split()

    assert shown == [
        "(3,",
        "12)",
        versions["numpy"],
        versions["pandas"],
        versions["scipy"],
        versions["scikit-learn"],
    ]


def only_sklearn_steps(definition: dict[str, Any]) -> None:
    """Keep the steps the scikit-learn image runs (preprocessing, the baseline analyzers); the
    model-quality baseline reads transform records written by `write_predictions` instead."""
    definition["Steps"] = [
        step
        for step in definition["Steps"]
        if SKLEARN in step.get("Arguments", {}).get("AppSpecification", {}).get("ImageUri", "")
    ]
    for step in definition["Steps"]:
        for item in step["Arguments"]["ProcessingInputs"]:
            if "TransformTestSet" in json.dumps(item["S3Input"]["S3Uri"]):
                item["S3Input"]["S3Uri"] = PREDICTIONS


def positive_label(definition: dict[str, Any]) -> str | None:
    """The binary project's positive class (None for multiclass), as its baseline step says."""
    [quality] = [s for s in definition["Steps"] if s["Name"] == "ModelQualityBaseline"]
    label: str | None = quality["Arguments"]["Environment"].get("positive_label")
    return label


def answer(truth: str, i: int, classes: list[str], positive: str | None) -> dict[str, Any]:
    """What the model answers for the i-th record (record.schema.json): right 3 times in 4."""
    label = classes[(classes.index(truth) + (i % 4 == 0)) % len(classes)]
    confidence = 0.5 + (i % 10) / 21
    output = {"prediction": classes.index(label), "label": label, "confidence": confidence}
    if positive is not None:
        output["probability"] = confidence if label == positive else 1 - confidence
    return output


def write_predictions(root: Path, classes: list[str], positive: str | None) -> None:
    """Transform records as TransformTestSet writes them, for the model-quality baseline."""
    truths = [classes[i % len(classes)] for i in range(90)]
    lines = [
        {"ground_truth": t, "SageMakerOutput": answer(t, i, classes, positive)}
        for i, t in enumerate(truths)
    ]
    body = "".join(json.dumps(line) + "\n" for line in lines).encode()
    S3(root / "s3").put_bytes(f"{PREDICTIONS}/test.jsonl.out", body)


def outputs(ran: Ran) -> dict[str, bytes]:
    """Every file the scikit-learn steps of a run wrote, by pipeline/step/output/path."""
    assert ran.folder is not None
    files = {}
    for name, record in ran.records.items():
        if name not in SKLEARN_STEPS:
            continue
        assert record["StepStatus"] == "Succeeded", (name, record.get("FailureReason"))
        for output, spec in record["Properties"]["ProcessingOutputConfig"]["Outputs"].items():
            folder = ran.root / "s3" / spec["S3Output"]["S3Uri"].removeprefix("s3://")
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                key = f"{ran.folder.parent.name}/{name}/{output}/{path.relative_to(folder)}"
                files[key] = path.read_bytes()
    return files


def capture_test_split(ran: Ran, project: Project, positive: str | None) -> None:
    """The test split's records captured by the endpoint 5 minutes before the monitors' end,
    answered right three times in four, and their classes as `endpoint.ground_truth` writes."""
    preprocess = ran.records["Preprocess"]["Properties"]["ProcessingOutputConfig"]["Outputs"]
    baseline = ran.root / "s3" / preprocess["baseline"]["S3Output"]["S3Uri"].removeprefix("s3://")
    records = [json.loads(line) for line in (baseline / "test.jsonl").read_text().splitlines()]
    config = {
        "EnableCapture": True,
        "InitialSamplingPercentage": 100,
        "DestinationS3Uri": project.data_capture_uri,
    }
    moment = MONITOR_END - datetime.timedelta(minutes=5)
    classes = list(project.classes)

    class Frozen(datetime.datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Frozen:
            return cls.fromtimestamp(moment.timestamp(), tz)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(local_endpoint, "datetime", Frozen)
        recorder = local_endpoint.Capture(S3(ran.root / "s3"), str(project.endpoint_name), config)
        for i, record in enumerate(records):
            request = {k: v for k, v in record.items() if k != "ground_truth"}
            recorder.record(
                (json.dumps(request).encode(), "application/json"),
                (
                    json.dumps([answer(record["ground_truth"], i, classes, positive)]).encode(),
                    "application/json",
                ),
                f"request-{i:04d}",
            )
        recorder.close()
    known = ToolProject(project.name, project.classes, project.kind, (), "", None)
    truth = [
        ground_truth.Event(f"request-{i:04d}", truth=r["ground_truth"])
        for i, r in enumerate(records)
    ]
    lines = [ground_truth.label_line(e, known, 7, 1.0, ground_truth.Tally()) for e in truth]
    hour = moment.strftime("%Y/%m/%d/%H")
    S3(ran.root / "s3").put_bytes(
        f"{project.ground_truth_uri}/{hour}/groundtruth.jsonl", "".join(lines).encode()
    )


def run_engine(bundle: Path, root: Path, *args: str) -> Ran:
    """`python -m engine run` in this process, its output kept (module fixtures have no capsys)."""
    before = set(root.glob("executions/*/*"))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["run", str(bundle), "--root", str(root), *args])
    new = sorted(set(root.glob("executions/*/*")) - before)
    return Ran(code, out.getvalue(), err.getvalue(), root, new[0] if len(new) == 1 else None)


def run_jobs(bundle: Path, root: Path, *flags: str) -> list[Ran]:
    """The scikit-learn steps, then both monitoring jobs over the captured test split."""
    compiled = read_bundle(bundle)
    project, positive = compiled.manifest.project, positive_label(compiled.definition)
    write_predictions(root, list(project.classes), positive)
    main = run_engine(bundle, root, *flags)
    assert main.code == 0, main.err
    capture_test_split(main, project, positive)
    runs = [main]
    for kind, step in (("data", "DataQualityBaseline"), ("model", "ModelQualityBaseline")):
        quality = main.records[step]["Properties"]["ProcessingOutputConfig"]["Outputs"]
        report = quality["quality_check_output"]["S3Output"]["S3Uri"]
        baseline = ["-p", f"BaselineConstraintsUri={report}/constraints.json"]
        if kind == "data":
            baseline += ["-p", f"BaselineStatisticsUri={report}/statistics.json"]
        ran = run_engine(bundle / "monitors" / f"{kind}-quality", root, *baseline, *flags)
        assert ran.code in (0, 1), ran.err  # 1: violations found, which the job reports
        runs.append(ran)
    return runs


@pytest.mark.parametrize("project", PROJECTS)
def test_the_images_jobs_run_on_its_stack_and_write_the_same_bytes(
    project: str, sklearn_python: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from compiler.compile import compile_overrides, write_bundle

    overrides = [f"project={project}", *COMPILED, f"output_dir={tmp_path / 'compiled'}"]
    bundle = edit_bundle(
        write_bundle(compile_overrides(overrides)), tmp_path / "bundle", only_sklearn_steps
    )
    monkeypatch.setenv("MONITOR_END_TIME", MONITOR_END.strftime("%Y-%m-%dT%H:%M:%SZ"))

    default = run_jobs(bundle, tmp_path / "default")
    stacked = run_jobs(bundle, tmp_path / "containers", "--containers-only", SKLEARN)

    on_stack, on_engine = job_logs(stacked), job_logs(default)
    assert sorted(on_stack) == sorted(on_engine)
    assert sorted(name.split("/")[1] for name in on_stack) == sorted([*SKLEARN_STEPS, "Monitor"])
    assert [name for name, log in on_stack.items() if f"$ {sklearn_python} " not in log] == []
    assert [name for name, log in on_engine.items() if sklearn_python in log] == []
    written = {k: v for ran in default for k, v in outputs(ran).items()}
    again = {k: v for ran in stacked for k, v in outputs(ran).items()}
    assert sorted(again) == sorted(written)
    assert {k.split("/")[1] for k in written} == SKLEARN_STEPS
    assert len({k.split("/")[0] for k in written}) == 3  # the pipeline and both monitors
    assert [k for k in written if again[k] != written[k]] == []


def job_logs(runs: list[Ran]) -> dict[str, str]:
    """The log of each scikit-learn job in the runs, by pipeline/step."""
    logs = {}
    for ran in runs:
        assert ran.folder is not None
        for name in set(ran.records) & SKLEARN_STEPS:
            path = ran.folder / "steps" / name / "log.txt"
            logs[f"{ran.folder.parent.name}/{name}"] = path.read_text()
    return logs

"""The step-aware diff: golden output for committed bundle pairs in three formats, each change's
cache verdict against AWS's rules, `--deployed` against moto, and the errors.

AWS's rules: "Default cache key attributes by pipeline step type",
https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-default-keys.html (see test_cache.py).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from bundle.aws import AwsError, deployed_definition
from bundle.compare import ABSENT, Diff, FieldChange, diff_definitions, field_changes
from bundle.diff import main
from bundle.read import read_bundle
from bundle.report import RENDERERS
from kernel.notation import show
from tests.aws_env import isolate_from_aws
from tests.goldens import check_golden

PAIRS = Path(__file__).parent / "pairs"
CASES = sorted(p.name for p in PAIRS.iterdir() if (p / "a").is_dir())
FORMATS = {"text": "expected.txt", "markdown": "expected.md", "json": "expected.json"}
ROLE = "arn:aws:iam::123456789012:role/SageMakerExecutionRole"


def pair_diff(case: str) -> Diff:
    a, b = read_bundle(PAIRS / case / "a"), read_bundle(PAIRS / case / "b")
    return diff_definitions(
        a.definition,
        b.definition,
        old_name="a",
        new_name="b",
        old_assets=list(a.assets),
        new_assets=list(b.assets),
        old_manifest=a.manifest,
        new_manifest=b.manifest,
    )


def test_the_pairs_cover_the_five_kinds_of_change() -> None:
    assert CASES == ["changed-script", "instance-type", "new-step", "publish-settings", "threshold"]


@pytest.mark.parametrize("case", CASES, ids=CASES)
@pytest.mark.parametrize("fmt", sorted(FORMATS), ids=sorted(FORMATS))
def test_golden_diff(
    case: str,
    fmt: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    monkeypatch.chdir(PAIRS / case)
    assert main(["a", "b", "--format", fmt]) == 0
    out = capsys.readouterr()
    assert out.err == ""
    check_golden(PAIRS / case / FORMATS[fmt], out.out, request)


@pytest.mark.parametrize("case", CASES, ids=CASES)
def test_exit_code_is_1_when_anything_changed(
    case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(PAIRS / case / "a"), str(PAIRS / case / "b"), "--exit-code"]) == 1
    assert main([str(PAIRS / case / "a"), str(PAIRS / case / "a"), "--exit-code"]) == 0
    assert capsys.readouterr().out.endswith("\nno changes\n")


def test_publish_settings_change_publishing_though_the_definition_does_not() -> None:
    """Schedule, tags, description, parallelism and the functions' role are what publishing
    applies besides pipeline.json: a diff that missed them would say "no changes"."""
    diff = pair_diff("publish-settings")
    assert (diff.steps_changed, diff.parameters_changed, diff.pipeline) == ((), (), ())
    assert [change.path for change in diff.publish] == [
        "functions.penguins-deploy.role_arn",
        "functions.penguins-schedule-monitor.role_arn",
        "publish.description",
        "publish.parallelism",
        "publish.schedule",
        "publish.tags.team",
    ]
    assert diff.changed
    document = json.loads(RENDERERS["json"](diff))
    assert [c["path"] for c in document["publish"]["changed"]] == [c.path for c in diff.publish]


def test_every_function_setting_is_compared() -> None:
    """Settings no config key varies yet (timeout, memory, ...) are compared all the same."""
    bundle = read_bundle(PAIRS / "threshold" / "a")
    first, *rest = bundle.manifest.functions
    edited = dataclasses.replace(
        first,
        handler="other.handler",
        runtime="python3.13",
        timeout_seconds=first.timeout_seconds + 1,
        memory_mb=first.memory_mb * 2,
        environment={**first.environment, "EXTRA": "1"},
    )
    manifest = dataclasses.replace(bundle.manifest, functions=(edited, *rest))
    diff = diff_definitions(
        bundle.definition,
        bundle.definition,
        old_name="a",
        new_name="b",
        old_manifest=bundle.manifest,
        new_manifest=manifest,
    )
    name = first.function_name
    assert {(c.path, c.new) for c in diff.publish} == {
        (f"functions.{name}.handler", "other.handler"),
        (f"functions.{name}.runtime", "python3.13"),
        (f"functions.{name}.timeout_seconds", first.timeout_seconds + 1),
        (f"functions.{name}.memory_mb", first.memory_mb * 2),
        (f"functions.{name}.environment.EXTRA", "1"),
    }


def test_threshold_is_a_new_parameter_default_read_by_an_uncached_condition() -> None:
    diff = pair_diff("threshold")
    assert (diff.steps_added, diff.steps_removed, diff.steps_changed) == ((), (), ())
    (parameter,) = diff.parameters_changed
    assert parameter.name == "ApproveThreshold"
    assert parameter.fields == (FieldChange("DefaultValue", 0.7, 0.8),)
    (reader, verdict), *_ = parameter.read_by
    assert reader == "CheckApprove"
    assert (verdict.cacheable, verdict.reruns) == (False, True)  # Condition steps are not cached
    assert [s for s, _ in parameter.read_by] == ["CheckApprove"]


def test_new_step_counts_nested_branch_steps() -> None:
    diff = pair_diff("new-step")
    added = {s.name: s.placement for s in diff.steps_added}
    assert added == {
        "DataQualityBaseline": "top level",
        "ScheduleDataQualityMonitor": "DeploySucceeded (if true)",
    }
    assert {p.name for p in diff.parameters_added} == {
        "SkipDataQualityCheck",
        "RegisterNewDataQualityBaseline",
    }
    changed = {s.name: [f.path for f in s.fields] for s in diff.steps_changed}
    assert changed["DeploySucceeded"] == ["Arguments.IfSteps"]
    assert "Arguments.DriftCheckBaselines.ModelDataQuality" in changed["RegisterApproved"]


def test_changed_script_reruns_its_processing_step() -> None:
    """A new script is a new ProcessingInputs S3 URI: ProcessingInputs is in the key."""
    diff = pair_diff("changed-script")
    (step,) = diff.steps_changed
    assert step.name == "Evaluate"
    assert [f.path for f in step.fields] == ["Arguments.ProcessingInputs[code].S3Input.S3Uri"]
    assert step.cache is not None
    assert step.cache.key_fields == ("Arguments.ProcessingInputs",)
    (asset,) = diff.assets_changed
    assert (asset.name, asset.files) == (
        "evaluate-code",
        (("components/evaluate/scripts/evaluate.py", "changed"),),
    )
    assert diff.asset_names[step.fields[0].new] == "evaluate-code"


def test_instance_type_reruns_the_checks_but_not_the_transform() -> None:
    """QualityCheck keys on CheckJobConfig (its instance type); Transform's key has no
    TransformResources."""
    diff = pair_diff("instance-type")
    verdicts = {s.name: s.cache for s in diff.steps_changed}
    assert set(verdicts) == {"DataQualityBaseline", "ModelQualityBaseline", "TransformTestSet"}
    for name in ("DataQualityBaseline", "ModelQualityBaseline"):
        assert verdicts[name] is not None and verdicts[name].key_fields == ("Arguments",)  # type: ignore[union-attr]
    transform = verdicts["TransformTestSet"]
    assert transform is not None and transform.key_fields == ()
    assert transform.reruns  # it has no CacheConfig, so it runs on every execution anyway
    assert transform.text == (
        "runs on every execution (no CacheConfig); with caching on, this change would not "
        "re-run it: "
        "no cache key field changed"
    )


def with_caching(definition: dict[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(definition))
    for step in copied["Steps"]:
        step["CacheConfig"] = {"Enabled": True, "ExpireAfter": "P30D"}
    return copied


def test_with_caching_on_only_key_changes_rerun() -> None:
    a, b = (read_bundle(PAIRS / "instance-type" / side).definition for side in "ab")
    diff = diff_definitions(with_caching(a), with_caching(b), old_name="a", new_name="b")
    verdicts = {s.name: s.cache for s in diff.steps_changed}
    check, transform = verdicts["DataQualityBaseline"], verdicts["TransformTestSet"]
    assert check is not None and transform is not None
    assert (check.enabled, check.reruns) == (True, True)
    assert (
        check.text
        == "re-runs: its cache key changed (QualityCheckConfig/CheckJobConfig (Arguments))"
    )
    # Its key is unchanged, but ModelName reads CreateModel, a Model step: never cached, so a
    # new model name on every execution.
    assert (transform.enabled, transform.reruns, transform.key_fields) == (True, True, ())
    assert transform.text == "re-runs: its cache key reads CreateModel, which runs again"


def job(name: str, kind: str, **arguments: Any) -> dict[str, Any]:
    cache = {"Enabled": True, "ExpireAfter": "P30D"}
    return {"Name": name, "Type": kind, "Arguments": arguments, "CacheConfig": cache}


def test_a_cached_step_with_an_unchanged_key_is_reused() -> None:
    old = {
        "Steps": [job("T", "Transform", ModelName="m", TransformResources={"InstanceType": "a"})]
    }
    new = {
        "Steps": [job("T", "Transform", ModelName="m", TransformResources={"InstanceType": "b"})]
    }
    (step,) = diff_definitions(old, new, old_name="a", new_name="b").steps_changed
    assert step.cache is not None and step.cache.reruns is False
    assert step.cache.text == (
        "can be reused from the cache: no cache key field changed "
        "(key: DataProcessing, Environment, ModelName, TransformInput)"
    )


def test_a_change_reruns_the_cached_steps_whose_key_reads_it() -> None:
    output = {"Get": "Steps.Prep.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"}
    model = {"Name": "Model", "Type": "Model", "Arguments": {}}

    def pipeline(script: str) -> dict[str, Any]:
        return {
            "Steps": [
                job(
                    "Prep", "Processing", ProcessingInputs=[{"InputName": "code", "S3Uri": script}]
                ),
                job(
                    "Train", "Training", InputDataConfig=[{"ChannelName": "train", "S3Uri": output}]
                ),
                job("Alone", "Processing", AppSpecification={"ImageUri": "i"}),
                model,
                job("Score", "Transform", ModelName={"Get": "Steps.Model.ModelName"}),
            ]
        }

    diff = diff_definitions(pipeline("s3://a"), pipeline("s3://b"), old_name="a", new_name="b")
    assert [s.name for s in diff.steps_changed] == ["Prep"]
    (rerun,) = diff.steps_rerun  # not Alone (reads nothing), not Score (re-runs regardless)
    assert rerun.name == "Train" and rerun.cache is not None
    assert rerun.cache.text == "re-runs: its cache key reads Prep, which runs again"
    assert "  = Train (Training, top level)\n      cache: re-runs" in RENDERERS["text"](diff)


def test_expressions_are_shown_as_written() -> None:
    join = {
        "Std:Join": {"On": "/", "Values": ["s3://b/p", {"Get": "Execution.PipelineExecutionId"}]}
    }
    get = {
        "Std:JsonGet": {
            "Path": "metrics.accuracy.value",
            "PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.EvaluationReport"},
        }
    }
    assert show(join) == 'join("/", "s3://b/p", Execution.PipelineExecutionId)'
    assert show(get) == "jsonget(Evaluate.EvaluationReport, metrics.accuracy.value)"
    assert show({"Get": "Parameters.X"}) == "Parameters.X"
    assert show("Parameters.X") == '"Parameters.X"'  # a literal string is quoted


def test_field_paths_name_list_items_and_compare_expressions_whole() -> None:
    old = {
        "Inputs": [{"InputName": "code", "Uri": "s3://a"}, {"InputName": "data", "Uri": "s3://d"}],
        "Type": {"Get": "Parameters.A"},
        "Entry": ["python3", "a.py"],
        "Tags": ["x"],
    }
    new = {
        "Inputs": [{"InputName": "data", "Uri": "s3://d"}, {"InputName": "code", "Uri": "s3://b"}],
        "Type": {"Get": "Parameters.B"},
        "Entry": ["python3", "b.py"],
        "Tags": ["x", "y"],
        "Added": 1,
    }
    assert field_changes(old, new) == [
        FieldChange("Entry[1]", "a.py", "b.py"),
        FieldChange("Inputs[code].Uri", "s3://a", "s3://b"),
        FieldChange("Tags", ["x"], ["x", "y"]),
        FieldChange("Type", {"Get": "Parameters.A"}, {"Get": "Parameters.B"}),
        FieldChange("Added", ABSENT, 1),
    ]


def test_a_step_moved_between_branches_is_a_change() -> None:
    def gate(if_steps: list[dict[str, Any]], else_steps: list[dict[str, Any]]) -> dict[str, Any]:
        arguments = {"Conditions": [], "IfSteps": if_steps, "ElseSteps": else_steps}
        return {"Steps": [{"Name": "Gate", "Type": "Condition", "Arguments": arguments}]}

    fail = {"Name": "Stop", "Type": "Fail", "Arguments": {}}
    diff = diff_definitions(gate([fail], []), gate([], [fail]), old_name="a", new_name="b")
    changes = {s.name: [(f.path, f.old, f.new) for f in s.fields] for s in diff.steps_changed}
    assert changes["Stop"] == [("(placement)", "Gate (if true)", "Gate (else)")]
    assert changes["Gate"] == [
        ("Arguments.ElseSteps", [], ["Stop"]),
        ("Arguments.IfSteps", ["Stop"], []),
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["a", "b", "--deployed"], "give either a second bundle B or --deployed, not both"),
        (["a"], "give a second bundle B to compare with, or --deployed"),
        (["a", "b", "--region", "us-east-1"], "--region and --pipeline-name go with --deployed"),
        (["a", "b", "--format", "html"], "argument --format: invalid choice: 'html'"),
    ],
    ids=["both", "neither", "region-alone", "bad-format"],
)
def test_bad_arguments_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def test_a_missing_bundle_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(PAIRS / "threshold" / "a"), str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err == (
        f"error: {tmp_path / 'nope'}\n  no such bundle folder\n"
        "  why: a bundle is the folder `python -m compiler` writes (pipeline.json, assets.json)\n"
        "  fix: compile first, e.g. `python -m compiler project=digits`, and pass its "
        "build/<pipeline-name> folder\n"
    )


def test_a_bundle_edited_into_bad_json_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "b"
    shutil.copytree(PAIRS / "threshold" / "b", broken)
    (broken / "pipeline.json").write_text('{"Steps": [', encoding="utf-8")
    assert main([str(PAIRS / "threshold" / "a"), str(broken), "--exit-code"]) == 2
    assert capsys.readouterr().err == (
        f"error: {broken / 'pipeline.json'}\n"
        "  not valid JSON: Expecting value at line 1 column 12\n"
        "  why: the file was edited by hand or cut short\n"
        "  fix: recompile the bundle with `python -m compiler ...`\n"
    )


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """Fake credentials in us-east-1 and moto's in-process SageMaker."""
    isolate_from_aws(monkeypatch, tmp_path, "us-east-1")
    with mock_aws():
        yield botocore.session.get_session().create_client("sagemaker", region_name="us-east-1")


def publish(client: Any, bundle: Path) -> str:
    name = read_bundle(bundle).name
    client.create_pipeline(
        PipelineName=name,
        PipelineDefinition=(bundle / "pipeline.json").read_text(),
        RoleArn=ROLE,
    )
    return name


def test_deployed_shows_what_publishing_the_bundle_would_change(
    aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    case = PAIRS / "changed-script"
    name = publish(aws, case / "a")
    assert main([str(case / "b"), "--deployed", "--exit-code"]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"--- deployed pipeline {name}\n+++ {case / 'b'}\n")
    assert "  ~ Evaluate (Processing, top level)\n" in out
    assert "[asset evaluate-code]" in out
    assert "assets: not compared: only two bundles' assets.json are compared" in out
    assert main([str(case / "a"), "--deployed", "--exit-code", "--region", "us-east-1"]) == 0
    assert capsys.readouterr().out.endswith("no changes\n")


def test_deployed_json_matches_the_bundle_diff_for_steps(
    aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    case = PAIRS / "new-step"
    publish(aws, case / "a")
    assert main([str(case / "b"), "--deployed", "--format", "json"]) == 0
    deployed = json.loads(capsys.readouterr().out)
    assert main([str(case / "a"), str(case / "b"), "--format", "json"]) == 0
    local = json.loads(capsys.readouterr().out)
    assert deployed["steps"] == local["steps"]
    assert deployed["parameters"] == local["parameters"]
    assert deployed["assets"]["compared"] is False


def test_deployed_pipeline_not_found(aws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    case = PAIRS / "threshold" / "a"
    assert main([str(case), "--deployed", "--pipeline-name", "missing"]) == 2
    assert capsys.readouterr().err == (
        "error: AWS SageMaker DescribePipeline (pipeline missing, region us-east-1)\n"
        "  no pipeline named 'missing'\n"
        "  why: SageMaker has no pipeline of that name in this account and region\n"
        "  fix: check --pipeline-name and --region (the default name is the bundle's, from "
        "assets.json), or publish the pipeline first\n"
    )


NO_CREDENTIALS = (
    "error: AWS SageMaker DescribePipeline (pipeline penguins-pytorch-train, region eu-west-1)\n"
    "  no AWS credentials found\n"
    "  why: boto3 looked in the environment, ~/.aws and the instance metadata and found none\n"
    "  fix: configure credentials (`aws configure`, `aws sso login`, or "
    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and run again\n"
)
NO_REGION = (
    "error: AWS SageMaker DescribePipeline (pipeline penguins-pytorch-train)\n"
    "  no AWS region\n"
    "  why: neither --region nor AWS_DEFAULT_REGION nor the profile names a region\n"
    "  fix: pass --region, e.g. --region us-east-1\n"
)


@pytest.mark.parametrize(
    ("unset", "message"),
    [
        (("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"), NO_CREDENTIALS),
        (("AWS_DEFAULT_REGION",), NO_REGION),
    ],
    ids=["no-credentials", "no-region"],
)
def test_deployed_without_what_aws_needs(
    unset: tuple[str, ...],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    isolate_from_aws(monkeypatch, tmp_path, "eu-west-1")
    monkeypatch.delenv("AWS_REGION", raising=False)
    for variable in unset:
        monkeypatch.delenv(variable)
    assert main([str(PAIRS / "threshold" / "a"), "--deployed"]) == 2
    assert capsys.readouterr().err == message


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[Any, Stubber]]:
    """A real SageMaker client whose answers are stubbed (and requests checked) by botocore."""
    isolate_from_aws(monkeypatch, tmp_path, "us-east-1")
    client = botocore.session.get_session().create_client("sagemaker", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_deployed_access_denied(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_client_error(
        "describe_pipeline",
        service_error_code="AccessDeniedException",
        service_message="User is not authorized to perform: sagemaker:DescribePipeline",
        expected_params={"PipelineName": "p"},
    )
    with pytest.raises(AwsError) as error:
        deployed_definition("p", None, client)
    assert str(error.value) == (
        "AWS SageMaker DescribePipeline (pipeline p, region us-east-1)\n"
        "  AccessDeniedException: User is not authorized to perform: sagemaker:DescribePipeline\n"
        "  why: the caller's IAM policy does not allow this call\n"
        "  fix: attach the policy for this command from bundle/PUBLISH.md, then run it again"
    )


def test_deployed_resource_not_found_as_aws_says_it(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_client_error(
        "describe_pipeline",
        service_error_code="ResourceNotFound",
        service_message="Pipeline p does not exist.",
    )
    with pytest.raises(
        AwsError,
        match=r"\n  no pipeline named 'p'\n  why: SageMaker has no pipeline of that name",
    ):
        deployed_definition("p", None, client)


def test_deployed_definition_that_is_not_json(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response(
        "describe_pipeline", {"PipelineDefinition": "[1, 2]"}, {"PipelineName": "p"}
    )
    with pytest.raises(AwsError) as error:
        deployed_definition("p", None, client)
    assert str(error.value) == (
        "AWS SageMaker DescribePipeline (pipeline p, region us-east-1)\n"
        "  the stored PipelineDefinition is not a pipeline definition\n"
        "  why: TypeError: it is a JSON list, not an object\n"
        "  fix: republish the pipeline from a bundle"
    )


# --------------------------------------------------------------------------- monitoring pipelines


@pytest.fixture(scope="module")
def builtin_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two builtin-backend bundles: a wider data-quality window, and no model-quality schedule."""
    from compiler.compile import compile_overrides, write_bundle

    root = tmp_path_factory.mktemp("builtin-pair")
    base = ["project=penguins", "monitoring.backend=builtin"]
    old = write_bundle(compile_overrides([*base, f"output_dir={root / 'a'}"]))
    changes = [
        "monitoring.data_quality.schedule.window=PT6H",
        "monitoring.model_quality.schedule.enabled=false",
    ]
    new = write_bundle(compile_overrides([*base, *changes, f"output_dir={root / 'b'}"]))
    return old, new


def test_the_diff_covers_the_monitoring_pipelines(
    builtin_pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = builtin_pair
    assert main([str(old), str(new), "--exit-code"]) == 1
    out = capsys.readouterr().out
    sections = out.split("\n--- ")
    assert [s.splitlines()[0].removeprefix("--- ") for s in sections] == [
        str(old),
        str(old / "monitors/data-quality"),
        str(old / "monitors/model-quality"),
    ]
    assert '      Arguments.Environment.MONITOR_WINDOW: "PT1H" -> "PT6H"' in sections[1]
    assert "+++ (no such monitoring pipeline)" in sections[2]
    assert "steps: 0 added, 3 removed, 0 changed" in sections[2]
    assert "pipeline:" not in sections[2]  # the missing side has the other's pipeline fields

    assert main([str(old), str(new), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert sorted(document["monitors"]) == ["monitors/data-quality", "monitors/model-quality"]
    assert document["pipeline"]["old"] == str(old)


def test_identical_builtin_bundles_have_no_changes_anywhere(
    builtin_pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    old, _ = builtin_pair
    assert main([str(old), str(old), "--exit-code"]) == 0
    assert capsys.readouterr().out.count("no changes") == 3

"""Our emitter against the SageMaker SDK 2.x: the same pipeline, built both ways, step by step.

`sdk_twin.py` builds, with the SDK's own classes, the pipeline our compiler emits for each
configuration of the matrix (ids project-framework-training; monitoring and deployment on, the
default) and for configurations beyond it (tuning and region settings; monitoring, deployment,
model quality, data quality or the schedules switched off; non-default monitoring and deployment
settings); each of our steps must equal the SDK's step of the same name, the QualityCheck, Model,
Transform and Lambda steps included.

Normalization (applied to the SDK's side only; everything else must match exactly):
1. Condition branches are flattened: steps are compared one by one, matched by name, and a
   Condition step's IfSteps/ElseSteps are compared as the lists of their step names.
2. The SDK names the step a RegisterModel collection holds `<name>-RegisterModel`, and the one a
   ModelStep (Model.create) holds `<name>-CreateModel`: the suffix is stripped wherever the name
   appears, i.e. a step's Name, its DependsOn entries (a Deploy step depends on its register
   step), and the step named in a `Steps.<name>.` property reference (`ModelPackageArn`,
   `ModelName`).
3. The SDK writes a tuning job's instances as TrainingJobDefinition's
   HyperParameterTuningResourceConfig; we write ResourceConfig, which the API equally accepts and
   the published definition schema alone allows. The key is renamed.
4. The SDK's tuner adds static hyperparameters that we do not send: `sagemaker_job_name` (a
   timestamped base job name) and `sagemaker_estimator_class_name` / `sagemaker_estimator_module`
   (read only by the SDK's `attach`). They are dropped. (A Training step needs no such step: there
   the SDK drops the job name itself.)
5. A binary project's ModelQualityBaseline passes `positive_label` (the class that counts as
   positive, since the labels are class names) in its Environment: an extension of the project's
   analyzer that ModelQualityCheckConfig has no argument for. It is added to the SDK's step.

Image URIs are checked separately against `sagemaker.image_uris.retrieve` for the config's
literal instance types, since the twin cannot resolve an image for a parameterized one, and then
for every instance type SageMaker accepts: we must resolve the SDK's image or, where the SDK has
none, refuse too. The Model Monitor analyzer image (QualityCheck steps, schedule events) is
checked likewise, for every region either side knows.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

import pytest

from compiler.compile import Bundle, compile_overrides
from compiler.load import load_config
from kernel import images
from kernel.emit import canonical_json
from kernel.frameworks import FRAMEWORKS
from kernel.instances import InstanceKind, instance_types
from tests.oracle import sdk_twin

# What the SDK warns while building the twin: PipelineSession's "No Wait, No Logs" notice,
# RegisterModel's deprecation (the brief's oracle is RegisterModel, which ModelStep wraps), the
# CreateModelStep deprecation that ModelStep itself triggers (it builds one inside), and
# LambdaStep's notice that a function given by ARN alone is not updated (we deploy none).
pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:We are deprecating the use of CreateModelStep:DeprecationWarning"
    ),
    pytest.mark.filterwarnings("ignore:Running within a PipelineSession:UserWarning"),
    pytest.mark.filterwarnings(
        "ignore:We are deprecating the use of RegisterModel:DeprecationWarning"
    ),
    pytest.mark.filterwarnings("ignore:Lambda function won't be updated:UserWarning"),
]

NO_SCHEDULES = (
    "monitoring.data_quality.schedule.enabled=false",
    "monitoring.model_quality.schedule.enabled=false",
)
PROJECTS = ("penguins", "digits")
BINARY_PROJECTS = ("cancer",)  # BinaryClassification; one training mode suffices
TRAININGS = ("train", "tune", "train_and_tune", "tune_top2")


def learns(project: str, framework: str) -> bool:
    """The framework table's word: can the framework learn the project's data kind?"""
    kind = load_config([f"project={project}"]).data["project"]["data"]["kind"]
    return kind in FRAMEWORKS[framework].kinds


CASES = (
    [
        pytest.param([f"project={p}", f"framework={f}", f"training={t}"], id=f"{p}-{f}-{t}")
        for p in PROJECTS
        for f in FRAMEWORKS
        for t in TRAININGS
        if learns(p, f)
    ]
    + [
        pytest.param([f"project={p}", f"framework={f}"], id=f"{p}-{f}-train")
        for p in BINARY_PROJECTS
        for f in FRAMEWORKS
    ]
    + [
        # Beyond the matrix: settings whose rendering the matrix never exercises.
        pytest.param(
            [
                "training=tune",
                "training.tuning.ranges={epochs:{min:5,max:20,scaling:Linear},"
                "batch_size:{min:16,max:64},"
                "learning_rate:{min:0.00001,max:0.03,scaling:Logarithmic}}",
                "training.tuning.strategy=Random",
                "training.tuning.objective_type=Minimize",
            ],
            id="tune-integer-ranges-random",
        ),
        pytest.param(
            [
                "framework=pytorch",
                "training=train_and_tune",
                "framework.training_instance_type=ml.g5.xlarge",
                "framework.inference_instance_type=ml.g4dn.xlarge",
                "aws.region=eu-west-1",
                "gate.approve=0.9",
                "gate.pending=0.8",
            ],
            id="pytorch-gpu-eu-west-1",
        ),
        pytest.param(
            ["project=digits", "aws.region=ap-southeast-2", "aws.prefix=team/ml"],
            id="digits-ap-southeast-2-nested-prefix",
        ),
        # Monitoring and deployment switched off, in part or whole (a schedule needs its check and
        # the deployment, so each switch also turns off the schedules that depend on it).
        pytest.param(
            [
                "framework=pytorch",
                "monitoring.data_quality.enabled=false",
                "monitoring.model_quality.enabled=false",
                *NO_SCHEDULES,
            ],
            id="monitoring-off",
        ),
        pytest.param(
            [
                "project=digits",
                "training=train_and_tune",
                "deployment.enabled=false",
                *NO_SCHEDULES,
            ],
            id="deployment-off",
        ),
        pytest.param(
            [
                "training=tune",
                "monitoring.model_quality.enabled=false",
                "monitoring.model_quality.schedule.enabled=false",
            ],
            id="model-quality-off",
        ),
        pytest.param(
            [
                "training=tune_top2",
                "monitoring.data_quality.enabled=false",
                "monitoring.data_quality.schedule.enabled=false",
            ],
            id="data-quality-off-top2",
        ),
        pytest.param(["training=train_and_tune", *NO_SCHEDULES], id="schedules-off"),
        # Non-default monitoring and deployment settings.
        pytest.param(
            [
                "monitoring.first_run=false",
                "monitoring.data_quality.skip_check=false",
                "monitoring.model_quality.skip_check=false",
                "monitoring.data_quality.register_new_baseline=false",
                "monitoring.data_quality.fail_on_violation=false",
                "monitoring.model_quality.fail_on_violation=false",
                "monitoring.instance_type=ml.c5.2xlarge",
                "monitoring.data_quality.schedule.cron=daily",
                "monitoring.model_quality.schedule.instance_type=ml.c5.xlarge",
                "monitoring.model_quality.schedule.max_runtime_seconds=600",
                "deployment.instance_count=2",
                "deployment.instance_type=ml.c5.large",
                "deployment.data_capture_percentage=20",
                "deployment.endpoint_name=penguins-prod",
            ],
            id="monitoring-deployment-settings",
        ),
    ]
)
SDK_SUFFIXES = "-RegisterModel|-CreateModel"
SDK_SUFFIX = re.compile(f"({SDK_SUFFIXES})$")
SDK_SUFFIX_IN_PATH = re.compile(rf"^(Steps\.[A-Za-z0-9]+)({SDK_SUFFIXES})\.")
SDK_ONLY_HYPERPARAMETERS = (
    "sagemaker_job_name",
    "sagemaker_estimator_class_name",
    "sagemaker_estimator_module",
)


def flatten(steps: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every step by name, condition branches included; branches become lists of names."""
    flat: dict[str, dict[str, Any]] = {}
    for step in steps:
        step = json.loads(json.dumps(step))
        if step["Type"] == "Condition":
            arguments = step["Arguments"]
            for branch in ("IfSteps", "ElseSteps"):
                children = arguments.get(branch, [])
                flat |= flatten(children)
                arguments[branch] = [child["Name"] for child in children]
        assert step["Name"] not in flat, f"two steps named {step['Name']}"
        flat[step["Name"]] = step
    return flat


def normalize_sdk(definition: dict[str, Any], positive_class: str | None) -> dict[str, Any]:
    """The SDK's definition with the documented normalization (module docstring) applied."""
    normalized: dict[str, Any] = _unsuffix(json.loads(json.dumps(definition)))
    for step in normalized["Steps"]:
        _normalize_step(step, positive_class)
    return normalized


def _unsuffix(value: Any, key: str | None = None) -> Any:
    """Strips the SDK's step-collection suffixes from step names: a step's own, its DependsOn
    entries, and the step named by a `Steps.<name>.` property reference."""
    if isinstance(value, dict):
        return {k: _unsuffix(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_unsuffix(v, key) for v in value]
    if isinstance(value, str) and key in ("Name", "DependsOn"):
        return SDK_SUFFIX.sub("", value)
    if isinstance(value, str) and key == "Get" and value.startswith("Steps."):
        return SDK_SUFFIX_IN_PATH.sub(r"\1.", value)
    return value


def _normalize_step(step: dict[str, Any], positive_class: str | None) -> None:
    arguments = step["Arguments"]
    for branch in ("IfSteps", "ElseSteps"):
        for child in arguments.get(branch, []):
            _normalize_step(child, positive_class)
    if step["Type"] == "QualityCheck" and step["CheckType"] == "MODEL_QUALITY" and positive_class:
        arguments["Environment"]["positive_label"] = positive_class
    if step["Type"] == "Tuning":
        definition = arguments["TrainingJobDefinition"]
        definition["ResourceConfig"] = definition.pop("HyperParameterTuningResourceConfig")
        for key in SDK_ONLY_HYPERPARAMETERS:
            definition["StaticHyperParameters"].pop(key)


def _assets(bundle: Bundle) -> dict[str, str]:
    return {a["name"]: a["s3_uri"] for a in json.loads(bundle.assets_json)["assets"]}


def _diff(ours: Any, sdk: Any, label: str) -> str:
    return "".join(
        difflib.unified_diff(
            canonical_json(sdk).splitlines(keepends=True),
            canonical_json(ours).splitlines(keepends=True),
            fromfile=f"sdk/{label}",
            tofile=f"ours/{label}",
        )
    )


@pytest.fixture(scope="module", params=CASES)
def both(request: pytest.FixtureRequest) -> tuple[dict[str, Any], dict[str, Any]]:
    """(our definition, the SDK twin's normalized definition) of one case."""
    bundle = compile_overrides(request.param)
    sdk = sdk_twin.sdk_definition(bundle.config, _assets(bundle))
    return json.loads(bundle.pipeline_json), normalize_sdk(
        sdk, bundle.config.project.positive_class
    )


def test_steps_match_sdk(both: tuple[dict[str, Any], dict[str, Any]]) -> None:
    ours, sdk = both
    ours_steps, sdk_steps = flatten(ours["Steps"]), flatten(sdk["Steps"])
    assert sorted(ours_steps) == sorted(sdk_steps), "the two pipelines have different steps"
    diffs = [
        _diff(ours_steps[name], sdk_steps[name], name)
        for name in sorted(ours_steps)
        if ours_steps[name] != sdk_steps[name]
    ]
    assert not diffs, "our steps differ from the SDK's:\n" + "\n".join(diffs)


def test_top_level_matches_sdk(both: tuple[dict[str, Any], dict[str, Any]]) -> None:
    ours, sdk = both
    for key in ("Version", "Metadata", "Parameters", "PipelineExperimentConfig"):
        assert ours[key] == sdk[key], _diff(ours[key], sdk[key], key)


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_images_match_sdk(framework: str) -> None:
    """The images we resolve offline equal the SDK's for the config's literal instance types."""
    bundle = compile_overrides([f"framework={framework}"])
    steps = flatten(json.loads(bundle.pipeline_json)["Steps"])
    container = steps["RegisterApproved"]["Arguments"]["InferenceSpecification"]["Containers"][0]
    ours = {
        "sklearn": steps["Preprocess"]["Arguments"]["AppSpecification"]["ImageUri"],
        "training": steps["Train"]["Arguments"]["AlgorithmSpecification"]["TrainingImage"],
        "inference": container["Image"],
        "model-monitor": steps["DataQualityBaseline"]["Arguments"]["AppSpecification"]["ImageUri"],
    }
    sdk = {scope: sdk_twin.sdk_image(bundle.config, scope) for scope in ours}
    assert ours == sdk


# (framework, image scope, the instance kind it is resolved for)
IMAGE_SCOPES = [
    *((name, "training", "Training") for name in FRAMEWORKS),
    *((name, "inference", "ProductionVariant") for name in FRAMEWORKS),
    ("sklearn", "training", "Processing"),
]


@pytest.mark.parametrize(
    ("framework", "scope", "kind"),
    [pytest.param(*case, id=f"{case[0]}-{case[1]}") for case in IMAGE_SCOPES],
)
def test_images_agree_on_every_instance_type(
    framework: str, scope: str, kind: InstanceKind
) -> None:
    """For each instance type SageMaker accepts, our image equals the SDK's, or both refuse."""
    if framework == "sklearn":
        config = compile_overrides([]).config
        version, py_version = sdk_twin.SKLEARN_VERSION, "py3"
    else:
        config = compile_overrides([f"framework={framework}"]).config
        fw = config.framework
        version, py_version = fw.image_version(scope), fw.image_python(scope)
    region = config.aws.region
    differences = []
    for instance in instance_types(kind):
        try:
            sdk: str | None = sdk_twin.retrieve(
                framework, region, version, py_version, instance, image_scope=scope
            )
        except ValueError:
            sdk = None
        try:
            ours: str | None = images.image_uri(
                framework, scope, version, py_version, region, instance
            )
        except ValueError:
            ours = None
        if ours != sdk:
            differences.append(f"{instance}: ours {ours or 'refused'}, SDK {sdk or 'refused'}")
    assert not differences, f"{len(differences)} instance types differ:\n" + "\n".join(differences)


def test_monitor_image_agrees_in_every_region() -> None:
    """Our Model Monitor analyzer image equals the SDK's in each region either knows, or both
    refuse the region."""
    sdk_regions = sdk_twin.image_uris.config_for_framework("model-monitor")["versions"][""]
    regions = set(sdk_regions["registries"]) | set(images._table()["ecr_hostnames"])
    differences = []
    for region in sorted(regions):
        try:
            sdk: str | None = sdk_twin.image_uris.retrieve("model-monitor", region)
        except ValueError:
            sdk = None
        try:
            ours: str | None = images.monitor_image(region)
        except ValueError:
            ours = None
        if ours != sdk:
            differences.append(f"{region}: ours {ours or 'refused'}, SDK {sdk or 'refused'}")
    assert not differences, f"{len(differences)} regions differ:\n" + "\n".join(differences)

"""Our emitter against the SageMaker SDK 2.x: the same pipeline, built both ways, step by step.

`sdk_twin.py` builds, with the SDK's own classes, the pipeline our compiler emits for each
configuration of the matrix (ids project-framework-training) and for three configurations beyond
it; each of our steps must equal the SDK's step of the same name.

Normalization (applied to the SDK's side only; everything else must match exactly):
1. Condition branches are flattened: steps are compared one by one, matched by name, and a
   Condition step's IfSteps/ElseSteps are compared as the lists of their step names.
2. The SDK names a RegisterModel step `<name>-RegisterModel`: the suffix is stripped.
3. The SDK writes a tuning job's instances as TrainingJobDefinition's
   HyperParameterTuningResourceConfig; we write ResourceConfig, which the API equally accepts and
   the published definition schema alone allows. The key is renamed.
4. The SDK's tuner adds static hyperparameters that we do not send: `sagemaker_job_name` (a
   timestamped base job name) and `sagemaker_estimator_class_name` / `sagemaker_estimator_module`
   (read only by the SDK's `attach`). They are dropped. (A Training step needs no such step: there
   the SDK drops the job name itself.)

Image URIs are checked separately against `sagemaker.image_uris.retrieve` for the config's
literal instance types, since the twin cannot resolve an image for a parameterized one, and then
for every instance type SageMaker accepts: we must resolve the SDK's image or, where the SDK has
none, refuse too.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

import pytest

from compiler import images
from compiler.compile import Bundle, compile_overrides
from compiler.emit import canonical_json
from compiler.schema import InstanceKind, instance_types
from tests.oracle import sdk_twin

# What the SDK warns while building the twin: PipelineSession's "No Wait, No Logs" notice, and
# RegisterModel's deprecation (the brief's oracle is RegisterModel, which ModelStep wraps).
pytestmark = [
    pytest.mark.filterwarnings("ignore:Running within a PipelineSession:UserWarning"),
    pytest.mark.filterwarnings(
        "ignore:We are deprecating the use of RegisterModel:DeprecationWarning"
    ),
]

PROJECTS = ("penguins", "digits")
FRAMEWORKS = ("tensorflow", "pytorch")
TRAININGS = ("train", "tune", "train_and_tune", "tune_top2")
CASES = [
    pytest.param([f"project={p}", f"framework={f}", f"training={t}"], id=f"{p}-{f}-{t}")
    for p in PROJECTS
    for f in FRAMEWORKS
    for t in TRAININGS
] + [
    # Beyond the matrix: settings whose rendering the matrix never exercises.
    pytest.param(
        [
            "training=tune",
            "+training.tuning.ranges.epochs={min:5,max:20,scaling:Linear}",
            "+training.tuning.ranges.batch_size={min:16,max:64}",
            "training.tuning.ranges.learning_rate.scaling=Logarithmic",
            "training.tuning.ranges.learning_rate.min=0.00001",
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
]
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


def normalize_sdk(definition: dict[str, Any]) -> dict[str, Any]:
    """The SDK's definition with the documented normalization (module docstring) applied."""
    normalized: dict[str, Any] = json.loads(json.dumps(definition))
    for step in normalized["Steps"]:
        _normalize_step(step)
    return normalized


def _normalize_step(step: dict[str, Any]) -> None:
    arguments = step["Arguments"]
    for branch in ("IfSteps", "ElseSteps"):
        for child in arguments.get(branch, []):
            _normalize_step(child)
    if step["Type"] == "RegisterModel":
        step["Name"] = step["Name"].removesuffix("-RegisterModel")
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
    return json.loads(bundle.pipeline_json), normalize_sdk(sdk)


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


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_images_match_sdk(framework: str) -> None:
    """The images we resolve offline equal the SDK's for the config's literal instance types."""
    bundle = compile_overrides([f"framework={framework}"])
    steps = flatten(json.loads(bundle.pipeline_json)["Steps"])
    container = steps["RegisterApproved"]["Arguments"]["InferenceSpecification"]["Containers"][0]
    ours = {
        "sklearn": steps["Preprocess"]["Arguments"]["AppSpecification"]["ImageUri"],
        "training": steps["Train"]["Arguments"]["AlgorithmSpecification"]["TrainingImage"],
        "inference": container["Image"],
    }
    sdk = {scope: sdk_twin.sdk_image(bundle.config, scope) for scope in ours}
    assert ours == sdk


# (framework, image scope, the instance kind it is resolved for)
IMAGE_SCOPES = [
    ("tensorflow", "training", "Training"),
    ("tensorflow", "inference", "ProductionVariant"),
    ("pytorch", "training", "Training"),
    ("pytorch", "inference", "ProductionVariant"),
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
        version, py_version = config.framework.version, config.framework.py_version
    region = config.aws.region
    differences = []
    for instance in instance_types(kind):
        try:
            sdk: str | None = sdk_twin.image_uris.retrieve(
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

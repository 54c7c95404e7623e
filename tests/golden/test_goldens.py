"""Golden pipeline definitions for every project x framework x training mode.

Each case folder holds `overrides.txt` (one override a line) beside the `pipeline.json` and
`assets.json` they produce, and those of its monitoring pipelines under `monitors/<kind>/`
(builtin monitoring backend). A mismatch fails with a unified diff; only
`pytest --update-goldens` rewrites them (then read `git diff` and say why in the commit).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import jsonschema
import pytest

from compiler.compile import Bundle, compile_overrides
from kernel.check import check_definition
from tests.goldens import check_golden

HERE = Path(__file__).parent
CASES = sorted(p.parent for p in HERE.glob("*/overrides.txt"))
OVERLAY = (
    HERE.parents[2] / "shared/anchors/sagemaker-pipeline-definition.schema.overlay-sdk-2.257.7.json"
)
PROJECTS = ("penguins", "digits")
FRAMEWORKS = ("tensorflow", "pytorch")
MODES = ("train", "tune", "train_and_tune", "tune_top2")


def read_overrides(case: Path) -> list[str]:
    lines = (case / "overrides.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_the_matrix_has_a_golden_per_combination() -> None:
    expected = {f"{p}-{f}-{m}" for p in PROJECTS for f in FRAMEWORKS for m in MODES}
    expected |= {f"cancer-{f}-train" for f in FRAMEWORKS}  # the binary project, every stage on
    assert expected <= {case.name for case in CASES}


@functools.cache
def compiled(case: Path) -> Bundle:
    """Each case is compiled once, whichever of its files a test compares."""
    return compile_overrides(read_overrides(case))


def bundle_files(bundle: Bundle, folder: str = "") -> dict[str, str]:
    """The JSON files of a bundle and of its monitoring pipelines, by path in the bundle."""
    files = {
        f"{folder}pipeline.json": bundle.pipeline_json,
        f"{folder}assets.json": bundle.assets_json,
    }
    for subfolder, monitor in bundle.monitors.items():
        files |= bundle_files(monitor, f"{folder}{subfolder}/")
    return files


def golden_files(case: Path) -> set[str]:
    return {p.relative_to(case).as_posix() for p in case.rglob("*.json")}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@pytest.mark.parametrize("name", ["pipeline.json", "assets.json"])
def test_golden(case: Path, name: str, request: pytest.FixtureRequest) -> None:
    """The bundle's file, and the same file of each of its monitoring pipelines."""
    files = bundle_files(compiled(case))
    for path in sorted(p for p in files if p.endswith(name)):
        check_golden(case / path, files[path], request)
    if not request.config.getoption("--update-goldens"):
        assert golden_files(case) == set(files), "goldens without a compiled file (stale?)"


def overlay_schema() -> dict:  # type: ignore[type-arg]
    """The shared SDK overlay schema, with the one construct it types wrongly corrected.

    It types a retry policy's `ExceptionType` as one string; AWS's pages ("Retry Policy for
    Pipeline Steps": `"ExceptionType": [String]`) and the SDK (`StepRetryPolicy.to_request`)
    write a list. test_overlay_rejects_nothing_else shows this is the only extension we rely on.
    """
    schema = json.loads(OVERLAY.read_text())
    policy = schema["definitions"]["RetryPolicy"]["properties"]
    policy["ExceptionType"] = {"type": "array", "items": policy["ExceptionType"], "minItems": 1}
    return schema


def test_overlay_rejects_nothing_else() -> None:
    """The extension differs from the shared schema in ExceptionType alone, and it is needed:
    with it every golden validates (test below), without it the retry policies do not."""
    if not OVERLAY.exists():
        pytest.skip(f"{OVERLAY} is absent: this clone has no ../shared beside it")
    shared, extended = json.loads(OVERLAY.read_text()), overlay_schema()
    policy = "RetryPolicy"
    assert {k: v for k, v in extended["definitions"].items() if k != policy} == {
        k: v for k, v in shared["definitions"].items() if k != policy
    }
    assert {
        k
        for k, v in extended["definitions"][policy]["properties"].items()
        if v != shared["definitions"][policy]["properties"][k]
    } == {"ExceptionType"}
    raw = jsonschema.Draft7Validator(shared)
    assert all(not raw.is_valid(json.loads((case / "pipeline.json").read_text())) for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_is_a_sound_definition(case: Path) -> None:
    """The stored golden validates against the shared SDK-overlay schema (with the extension
    above) and the cross-field checks."""
    if not OVERLAY.exists():
        pytest.skip(f"{OVERLAY} is absent: this clone has no ../shared beside it")
    for path in sorted(case.rglob("pipeline.json")):
        text = path.read_text()
        definition = json.loads(text)
        errors = sorted(
            jsonschema.Draft7Validator(overlay_schema()).iter_errors(definition),
            key=lambda e: e.json_path,
        )
        assert [f"{path}: {e.json_path}: {e.message[:200]}" for e in errors] == []
        assert definition["Version"] == "2020-12-01"
        manifest = json.loads((path.parent / "assets.json").read_text())
        functions = [f["function_arn"] for f in manifest.get("functions", [])]
        assert check_definition(definition, manifest["pipeline"], text, functions) == []

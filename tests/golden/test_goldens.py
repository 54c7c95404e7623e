"""Golden pipeline definitions for every project x framework x training mode.

Each case folder holds `overrides.txt` (one override a line) beside the `pipeline.json` and
`assets.json` they produce, and those of its monitoring pipelines under `monitors/<kind>/`
(builtin monitoring backend). A mismatch fails with a unified diff; only
`pytest --update-goldens` rewrites them (then read `git diff` and say why in the commit).
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import jsonschema
import pytest

from compiler.compile import Bundle, compile_overrides
from kernel.check import check_definition
from tests.goldens import check_golden

HERE = Path(__file__).parent
CASES = sorted(p.parent for p in HERE.glob("*/overrides.txt"))
OVERLAY_NAME = "sagemaker-pipeline-definition.schema.overlay-sdk-2.257.7.json"
OVERLAY = HERE.parent / "anchors" / OVERLAY_NAME  # a copy; tests/anchors/README.md says whence
SHARED_OVERLAY = HERE.parents[2] / "shared" / "anchors" / OVERLAY_NAME
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


def test_overlay_copy_is_the_shared_file() -> None:
    """The copied overlay is the one its provenance note names, and still the shared one."""
    assert (
        hashlib.sha256(OVERLAY.read_bytes()).hexdigest()
        in (HERE.parent / "anchors" / "README.md").read_text()
    )
    if SHARED_OVERLAY.exists():  # CI and the developers' machines have ../shared beside the clone
        assert OVERLAY.read_bytes() == SHARED_OVERLAY.read_bytes(), (
            "shared overlay changed: copy it"
        )


def test_overlay_rejects_a_bad_definition() -> None:
    """The schema is no rubber stamp: a golden with one bad field fails it."""
    definition = json.loads((CASES[0] / "pipeline.json").read_text())
    definition["Steps"][0]["Type"] = "Processsing"
    assert not jsonschema.Draft7Validator(json.loads(OVERLAY.read_text())).is_valid(definition)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_is_a_sound_definition(case: Path) -> None:
    """The stored golden validates against the SDK-overlay schema and the cross-field checks."""
    for path in sorted(case.rglob("pipeline.json")):
        text = path.read_text()
        definition = json.loads(text)
        errors = sorted(
            jsonschema.Draft7Validator(json.loads(OVERLAY.read_text())).iter_errors(definition),
            key=lambda e: e.json_path,
        )
        assert [f"{path}: {e.json_path}: {e.message[:200]}" for e in errors] == []
        assert definition["Version"] == "2020-12-01"
        manifest = json.loads((path.parent / "assets.json").read_text())
        functions = [f["function_arn"] for f in manifest.get("functions", [])]
        assert check_definition(definition, manifest["pipeline"], text, functions) == []

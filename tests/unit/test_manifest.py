"""kernel/manifest.py: assets.json round-trips exactly, and a reader refuses what it cannot read."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernel.manifest import (
    ASSET_KINDS,
    FORMAT_VERSION,
    Asset,
    AssetFile,
    Manifest,
    ManifestError,
    Monitor,
    Publish,
    Schedule,
)
from tests.manifests import hand_manifest

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
MANIFESTS = sorted(GOLDEN.glob("**/assets.json"))
WHERE = "build/p/assets.json"
FIX = "  fix: recompile the bundle with this version's compiler (`python -m compiler ...`)"
EDITED = "the file was edited by hand or written by another tool"

scalars = st.one_of(
    st.text(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False)
)
manifests = st.builds(
    Manifest,
    assets=st.lists(st.builds(Asset, kind=st.sampled_from(sorted(ASSET_KINDS)))).map(tuple),
    publish=st.builds(
        Publish,
        schedule=st.none() | st.builds(Schedule, parameters=st.dictionaries(st.text(), scalars)),
    ),
    monitors=st.lists(st.builds(Monitor)).map(tuple),
)


@given(manifests)
@settings(max_examples=60, deadline=None)
def test_any_manifest_round_trips_through_its_json(manifest: Manifest) -> None:
    text = manifest.to_json()
    assert Manifest.from_json(text, WHERE) == manifest
    assert Manifest.from_json(text, WHERE).to_json() == text


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=12,
)


@given(st.data())
@settings(max_examples=200, deadline=None)
def test_any_damage_to_a_manifest_is_refused_with_a_message(data: st.DataObject) -> None:
    """Replace any one value of a valid manifest by any JSON: it reads, or ManifestError says
    why; never another exception (which would be a traceback in front of a user)."""
    manifest = valid()
    section = data.draw(st.sampled_from(sorted(manifest)))
    target = manifest[section] if isinstance(manifest[section], dict) else manifest
    key = data.draw(st.sampled_from(sorted(target))) if target is not manifest else section
    target[key] = data.draw(json_values)
    try:
        Manifest.from_json(json.dumps(manifest), WHERE)
    except ManifestError as refused:
        assert str(refused).startswith((WHERE, f"{len(refused.problems)} problems"))


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: str(p.relative_to(GOLDEN).parent))
def test_every_golden_manifest_reads_and_writes_back_byte_identical(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    manifest = Manifest.from_json(text, str(path))
    assert manifest.format_version == FORMAT_VERSION
    assert manifest.to_json() == text


def test_asset_files_are_triples_and_objects_in_json() -> None:
    """An asset's files unpack as (path, arcname, sha256) in code and are objects in JSON."""
    files = (AssetFile("a/b.py", "b.py", "1" * 64), ("a/c.py", "a/c.py", "2" * 64))  # plain too
    asset = Asset("code", "folder", files, "3" * 64, "s3://b/k/")  # type: ignore[arg-type]
    manifest = dataclasses.replace(hand_manifest("p", "{}"), assets=(asset,))
    written = json.loads(manifest.to_json())["assets"][0]["files"]
    assert written == [
        {"path": "a/b.py", "arcname": "b.py", "sha256": "1" * 64},
        {"path": "a/c.py", "arcname": "a/c.py", "sha256": "2" * 64},
    ]
    (read,) = Manifest.from_json(manifest.to_json(), WHERE).assets
    assert [tuple(f) for f in read.files] == [
        ("a/b.py", "b.py", "1" * 64),
        ("a/c.py", "a/c.py", "2" * 64),
    ]
    assert read.files[0].arcname == "b.py"


def valid() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(hand_manifest("p", "{}").to_json())
    return data


def refusal(data: Any) -> str:
    text = data if isinstance(data, str) else json.dumps(data)
    with pytest.raises(ManifestError) as refused:
        Manifest.from_json(text, WHERE)
    return str(refused.value)


def test_a_newer_format_says_to_recompile_with_this_version() -> None:
    assert refusal(valid() | {"format_version": FORMAT_VERSION + 1, "new": 1}) == (
        f"{WHERE}\n  format_version = {FORMAT_VERSION + 1}\n"
        "  why: it was compiled by a newer version of the compiler (bundle format "
        f"{FORMAT_VERSION + 1}); this version reads bundle format {FORMAT_VERSION}\n{FIX}"
    )


def test_an_older_format_says_to_recompile() -> None:
    assert refusal(valid() | {"format_version": 0}) == (
        f"{WHERE}\n  format_version = 0\n"
        "  why: it was compiled by an older version of the compiler (bundle format 0); this "
        f"version reads bundle format {FORMAT_VERSION}\n{FIX}"
    )


def test_a_bundle_from_before_versions_says_to_recompile() -> None:
    data = valid()
    del data["format_version"]
    assert refusal(data) == (
        f"{WHERE}\n  no format_version\n"
        "  why: it was compiled by an older version of the compiler, before bundles had a format "
        f"version; this version reads bundle format {FORMAT_VERSION}\n{FIX}"
    )


@pytest.mark.parametrize("version", ["1", 1.0, True, None], ids=["string", "float", "bool", "null"])
def test_a_version_that_is_not_a_whole_number(version: Any) -> None:
    assert refusal(valid() | {"format_version": version}) == (
        f"{WHERE}\n  format_version = {json.dumps(version)}\n"
        f"  why: a format version is a whole number\n{FIX}"
    )


def test_not_json() -> None:
    assert refusal('{"pipeline": ') == (
        f"{WHERE}\n  not valid JSON: Expecting value at line 1 column 14\n"
        f"  why: the file was edited by hand or cut short\n{FIX}"
    )


def test_not_an_object() -> None:
    assert refusal("[]") == (
        f"{WHERE}\n  a JSON list, not an object\n"
        f"  why: assets.json is the object the compiler writes\n{FIX}"
    )


def test_a_mistyped_field_is_named_by_its_key_path() -> None:
    data = valid()
    data["publish"]["account"] = 111122223333
    assert refusal(data) == (
        f"{WHERE}\n  publish.account = 111122223333\n"
        f"  why: bundle format {FORMAT_VERSION} has a string here; {EDITED}\n{FIX}"
    )


def test_every_problem_is_listed_with_its_key_path() -> None:
    data = valid()
    data["assets"] = [{"name": "code", "kind": "file", "files": [{"path": "x"}], "sha256": 7}]
    del data["project"]["classes"]
    data["publish"]["regoin"] = data["publish"].pop("region")
    data["functions"] = {}
    missing = f"  why: every bundle of format {FORMAT_VERSION} has it; {EDITED}\n{FIX}"
    assert refusal(data) == "\n\n".join(
        [
            "8 problems in the bundle's assets.json",
            f"{WHERE}\n  assets[0].files[0].arcname: missing\n{missing}",
            f"{WHERE}\n  assets[0].files[0].sha256: missing\n{missing}",
            f"{WHERE}\n  assets[0].sha256 = 7\n"
            f"  why: bundle format {FORMAT_VERSION} has a string here; {EDITED}\n{FIX}",
            f"{WHERE}\n  assets[0].s3_uri: missing\n{missing}",
            f"{WHERE}\n  functions = {{}}\n"
            f"  why: bundle format {FORMAT_VERSION} has a list here; {EDITED}\n{FIX}",
            f"{WHERE}\n  project.classes: missing\n{missing}",
            f"{WHERE}\n  publish.regoin: unknown key (did you mean 'region'?)\n"
            f"  why: bundle format {FORMAT_VERSION} has no such key; {EDITED}\n{FIX}",
            f"{WHERE}\n  publish.region: missing\n{missing}",
        ]
    )


def test_an_unknown_asset_kind_is_refused() -> None:
    data = valid()
    data["assets"] = [{"name": "c", "kind": "zip", "files": [], "sha256": "0", "s3_uri": "s3://b"}]
    assert refusal(data) == (
        f'{WHERE}\n  assets[0].kind = "zip"\n'
        f"  why: bundle format {FORMAT_VERSION} has the asset kinds 'file', 'folder', "
        f"'lambda', 'sourcedir'; {EDITED}\n{FIX}"
    )


def test_a_schedule_parameter_takes_a_string_number_or_boolean() -> None:
    data = valid()
    data["publish"]["schedule"] = {
        "name": "daily",
        "cron": "cron(0 6 * * ? *)",
        "timezone": "UTC",
        "role_arn": "arn:aws:iam::111122223333:role/S",
        "parameters": {"Threshold": 0.8, "Skip": True, "Count": 3, "Mode": "x", "Bad": [1]},
        "enabled": True,
    }
    assert refusal(data) == (
        f"{WHERE}\n  publish.schedule.parameters.Bad = [1]\n"
        f"  why: bundle format {FORMAT_VERSION} has a string, true or false, a whole number or a "
        f"number here; {EDITED}\n{FIX}"
    )
    del data["publish"]["schedule"]["parameters"]["Bad"]
    schedule = Manifest.from_json(json.dumps(data), WHERE).publish.schedule
    assert schedule is not None
    assert schedule.parameters == {"Threshold": 0.8, "Skip": True, "Count": 3, "Mode": "x"}


def test_writing_checks_the_manifest_as_reading_does() -> None:
    """A compiler bug (a kind no packer knows) fails the compile, not the publish later."""
    asset = Asset("code", "wheel", (AssetFile("a.py", "a.py", "1"),), "1", "s3://b/1/a.py")
    manifest = dataclasses.replace(hand_manifest("p", "{}"), assets=(asset,))
    with pytest.raises(ManifestError) as refused:
        manifest.to_json()
    assert str(refused.value) == (
        'assets.json (as compiled)\n  assets[0].kind = "wheel"\n'
        f"  why: bundle format {FORMAT_VERSION} has the asset kinds 'file', 'folder', "
        f"'lambda', 'sourcedir'; {EDITED}\n{FIX}"
    )

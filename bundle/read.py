"""Read a bundle folder, with errors that say which file is wrong and how to fix it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FILES = ("pipeline.json", "assets.json")


class BundleError(Exception):
    """A bundle folder that cannot be used; the message reads where/what/why/fix."""


@dataclass(frozen=True)
class Bundle:
    """A compiled bundle as plain data.

    Attributes:
        root: the bundle folder.
        definition: pipeline.json, parsed.
        assets: assets.json's `assets` list (each with name, kind, sha256, s3_uri, files).
        manifest: assets.json as a whole (pipeline name, assets, and any further sections).
    """

    root: Path
    definition: dict[str, Any]
    assets: tuple[dict[str, Any], ...]
    manifest: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.manifest["pipeline"])

    def asset(self, name: str) -> dict[str, Any]:
        for asset in self.assets:
            if asset["name"] == name:
                return asset
        raise KeyError(name)


def read_bundle(root: Path) -> Bundle:
    """Parse pipeline.json and assets.json in `root`.

    Raises:
        BundleError: the folder or a file is missing, or a file is not the JSON a compile writes.
    """
    if not root.is_dir():
        raise BundleError(
            f"{root}\n  no such bundle folder\n  why: a bundle is the folder `python -m compiler` "
            "writes (pipeline.json, assets.json)\n  fix: compile first, e.g. "
            "`python -m compiler project=digits`, and pass its build/<pipeline-name> folder"
        )
    parsed = {}
    for name in FILES:
        path = root / name
        try:
            parsed[name] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BundleError(
                f"{path}\n  missing\n  why: every bundle has {' and '.join(FILES)}\n"
                "  fix: recompile the bundle with `python -m compiler ...`"
            ) from None
        except json.JSONDecodeError as exc:
            raise BundleError(
                f"{path}\n  not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}\n"
                "  why: the file was edited by hand or cut short\n"
                "  fix: recompile the bundle with `python -m compiler ...`"
            ) from None
    definition, manifest = parsed["pipeline.json"], parsed["assets.json"]
    problems = []
    if not isinstance(definition, dict) or not isinstance(definition.get("Steps"), list):
        problems.append("pipeline.json has no Steps list")
    if not isinstance(manifest, dict) or not isinstance(manifest.get("assets"), list):
        problems.append("assets.json has no assets list")
    elif not isinstance(manifest.get("pipeline"), str):
        problems.append("assets.json has no pipeline name")
    if problems:
        raise BundleError(
            f"{root}\n  {'; '.join(problems)}\n  why: these are not files a compile writes\n"
            "  fix: recompile the bundle with `python -m compiler ...`"
        )
    return Bundle(root, definition, tuple(manifest["assets"]), manifest)


def monitor_bundles(bundle: Bundle) -> list[Bundle]:
    """The bundle's monitoring pipelines (builtin monitoring backend), each a bundle of its own.

    Raises:
        BundleError: a listed monitor folder is missing, unreadable, or not the one compiled
            with this bundle (another pipeline name or definition).
    """
    monitors = []
    for entry in bundle.manifest.get("monitors", []):
        folder = bundle.root / str(entry["folder"])
        monitor = read_bundle(folder)
        text = (folder / "pipeline.json").read_bytes()
        if (
            monitor.name != entry["pipeline"]
            or hashlib.sha256(text).hexdigest() != entry["definition_sha256"]
        ):
            raise BundleError(
                f"{folder}\n  is not the monitoring pipeline {entry['pipeline']} compiled with "
                f"{bundle.root}\n  why: assets.json lists its name and definition hash, and "
                "they differ\n  fix: recompile the bundle with `python -m compiler ...`"
            )
        monitors.append(monitor)
    return monitors

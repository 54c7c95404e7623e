"""Read a bundle folder, with errors that say which file is wrong and how to fix it.

The one reader of a bundle: pipeline.json parsed, assets.json as the kernel's typed `Manifest`
(its format version checked), so every runtime tool reads the same facts the same way.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kernel.manifest import Asset, Manifest
from kernel.manifest import BundleError as BundleError  # the readers' error, raised here

FILES = ("pipeline.json", "assets.json")
RECOMPILE = "recompile the bundle with `python -m compiler ...`"


@dataclass(frozen=True)
class Bundle:
    """A compiled bundle.

    Attributes:
        root: the bundle folder.
        definition: pipeline.json, parsed.
        manifest: assets.json.
    """

    root: Path
    definition: dict[str, Any]
    manifest: Manifest

    @property
    def name(self) -> str:
        return self.manifest.pipeline

    @property
    def assets(self) -> tuple[Asset, ...]:
        return self.manifest.assets

    def asset(self, name: str) -> Asset:
        return self.manifest.asset(name)


def read_bundle(root: Path) -> Bundle:
    """Parse pipeline.json and read assets.json in `root`.

    Raises:
        BundleError: the folder or a file is missing, a file is not the JSON a compile writes,
            or assets.json is of another format version.
    """
    if not root.is_dir():
        raise BundleError(
            str(root),
            "no such bundle folder",
            "a bundle is the folder `python -m compiler` writes (pipeline.json, assets.json)",
            "compile first, e.g. `python -m compiler project=digits`, and pass its "
            "build/<pipeline-name> folder",
        )
    texts = {}
    for name in FILES:
        path = root / name
        try:
            texts[name] = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise BundleError(
                str(path), "missing", f"every bundle has {' and '.join(FILES)}", RECOMPILE
            ) from None
    manifest = Manifest.from_json(texts["assets.json"], str(root / "assets.json"))
    path = root / "pipeline.json"
    try:
        definition = json.loads(texts["pipeline.json"])
    except json.JSONDecodeError as exc:
        raise BundleError(
            str(path),
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            "the file was edited by hand or cut short",
            RECOMPILE,
        ) from None
    if not isinstance(definition, dict) or not isinstance(definition.get("Steps"), list):
        raise BundleError(
            str(path), "has no Steps list", "it is not a file a compile writes", RECOMPILE
        )
    return Bundle(root, definition, manifest)


def monitor_bundles(bundle: Bundle) -> list[Bundle]:
    """The bundle's monitoring pipelines (builtin monitoring backend), each a bundle of its own.

    Raises:
        BundleError: a listed monitor folder is missing, unreadable, or not the one compiled
            with this bundle (another pipeline name or definition).
    """
    monitors = []
    for entry in bundle.manifest.monitors:
        folder = bundle.root / entry.folder
        monitor = read_bundle(folder)
        text = (folder / "pipeline.json").read_bytes()
        if (
            monitor.name != entry.pipeline
            or hashlib.sha256(text).hexdigest() != entry.definition_sha256
        ):
            raise BundleError(
                str(folder),
                f"is not the monitoring pipeline {entry.pipeline} compiled with {bundle.root}",
                "assets.json lists its name and definition hash, and they differ",
                RECOMPILE,
            )
        monitors.append(monitor)
    return monitors

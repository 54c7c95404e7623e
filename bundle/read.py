"""Read a bundle folder, with errors that say which file is wrong and how to fix it.

The one reader of a bundle: pipeline.json parsed, assets.json as the kernel's typed `Manifest`
(its format version checked), so every runtime tool reads the same facts the same way. A bare
definition (a pipeline.json our compiler did not write, or DescribePipeline's answer) is read as
a bundle whose manifest holds only its name and place: no assets, no functions, no project facts.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kernel.manifest import Asset, Manifest, Project, Publish
from kernel.manifest import BundleError as BundleError  # the readers' error, raised here

FILES = ("pipeline.json", "assets.json")
RECOMPILE = "recompile the bundle with `python -m compiler ...`"
DEFINITION_KEY = "PipelineDefinition"  # DescribePipeline's and describe-...-for-execution's
DEFAULT_PLACE = ("us-east-1", "111122223333")  # the engine's, for a definition without an ARN
PIPELINE_ARN = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:(?P<region>[^:]+):(?P<account>\d{12}):pipeline/"
)


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
    file: Path | None = None  # a bare definition's file (then `root` is its folder)

    @property
    def name(self) -> str:
        return self.manifest.pipeline

    @property
    def bare(self) -> bool:
        """Whether our compiler did not write it: its assets and functions come from a map."""
        return self.file is not None

    @property
    def definition_file(self) -> Path:
        return self.file or self.root / "pipeline.json"

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


def read_definition(path: Path) -> Bundle:
    """A bundle folder (as read_bundle), or a bare definition file: a pipeline.json, or the
    answer of DescribePipeline / describe-pipeline-definition-for-execution (the definition is
    the JSON string under PipelineDefinition; PipelineName and PipelineArn name and place it).

    Raises:
        BundleError: no such file or folder, not JSON, or no definition with a Steps list.
    """
    if path.is_dir() or (not path.exists() and path.suffix != ".json"):
        return read_bundle(path)  # a folder, or what was meant as one
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _no_definition(
            path, "no such file or folder", "the engine runs a bundle folder or a definition file"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _no_definition(
            path, f"not valid JSON ({exc})", "a pipeline definition is a JSON document"
        ) from None
    described = document if isinstance(document, dict) and DEFINITION_KEY in document else {}
    definition = document
    if described:
        try:
            text = described[DEFINITION_KEY]
            definition = json.loads(text) if isinstance(text, str) else text
        except json.JSONDecodeError as exc:
            raise _no_definition(
                path,
                f"{DEFINITION_KEY} is not a JSON definition ({exc})",
                "DescribePipeline gives the definition as a JSON string",
            ) from None
    if not isinstance(definition, dict) or not isinstance(definition.get("Steps"), list):
        raise _no_definition(
            path,
            "holds no pipeline definition (no Steps list"
            + ("" if described else f", and no {DEFINITION_KEY}")
            + ")",
            "the engine runs a definition's Steps",
        )
    name = str(described.get("PipelineName") or "") or _name_of(path)
    place = PIPELINE_ARN.match(str(described.get("PipelineArn", "")))
    region, account = (place["region"], place["account"]) if place else DEFAULT_PLACE
    return Bundle(path.parent, definition, bare_manifest(name, region, account), path.resolve())


def bare_manifest(name: str, region: str, account: str) -> Manifest:
    """The manifest of a definition our compiler did not write: its name and place only."""
    return Manifest(
        pipeline=name,
        definition_sha256="",
        assets=(),
        functions=(),
        project=Project(name, (), "", (), (), "", None, None, ""),
        publish=Publish(region, account, "", "", {}, None, None),
    )


def _no_definition(path: Path, what: str, why: str) -> BundleError:
    """Why a file is no definition the tools can read (where/what/why/fix)."""
    fix = (
        "pass a bundle folder, a pipeline definition (pipeline.json), or the output of "
        "`aws sagemaker describe-pipeline --pipeline-name NAME`"
    )
    return BundleError(str(path), what, why, fix)


def _name_of(path: Path) -> str:
    """A pipeline name from a file name (`pipeline.json`: its folder's), as SageMaker takes it."""
    stem = path.parent.resolve().name if path.stem == "pipeline" else path.stem
    return re.sub(r"[^A-Za-z0-9]+", "-", stem).strip("-")[:256] or "pipeline"

"""The bundle's manifest (assets.json): typed, frozen, versioned; one writer, one reader.

Everything a runtime tool needs besides the definition is here, so no tool guesses a fact from a
folder name or scrapes it from pipeline.json: the content-addressed assets, the Lambda functions,
what publishing applies (region, account, role, tags, schedule ...), the project's facts, the
monitoring pipelines. The compiler writes it with `Manifest.to_json`, which checks the text by the
rules `Manifest.from_json` reads it with; a bundle of another format version is refused with a
message that says to recompile (the model is AWS CDK's cloud-assembly-schema).
"""

from __future__ import annotations

import dataclasses
import json
import types
from dataclasses import dataclass, field
from functools import cache
from typing import Any, NamedTuple, Union, get_args, get_origin, get_type_hints

from kernel.emit import canonical_json
from kernel.errors import Problem, ProblemError, did_you_mean, one_of

# Raise it whenever a reader of the previous format would misread a new bundle.
FORMAT_VERSION = 1
# The kinds of asset the packer (bundle/assets.py) knows; a new kind is added here and there.
ASSET_KINDS = frozenset({"file", "folder", "sourcedir", "lambda"})
RECOMPILE = "recompile the bundle with this version's compiler (`python -m compiler ...`)"
EDITED = "the file was edited by hand or written by another tool"
MAX_SHOWN = 10  # problems shown of a badly broken file


class BundleError(ProblemError):
    """A bundle that cannot be used: a file missing or not what a compile writes (bundle/read.py),
    or assets.json of another format (ManifestError)."""


class ManifestError(BundleError):
    """assets.json that this version cannot read (or, on write, would not)."""

    topic = " in the bundle's assets.json"
    most_shown = MAX_SHOWN

    def __init__(self, problems: list[Problem]) -> None:
        self._hold(tuple(problems), None, listed=False)


class AssetFile(NamedTuple):
    """One file of an asset: where it is in the repository, where in the upload, its sha256."""

    path: str
    arcname: str
    sha256: str


@dataclass(frozen=True)
class Asset:
    """A local file or set of files the pipeline needs in S3, addressed by its content.

    Attributes:
        name: what it is for (e.g. "preprocess-code").
        kind: one of ASSET_KINDS: "file" (one file uploaded as is), "folder" (a job's code: its
            entry script at the top, the repository modules it imports at their repository
            paths, each file an object under the s3_uri prefix), "sourcedir" (uploaded as
            sourcedir.tar.gz) or "lambda" (a Lambda deployment package: a zip laid out as a
            folder asset).
        files: every file, sorted by arcname.
        sha256: of the one file ("file"), else of the sorted "arcname\\0sha256\\n" lines, so
            an asset changes exactly when a file it ships changes.
        s3_uri: where publishing puts it: <bucket>/<prefix>/assets/<sha256>/<filename>, or the
            prefix <bucket>/<prefix>/assets/<sha256>/ of a folder's objects.
    """

    name: str
    kind: str
    files: tuple[AssetFile, ...]
    sha256: str
    s3_uri: str


@dataclass(frozen=True)
class Function:
    """A Lambda function the pipeline calls; publishing makes it from the asset's zip."""

    asset: str
    function_arn: str
    function_name: str
    handler: str
    runtime: str
    role_arn: str
    timeout_seconds: int
    memory_mb: int
    environment: dict[str, str]


@dataclass(frozen=True)
class Schedule:
    """The EventBridge Scheduler schedule that starts the pipeline."""

    name: str
    cron: str
    timezone: str
    role_arn: str
    parameters: dict[str, str | bool | int | float]
    enabled: bool


@dataclass(frozen=True)
class Publish:
    """Where the pipeline lives and what publishing applies besides the definition.

    Attributes:
        region, account: of the pipeline, its functions and its assets (the engine's ARNs too).
        parallelism: the API's ParallelismConfiguration, or None to leave AWS's as it is.
    """

    region: str
    account: str
    role_arn: str
    description: str
    tags: dict[str, str]
    parallelism: dict[str, int] | None
    schedule: Schedule | None


@dataclass(frozen=True)
class Project:
    """What runtime tools know of the project beyond the definition.

    Attributes:
        name: the project (projects/<name>/ holds its sample data).
        kind: "tabular" or "image".
        numeric, categorical: tabular feature columns.
        endpoint_name, data_capture_uri: None when deployment is off.
    """

    name: str
    classes: tuple[str, ...]
    kind: str
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    model_package_group: str
    endpoint_name: str | None
    data_capture_uri: str | None
    ground_truth_uri: str


@dataclass(frozen=True)
class Monitor:
    """A monitoring pipeline (builtin backend), a bundle of its own in `folder`."""

    folder: str
    kind: str
    pipeline: str
    definition_sha256: str


@dataclass(frozen=True)
class Manifest:
    """assets.json: what runtime tools and publishing need besides pipeline.json."""

    pipeline: str
    definition_sha256: str
    assets: tuple[Asset, ...]
    functions: tuple[Function, ...]
    project: Project
    publish: Publish
    monitors: tuple[Monitor, ...] = ()
    format_version: int = field(default=FORMAT_VERSION)

    def asset(self, name: str) -> Asset:
        """The asset of that name.

        Raises:
            KeyError: there is none.
        """
        for asset in self.assets:
            if asset.name == name:
                return asset
        raise KeyError(name)

    def to_json(self) -> str:
        """Canonical JSON (byte-identical for equal manifests), checked as `from_json` reads it.

        Raises:
            ManifestError: a field is not what the format says (a compiler bug).
        """
        text = canonical_json(_encode(self, Manifest))
        Manifest.from_json(text, "assets.json (as compiled)")
        return text

    @staticmethod
    def from_json(text: str, where: str) -> Manifest:
        """Read assets.json; `where` names the file in messages.

        Raises:
            ManifestError: not JSON, another format version, or a field missing or mistyped.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ManifestError(
                [
                    Problem(
                        where,
                        f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                        "the file was edited by hand or cut short",
                        RECOMPILE,
                    )
                ]
            ) from None
        version_problem = _version_problem(data, where)
        if version_problem is not None:
            raise ManifestError([version_problem])
        problems: list[Problem] = []
        manifest: Manifest | None = _decode(data, Manifest, "", problems, where)
        if problems or manifest is None:
            raise ManifestError(problems)
        problems = [
            Problem(
                where,
                f"assets[{i}].kind = {json.dumps(asset.kind)}",
                f"bundle format {FORMAT_VERSION} has the asset kinds {one_of(ASSET_KINDS)}; "
                + EDITED,
                RECOMPILE,
            )
            for i, asset in enumerate(manifest.assets)
            if asset.kind not in ASSET_KINDS
        ]
        if problems:
            raise ManifestError(problems)
        return manifest


def _version_problem(data: Any, where: str) -> Problem | None:
    """Why this version cannot read `data` at all, or None."""
    if not isinstance(data, dict):
        return Problem(
            where,
            f"a JSON {_json_type(data)}, not an object",
            "assets.json is the object the compiler writes",
            RECOMPILE,
        )
    version = data.get("format_version")
    if "format_version" not in data:
        return Problem(
            where,
            "no format_version",
            "it was compiled by an older version of the compiler, before bundles had a format "
            f"version; this version reads bundle format {FORMAT_VERSION}",
            RECOMPILE,
        )
    if not isinstance(version, int) or isinstance(version, bool):
        return Problem(
            where,
            f"format_version = {json.dumps(version)}",
            "a format version is a whole number",
            RECOMPILE,
        )
    if version == FORMAT_VERSION:
        return None
    age = "a newer" if version > FORMAT_VERSION else "an older"
    return Problem(
        where,
        f"format_version = {version}",
        f"it was compiled by {age} version of the compiler (bundle format {version}); this "
        f"version reads bundle format {FORMAT_VERSION}",
        RECOMPILE,
    )


# ---------------------------------------------------------------- the codec, driven by the types

SCALARS = {str: "a string", bool: "true or false", int: "a whole number", float: "a number"}


@cache
def _fields(record: type) -> dict[str, Any]:
    """A dataclass's or NamedTuple's fields and their types, in order."""
    return get_type_hints(record)


def _is_record(hint: Any) -> bool:
    """A dataclass or a NamedTuple: an object in JSON."""
    return isinstance(hint, type) and (dataclasses.is_dataclass(hint) or hasattr(hint, "_fields"))


def _encode(value: Any, hint: Any) -> Any:
    """Plain JSON data of `value`, which the type `hint` describes (records become objects)."""
    if value is None:
        return None
    if _is_record(hint):
        values = value if isinstance(value, tuple) else [getattr(value, n) for n in _fields(hint)]
        return {n: _encode(v, t) for (n, t), v in zip(_fields(hint).items(), values, strict=True)}
    origin, args = get_origin(hint), get_args(hint)
    if origin is tuple:
        return [_encode(item, args[0]) for item in value]
    if origin is dict:
        return {str(k): _encode(v, args[1]) for k, v in sorted(value.items())}
    if origin in (Union, types.UnionType):
        records = [a for a in args if _is_record(a)]
        return _encode(value, records[0]) if records else value
    return value


def _decode(value: Any, hint: Any, path: str, problems: list[Problem], where: str) -> Any:
    """`value` (parsed JSON) as the type `hint` describes; each mismatch added to `problems`."""

    def wrong(expected: str) -> None:  # the value is not decoded: the caller returns None
        problems.append(
            Problem(
                where,
                f"{path} = {_shown(value)}",
                f"bundle format {FORMAT_VERSION} has {expected} here; {EDITED}",
                RECOMPILE,
            )
        )

    origin, args = get_origin(hint), get_args(hint)
    if _is_record(hint):
        if not isinstance(value, dict):
            wrong("an object")
            return None
        kinds = _fields(hint)
        for key in sorted(set(value) - set(kinds)):
            problems.append(
                Problem(
                    where,
                    f"{_join(path, key)}: unknown key{did_you_mean(key, kinds)}",
                    f"bundle format {FORMAT_VERSION} has no such key; {EDITED}",
                    RECOMPILE,
                )
            )
        known, before = {}, len(problems)
        for name, kind in kinds.items():
            if name not in value:
                problems.append(
                    Problem(
                        where,
                        f"{_join(path, name)}: missing",
                        f"every bundle of format {FORMAT_VERSION} has it; {EDITED}",
                        RECOMPILE,
                    )
                )
            else:
                known[name] = _decode(value[name], kind, _join(path, name), problems, where)
        return hint(**known) if len(problems) == before else None
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        choices = [a for a in args if a is not type(None)]
        if len(choices) == 1:
            return _decode(value, choices[0], path, problems, where)
        if any(_is_scalar(value, a) for a in choices):
            return value
        names = [SCALARS[a] for a in choices]
        wrong(f"{', '.join(names[:-1])} or {names[-1]}")
        return None
    if origin is tuple:
        if not isinstance(value, list):
            wrong("a list")
            return None
        return tuple(
            _decode(item, args[0], f"{path}[{i}]", problems, where) for i, item in enumerate(value)
        )
    if origin is dict:
        if not isinstance(value, dict):
            wrong("an object")
            return None
        return {k: _decode(v, args[1], _join(path, k), problems, where) for k, v in value.items()}
    if not _is_scalar(value, hint):
        wrong(SCALARS[hint])
        return None
    return value


def _is_scalar(value: Any, kind: Any) -> bool:
    """Whether JSON `value` is a `kind` (a whole number is a float too; true is not a number)."""
    if isinstance(value, bool):
        return kind is bool
    if kind is float:
        return isinstance(value, int | float)
    return isinstance(value, kind)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _shown(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_type(value: Any) -> str:
    return {list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )

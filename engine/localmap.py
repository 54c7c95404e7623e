"""The local map: which local file or folder stands for each S3 URI a definition reads, the
parameter values, and each Lambda ARN's handler; what lets the engine run any definition.

A map is a YAML (or JSON) file, given with `--map FILE` or found beside the definition as
`<definition stem>.map.yaml`; `--s3 URI=PATH`, `-p NAME=VALUE` and `--lambda ARN=FILE:FUNCTION`
add to it or override it:

    s3:                                  # S3 URI (object or prefix) -> local path
      s3://bucket/penguins/data.csv: data/penguins.csv
      s3://bucket/code/preprocess.py: code/preprocess.py
      s3://bucket/code/sourcedir.tar.gz: code/train/    # a folder packed as the SDK packs it
    parameters:
      dataset_location: s3://bucket/penguins/data.csv
    lambdas:
      arn:aws:lambda:us-east-1:111122223333:function:deploy: lambdas/deploy.py:handler

Paths in a map file are relative to it; paths in options to the working folder. The map becomes
the same assets and functions a compiled bundle's manifest lists (the manifest is our compiler's
way of writing a map), so one mechanism puts every object in the engine's S3 and runs every
function: a file is one object, a folder one object per file under the prefix (or, mapped to a
`.tar.gz` URI, one archive with the folder's files at its root, as the SDK packs a source dir;
a lone script mapped there is packed alone, as the SDK packs an entry point without a source
dir), a Lambda handler a zip of its file's folder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bundle.read import Bundle
from kernel.check import all_steps
from kernel.errors import Problem, ProblemError, did_you_mean, one_of
from kernel.manifest import Asset, AssetFile, Function
from kernel.names import LAMBDA_ARN, s3_uri_problem

SUFFIX = ".map.yaml"
KEYS = ("s3", "parameters", "lambdas")
SOURCE_DIR = ".tar.gz"  # a folder (or a script) mapped to such a URI is packed as the SDK would
ARCHIVES = (".tar.gz", ".tgz")  # a file that is already one is put as it is
LAMBDA_BUCKET = "local-engine-lambdas"  # where the mapped handlers' zips go in the engine's S3
LAMBDA_RUNTIME = "python3.12"
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Never packed from a mapped folder (written by running or editing, never code); the same as
# the SDK-convention packer's (engine/sdk_conventions.pack_source_dir), so both give one archive.
SKIPPED = ("__pycache__", ".ipynb_checkpoints", ".git")


class MapError(ProblemError):
    """A map (file or option) the engine cannot use; where/what/why/fix, exit 2."""

    topic = " in the local map"


@dataclass(frozen=True)
class Handler:
    """A Lambda function's code: the Python file and the function in it."""

    file: Path
    function: str


@dataclass(frozen=True)
class LocalMap:
    """What stands in locally for a definition's S3 objects, parameters and Lambda functions.

    Attributes:
        s3: S3 URI (an object, or a prefix ending in /) -> an existing local file or folder.
        parameters: parameter name -> value, as `-p NAME=VALUE` gives it.
        lambdas: Lambda function ARN -> its handler.
        sources: where each entry was given (the map file and key, or the option), for messages.
    """

    s3: dict[str, Path] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)
    lambdas: dict[str, Handler] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def overridden(self, other: LocalMap) -> LocalMap:
        """This map with `other`'s entries added, `other` winning where both name a key."""
        return LocalMap(
            {**self.s3, **other.s3},
            {**self.parameters, **other.parameters},
            {**self.lambdas, **other.lambdas},
            {**self.sources, **other.sources},
        )

    def parameter_options(self) -> tuple[str, ...]:
        """The parameter values as `-p` gives them (NAME=VALUE)."""
        return tuple(f"{name}={value}" for name, value in self.parameters.items())


def map_beside(definition: Path) -> Path | None:
    """`<stem>.map.yaml` beside a definition file or bundle folder, when there is one."""
    path = definition.with_name(definition.name.removesuffix(".json") + SUFFIX)
    return path if path.is_file() else None


def read_map(path: Path) -> LocalMap:
    """Read a map file; paths in it are relative to its folder.

    Raises:
        MapError: every problem found: not YAML, not a mapping, an unknown key, a bad URI or
            ARN, a local path that does not exist, a handler that is not FILE:FUNCTION.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MapError(
            str(path),
            "no such map file",
            "--map names the file that maps S3 URIs, parameters and Lambda ARNs to local values",
            "check the path, or drop --map (a map beside the definition is found by itself)",
        ) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise MapError(
            str(path),
            f"not YAML: {_first_line(exc)}",
            "a map is a YAML (or JSON) mapping with the keys s3, parameters, lambdas",
            "fix the syntax at the place named",
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise MapError(
            str(path),
            f"is a {type(data).__name__}, not a mapping",
            f"a map has the keys {one_of(KEYS)}",
            "write e.g. `s3: {s3://bucket/data.csv: data.csv}`",
        )
    problems = [
        Problem(
            str(path),
            f"unknown key {key!r}{did_you_mean(str(key), KEYS)}",
            f"a map has the keys {one_of(KEYS)}",
            "rename or remove it",
        )
        for key in data
        if key not in KEYS
    ]
    entries: dict[str, list[tuple[str, str, Any]]] = {}
    for key in KEYS:
        section = data.get(key) or {}
        if not isinstance(section, dict):
            problems.append(
                Problem(
                    f"{path}, {key}",
                    f"is {section!r}, not a mapping",
                    f"{key} maps each {_ENTRY[key][0]} to {_ENTRY[key][1]}",
                    f"write `{key}:` then one `{_ENTRY[key][2]}` per line, indented",
                )
            )
            section = {}
        entries[key] = [(f"{path}, {key}.{k}", str(k), v) for k, v in section.items()]
    return _parsed(entries, path.parent, "the map file", problems)


def from_options(
    s3: Iterable[str] = (), parameters: Iterable[str] = (), lambdas: Iterable[str] = ()
) -> LocalMap:
    """The map `--s3 URI=PATH`, `-p NAME=VALUE` and `--lambda ARN=FILE:FUNCTION` give; paths
    relative to the working folder.

    Raises:
        MapError: every option that is not KEY=VALUE or whose value is bad (as read_map).
    """
    problems: list[Problem] = []
    entries: dict[str, list[tuple[str, str, Any]]] = {key: [] for key in KEYS}
    options = (
        ("s3", "--s3", s3),
        ("parameters", "-p", parameters),
        ("lambdas", "--lambda", lambdas),
    )
    for key, option, given in options:
        for text in given:  # an ARN holds ':' but never '=': split at the first '='
            name, sep, value = text.partition("=")
            if not sep or not name:
                problems.append(
                    Problem(
                        f"{option} {text}",
                        f"not {_ENTRY[key][3]}",
                        f"{option} maps one {_ENTRY[key][0]} to {_ENTRY[key][1]}",
                        f"write {option} {_ENTRY[key][2].replace(': ', '=')}",
                    )
                )
                continue
            entries[key].append((f"{option} {text}", name, value))
    return _parsed(entries, Path.cwd(), "the working folder", problems)


_ENTRY = {  # what a section maps, to what, an example entry, an option's form
    "s3": ("S3 URI", "a local file or folder", "s3://bucket/key: local/path", "URI=PATH"),
    "parameters": ("parameter name", "its value", "Name: value", "NAME=VALUE"),
    "lambdas": (
        "Lambda function ARN",
        "its handler",
        "ARN: path/file.py:function",
        "ARN=FILE:FUNCTION",
    ),
}


def _parsed(
    entries: dict[str, list[tuple[str, str, Any]]],
    base: Path,
    base_name: str,
    problems: list[Problem],
) -> LocalMap:
    """The map of checked entries (where, key, value), paths relative to `base` (`base_name`).

    Raises:
        MapError: with `problems` and every bad entry.
    """
    found = LocalMap()
    for where, uri, value in entries["s3"]:
        path = base / Path(value).expanduser() if isinstance(value, str) and value else None
        problem = s3_uri_problem(uri) if uri.startswith("s3://") else "not an s3:// URI"
        if problem:
            problems.append(
                Problem(where, f"{uri!r}: {problem}", "a map's s3 keys are S3 URIs", _S3_FIX)
            )
        elif path is None or not path.exists():
            problems.append(
                Problem(
                    where,
                    f"local path {value!r} does not exist"
                    + (f" ({path.resolve()})" if path else ""),
                    "the engine puts that file's or folder's bytes at the URI",
                    f"give an existing file or folder (relative to {base_name})",
                )
            )
        else:
            found.s3[uri] = path.resolve()
            found.sources[uri] = where
    for where, name, value in entries["parameters"]:
        if isinstance(value, dict | list) or value is None:
            problems.append(
                Problem(
                    where,
                    f"value {value!r}",
                    "a parameter's value is a string, number or boolean",
                    "give one value",
                )
            )
        else:
            found.parameters[name] = str(value).lower() if isinstance(value, bool) else str(value)
            found.sources[name] = where
    for where, arn, value in entries["lambdas"]:
        handler, why = _handler(base, value)
        if not re.match(LAMBDA_ARN, arn):
            problems.append(
                Problem(where, f"{arn!r} is not a Lambda function ARN", "keys are ARNs", _LAMBDA)
            )
        elif handler is None:
            problems.append(Problem(where, f"handler {value!r}", why, _LAMBDA))
        else:
            found.lambdas[arn] = handler
            found.sources[arn] = where
    if problems:
        raise MapError.of(problems)
    return found


_S3_FIX = "write s3://bucket/key (an object) or s3://bucket/prefix/ (a folder)"
_LAMBDA = "map it as ARN: path/to/file.py:function (in lambdas:, or --lambda ARN=FILE:FUNCTION)"


def _handler(base: Path, value: Any) -> tuple[Handler | None, str]:
    """The handler FILE:FUNCTION names, or None and why not."""
    text = value if isinstance(value, str) else ""
    file, sep, function = text.rpartition(":")
    if not sep or not file.endswith(".py") or not IDENTIFIER.match(function):
        return None, "a handler is a Python file and a function in it: FILE.py:FUNCTION"
    path = (base / file).resolve()
    if not path.is_file():
        return None, f"no such file {path}"
    return Handler(path, function), ""


def _first_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


# ---------------------------------------------------------------- the map as a manifest's entries


def map_assets(local: LocalMap) -> tuple[Asset, ...]:
    """Each mapped S3 entry and each Lambda handler as the asset a manifest would list: the
    same packer (bundle/assets.py) turns them into objects. Paths are absolute (the packer joins
    them to the repository, which leaves an absolute path as it is)."""
    assets = [_asset(uri, path) for uri, path in sorted(local.s3.items())]
    assets += [_lambda_asset(arn, handler) for arn, handler in sorted(local.lambdas.items())]
    return tuple(assets)


def lambda_functions(local: LocalMap) -> tuple[Function, ...]:
    """The map's Lambda handlers as the functions a manifest lists (the engine runs both kinds
    the same way: the zip at its asset's URI, `module.function` in it). The map -> functions
    translation: each function's asset is in map_assets, its name is its ARN's."""
    return tuple(
        Function(
            asset=_lambda_asset_name(arn),
            function_arn=arn,
            function_name=arn.split(":")[6],
            handler=f"{handler.file.stem}.{handler.function}",
            runtime=LAMBDA_RUNTIME,
            role_arn="",
            timeout_seconds=900,
            memory_mb=128,
            environment={},
        )
        for arn, handler in sorted(local.lambdas.items())
    )


def with_map(bundle: Bundle, local: LocalMap) -> Bundle:
    """The bundle with the map's objects and functions added to its manifest's (a map entry
    for a URI or ARN the bundle already has replaces it).

    Raises:
        MapError: the map sets parameters the definition does not declare.
    """
    declared = sorted(str(p.get("Name")) for p in bundle.definition.get("Parameters", []))
    unknown = [
        Problem(
            local.sources.get(name, name),
            f"no parameter {name!r} in this pipeline{did_you_mean(name, declared)}",
            f"the definition declares {one_of(declared) if declared else 'no parameters'}",
            "use one of those names, or remove the entry",
        )
        for name in local.parameters
        if name not in declared
    ]
    if unknown:
        raise MapError.of(unknown)
    assets = map_assets(local)
    uris, arns = {a.s3_uri for a in assets}, set(local.lambdas)
    manifest = dataclasses.replace(
        bundle.manifest,
        assets=tuple(a for a in bundle.assets if a.s3_uri not in uris) + assets,
        functions=tuple(f for f in bundle.manifest.functions if f.function_arn not in arns)
        + lambda_functions(local),
    )
    return dataclasses.replace(bundle, manifest=manifest)


def _asset(uri: str, path: Path) -> Asset:
    if path.is_file() and uri.endswith(SOURCE_DIR) and not path.name.endswith(ARCHIVES):
        only = AssetFile(str(path), path.name, _sha256(path.read_bytes()))  # an entry point
        return Asset(f"map {uri}", "sourcedir", (only,), _listing_sha256((only,)), uri)
    if path.is_file():
        target = uri + path.name if uri.endswith("/") else uri
        only = AssetFile(str(path), path.name, _sha256(path.read_bytes()))
        return Asset(f"map {uri}", "file", (only,), only.sha256, target)
    files = _folder_files(path)
    if uri.endswith(SOURCE_DIR):
        return Asset(f"map {uri}", "sourcedir", files, _listing_sha256(files), uri)
    prefix = uri.rstrip("/") + "/"
    return Asset(f"map {uri}", "folder", files, _listing_sha256(files), prefix)


def _lambda_asset_name(arn: str) -> str:
    return f"lambda {arn}"


def _lambda_asset(arn: str, handler: Handler) -> Asset:
    files = _folder_files(handler.file.parent)
    digest = _listing_sha256(files)
    uri = f"s3://{LAMBDA_BUCKET}/{digest[:16]}/{arn.split(':')[6]}.zip"
    return Asset(_lambda_asset_name(arn), "lambda", files, digest, uri)


def _folder_files(folder: Path) -> tuple[AssetFile, ...]:
    """Every file under `folder` (caches and VCS folders left out), by its relative path."""
    found = [
        p
        for p in folder.rglob("*")
        if p.is_file() and not any(part in SKIPPED for part in p.relative_to(folder).parts)
    ]
    return tuple(
        sorted(
            (
                AssetFile(str(p), p.relative_to(folder).as_posix(), _sha256(p.read_bytes()))
                for p in found
            ),
            key=lambda f: f.arcname,
        )
    )


def _listing_sha256(files: tuple[AssetFile, ...]) -> str:
    """As the manifest hashes a set of files: its sorted "arcname\\0sha256\\n" lines."""
    return _sha256("".join(f"{f.arcname}\0{f.sha256}\n" for f in files).encode())


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- what a definition reads

# Keys under which a step's S3 URIs are written by the job, not read by it.
WRITTEN_UNDER = frozenset(
    {
        "ProcessingOutputConfig",
        "OutputDataConfig",
        "TransformOutput",
        "CheckpointConfig",
        "DataCaptureConfig",
        "DebugHookConfig",
        "ProfilerConfig",
        "TensorBoardOutputConfig",
        "OutputConfig",
    }
)
BRANCHES = ("IfSteps", "ElseSteps")
# What the job's own code interprets (the engine neither downloads nor uploads it): only the
# source dir among the hyperparameters is the engine's to fetch.
OPAQUE = frozenset({"Environment", "ContainerArguments", "ContainerEntrypoint"})
HYPERPARAMETERS = frozenset({"HyperParameters", "StaticHyperParameters"})
SUBMIT_DIRECTORY = "sagemaker_submit_directory"


@dataclass(frozen=True)
class _Found:
    """An S3 URI in a step: where, whether it is whole (else the literal start of a Join whose
    rest is known only when the step runs), whether the job writes it, and from which parameter."""

    step: str
    path: str
    uri: str
    whole: bool
    written: bool
    parameter: str | None


def unmapped_reads(bundle: Bundle, parameters: dict[str, Any]) -> list[Problem]:
    """Each S3 URI a step reads (a literal, or a parameter's value) that no asset or map entry
    puts in the engine's S3 and no step writes: it would fail the step when it runs."""
    steps = all_steps(bundle.definition["Steps"])
    found = [each for step in steps for each in _step_uris(step, parameters)]
    written = [f.uri if not f.whole else f.uri.rstrip("/") + "/" for f in found if f.written]
    present = [a.s3_uri for a in bundle.assets]
    problems, seen = [], set()
    for each in found:
        if each.written or not each.whole or each.uri in seen:
            continue
        seen.add(each.uri)
        if _covered(each.uri, present) or any((each.uri + "/").startswith(w) for w in written):
            continue
        via = f" (the value of parameter {each.parameter})" if each.parameter else ""
        problems.append(
            Problem(
                f"{bundle.definition_file}, step {each.step}, {each.path}",
                f"reads {each.uri}{via}, which the local map does not cover",
                "the engine's S3 holds only what the map puts there and what the steps write; "
                "the step would find nothing there",
                f"map {each.uri} to a local path with --s3 {each.uri}=PATH or in the map's s3: "
                f"(a file {bundle.definition_file.name.removesuffix('.json')}{SUFFIX} beside "
                "the definition, or --map FILE)",
            )
        )
    return problems


def unmapped_lambdas(bundle: Bundle) -> list[Problem]:
    """Each Lambda step whose function has no code here (neither the bundle's nor mapped)."""
    known = {f.function_arn for f in bundle.manifest.functions}
    return [
        Problem(
            f"{bundle.definition_file}, step {step['Name']}",
            f"FunctionArn {step.get('FunctionArn')}: no handler mapped",
            "the engine runs a Lambda step's function from its code; it never plays a function "
            "it does not have",
            f"map it with --lambda {step.get('FunctionArn')}=FILE.py:FUNCTION or in the map's "
            "lambdas:",
        )
        for step in all_steps(bundle.definition["Steps"])
        if step.get("Type") == "Lambda" and step.get("FunctionArn") not in known
    ]


def _covered(uri: str, present: list[str]) -> bool:
    """Whether an object or prefix the engine puts is at `uri`, under it or holds it."""
    folder = uri.rstrip("/") + "/"
    return any(
        uri == p or (p.endswith("/") and uri.startswith(p)) or p.startswith(folder) for p in present
    )


def _step_uris(step: dict[str, Any], parameters: dict[str, Any]) -> list[_Found]:
    found: list[_Found] = []
    name = str(step.get("Name"))

    def walk(value: Any, path: str, written: bool) -> None:
        if isinstance(value, dict) and set(value) == {"Get"}:
            ref = str(value["Get"])
            if ref.startswith("Parameters."):
                given = parameters.get(ref.removeprefix("Parameters."))
                add(path, given, True, written, ref.removeprefix("Parameters."))
        elif isinstance(value, dict) and set(value) == {"Std:Join"}:
            add(path, *_joined(value["Std:Join"], parameters), written, None)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key in HYPERPARAMETERS and isinstance(item, dict):
                    item = {k: v for k, v in item.items() if k == SUBMIT_DIRECTORY}
                if key not in BRANCHES and key not in OPAQUE:
                    walk(item, f"{path}.{key}" if path else key, written or key in WRITTEN_UNDER)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]", written)
        elif isinstance(value, str) and value.startswith('"s3://'):  # a JSON hyperparameter
            add(path, value.strip('"'), True, written, None)
        else:
            add(path, value, True, written, None)

    def add(path: str, value: Any, whole: bool, written: bool, parameter: str | None) -> None:
        if isinstance(value, str) and value.startswith("s3://"):
            found.append(_Found(name, path, value, whole, written, parameter))

    walk({k: v for k, v in step.items() if k not in ("Name", "Type")}, "", False)
    return found


def _joined(body: Any, parameters: dict[str, Any]) -> tuple[str, bool]:
    """A Std:Join's text as far as it is known before the run, and whether that is all of it."""
    if not isinstance(body, dict) or not isinstance(body.get("Values"), list):
        return "", False
    parts: list[str] = []
    for value in body["Values"]:
        if isinstance(value, dict) and str(value.get("Get", "")).startswith("Parameters."):
            value = parameters.get(str(value["Get"]).removeprefix("Parameters."))
        if isinstance(value, dict | list) or value is None:
            on = str(body.get("On", ""))
            return on.join(parts) + (on if parts else ""), False
        parts.append(str(value).lower() if isinstance(value, bool) else str(value))
    return str(body.get("On", "")).join(parts), True

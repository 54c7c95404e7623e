"""What every component's `build` needs besides its own settings: AWS places, parameters, assets."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kernel.ir import ExecutionVariable, Join, Parameter, ParameterRef

REPO = Path(__file__).resolve().parent.parent
SKIPPED = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
# What the pipeline's Lambda handlers need: the standard library and the runtime's boto3.
LAMBDA_RUNTIME = "python3.12"
LAMBDA_TIMEOUT_S = 300
LAMBDA_MEMORY_MB = 256


@dataclass(frozen=True)
class Asset:
    """A local file or folder the pipeline needs in S3, addressed by its content.

    Attributes:
        name: what it is for (e.g. "preprocess-code").
        kind: "file" (uploaded as is), "sourcedir" (uploaded as sourcedir.tar.gz) or "lambda"
            (a Lambda deployment package: <script>.zip with the script at its root).
        files: (path inside the upload, sha256) of every file, sorted; paths mirror the repo.
        sha256: of the file, or of the sorted "path\\0sha256\\n" lines of a source dir.
        s3_uri: where publishing puts it: <bucket>/<prefix>/assets/<sha256>/<filename>.
    """

    name: str
    kind: str
    files: tuple[tuple[str, str], ...]
    sha256: str
    s3_uri: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "sha256": self.sha256,
            "s3_uri": self.s3_uri,
            "files": [{"path": p, "sha256": h} for p, h in self.files],
        }


@dataclass(frozen=True)
class Place:
    """Where one project's pipeline lives in AWS."""

    region: str
    role_arn: str
    bucket: str
    prefix: str
    project: str


@dataclass
class BuildContext:
    """Hands out parameters from the assembly's table and collects the assets steps need."""

    place: Place
    declared: Mapping[str, Parameter]
    used: dict[str, Parameter] = field(default_factory=dict)
    assets: dict[str, Asset] = field(default_factory=dict)
    functions: dict[str, dict[str, Any]] = field(default_factory=dict)  # by function ARN
    repo: Path = REPO

    @property
    def role(self) -> str:
        return self.place.role_arn

    @property
    def project_prefix(self) -> str:
        """Key prefix of this project's objects in the bucket."""
        return f"{self.place.prefix}/{self.place.project}"

    def s3(self, *parts: str) -> str:
        return "/".join([f"s3://{self.place.bucket}", *parts])

    def run_output(self, step: str, output: str) -> Join:
        """A per-execution S3 location, so runs never overwrite each other's outputs."""
        return Join(
            "/",
            (self.s3(self.project_prefix), ExecutionVariable("PipelineExecutionId"), step, output),
        )

    def parameter(self, name: str) -> ParameterRef:
        """A reference to a pipeline parameter of the table; the definition lists those used.

        Raises:
            KeyError: the table does not declare it (a compiler bug, not a user error).
        """
        if name not in self.declared:
            raise KeyError(f"parameter {name} is not declared in the parameter table")
        self.used[name] = self.declared[name]
        return ParameterRef(name)

    def parameters(self) -> tuple[Parameter, ...]:
        return tuple(self.used[name] for name in sorted(self.used))

    def file_asset(self, name: str, path: str) -> Asset:
        """A single script uploaded as is (Processing code)."""
        digest = _sha256((self.repo / path).read_bytes())
        uri = self.s3(self.place.prefix, "assets", digest, Path(path).name)
        return self._add(Asset(name, "file", ((path, digest),), digest, uri))

    def lambda_asset(self, name: str, path: str) -> Asset:
        """A single-file Lambda handler, uploaded as a zip that publishing deploys."""
        digest = _sha256((self.repo / path).read_bytes())
        uri = self.s3(self.place.prefix, "assets", digest, f"{Path(path).stem}.zip")
        return self._add(Asset(name, "lambda", ((path, digest),), digest, uri))

    def lambda_function(self, name: str, path: str, function_arn: str, role_arn: str) -> Asset:
        """A Lambda function the pipeline calls, made from a single-file handler at publish.

        Its `lambda_handler` is the entry point; publishing creates or updates the function
        from the asset's zip with this role (assets.json `functions`).
        """
        asset = self.lambda_asset(name, path)
        self.functions[function_arn] = {
            "asset": name,
            "function_arn": function_arn,
            "function_name": function_arn.split(":")[6],
            "handler": f"{Path(path).stem}.lambda_handler",
            "runtime": LAMBDA_RUNTIME,
            "role_arn": role_arn,
            "timeout_seconds": LAMBDA_TIMEOUT_S,
            "memory_mb": LAMBDA_MEMORY_MB,
            "environment": {},
        }
        return asset

    def sourcedir_asset(self, name: str, paths: tuple[str, ...]) -> Asset:
        """Files and folders packed into one sourcedir.tar.gz that mirrors the repository.

        Raises:
            FileNotFoundError: a path the repository does not have (a table names a lost file).
        """
        missing = [path for path in paths if not (self.repo / path).exists()]
        if missing:
            raise FileNotFoundError(f"no {', '.join(missing)} in {self.repo}")
        files = sorted(
            (p.relative_to(self.repo).as_posix(), _sha256(p.read_bytes()))
            for path in paths
            for p in _files(self.repo / path)
            if p.is_file()
            and not SKIPPED & set(p.relative_to(self.repo).parts)
            and p.suffix != ".pyc"
        )
        manifest = "".join(f"{path}\0{digest}\n" for path, digest in files)
        digest = _sha256(manifest.encode())
        uri = self.s3(self.place.prefix, "assets", digest, "sourcedir.tar.gz")
        return self._add(Asset(name, "sourcedir", tuple(files), digest, uri))

    def _add(self, asset: Asset) -> Asset:
        self.assets[asset.name] = asset
        return asset


def _files(path: Path) -> list[Path]:
    """A file itself, or every file under a folder."""
    return [path] if path.is_file() else list(path.rglob("*"))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()

"""What every component's `build` needs besides its own settings: AWS places, parameters, assets."""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kernel.ir import ExecutionVariable, Join, Parameter, ParameterRef
from kernel.manifest import Asset as Asset  # kernel.context.Asset stays importable
from kernel.manifest import AssetFile, Function

REPO = Path(__file__).resolve().parent.parent
SKIPPED = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
# What the pipeline's Lambda handlers need: the standard library and the runtime's boto3.
LAMBDA_RUNTIME = "python3.12"
LAMBDA_TIMEOUT_S = 300
LAMBDA_MEMORY_MB = 256


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
    functions: dict[str, Function] = field(default_factory=dict)  # by function ARN
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
        """One file uploaded as is (a script that imports nothing from the repository)."""
        digest = _sha256((self.repo / path).read_bytes())
        uri = self.s3(self.place.prefix, "assets", digest, Path(path).name)
        files = (AssetFile(path, Path(path).name, digest),)
        return self._add(Asset(name, "file", files, digest, uri))

    def code_asset(self, name: str, entry: str) -> Asset:
        """A job's code: the entry script alone as a file, or, when it imports repository
        modules, a folder with the entry at its top and those modules at their paths."""
        files = self._job_files(entry)
        if len(files) == 1:
            return self.file_asset(name, entry)
        digest = _manifest_sha256(files)
        uri = self.s3(self.place.prefix, "assets", digest) + "/"
        return self._add(Asset(name, "folder", files, digest, uri))

    def lambda_asset(self, name: str, path: str) -> Asset:
        """A Lambda handler and the repository modules it imports, zipped as a folder asset."""
        files = self._job_files(path)
        digest = _manifest_sha256(files)
        uri = self.s3(self.place.prefix, "assets", digest, f"{Path(path).stem}.zip")
        return self._add(Asset(name, "lambda", files, digest, uri))

    def lambda_function(self, name: str, path: str, function_arn: str, role_arn: str) -> Asset:
        """A Lambda function the pipeline calls, made from a handler script at publish.

        Its `lambda_handler` is the entry point; publishing creates or updates the function
        from the asset's zip with this role (assets.json `functions`).
        """
        asset = self.lambda_asset(name, path)
        self.functions[function_arn] = Function(
            asset=name,
            function_arn=function_arn,
            function_name=function_arn.split(":")[6],
            handler=f"{Path(path).stem}.lambda_handler",
            runtime=LAMBDA_RUNTIME,
            role_arn=role_arn,
            timeout_seconds=LAMBDA_TIMEOUT_S,
            memory_mb=LAMBDA_MEMORY_MB,
            environment={},
        )
        return asset

    def sourcedir_asset(self, name: str, paths: tuple[str, ...]) -> Asset:
        """Files and folders packed into one sourcedir.tar.gz that mirrors the repository.

        Raises:
            FileNotFoundError: a path the repository does not have (a table names a lost file).
        """
        missing = [path for path in paths if not (self.repo / path).exists()]
        if missing:
            raise FileNotFoundError(f"no {', '.join(missing)} in {self.repo}")
        found = (
            p.relative_to(self.repo).as_posix()
            for path in paths
            for p in _files(self.repo / path)
            if p.is_file()
            and not SKIPPED & set(p.relative_to(self.repo).parts)
            and p.suffix != ".pyc"
        )
        files = _sorted(AssetFile(p, p, _sha256((self.repo / p).read_bytes())) for p in found)
        digest = _manifest_sha256(files)
        uri = self.s3(self.place.prefix, "assets", digest, "sourcedir.tar.gz")
        return self._add(Asset(name, "sourcedir", files, digest, uri))

    def _job_files(self, entry: str) -> tuple[AssetFile, ...]:
        """The entry script (at the top) and every repository module it imports, transitively."""
        found = {entry: Path(entry).name}
        pending = [entry]
        while pending:
            for module in repo_imports(self.repo, pending.pop()):
                if module not in found:
                    found[module] = module
                    pending.append(module)
        return _sorted(
            AssetFile(p, name, _sha256((self.repo / p).read_bytes())) for p, name in found.items()
        )

    def _add(self, asset: Asset) -> Asset:
        self.assets[asset.name] = asset
        return asset


def repo_imports(repo: Path, path: str) -> list[str]:
    """Repository paths of the modules that script `path` imports (`import a.b`, `from a.b
    import c`), with their packages' __init__ files, so the code runs from its folder alone."""
    tree = ast.parse((repo / path).read_text(encoding="utf-8"), path)
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    found = set()
    for name in names:
        parts = name.split(".")
        module = "/".join(parts) + ".py"
        if (repo / module).is_file():
            packages = ("/".join(parts[:i]) + "/__init__.py" for i in range(1, len(parts)))
            found |= {module, *(p for p in packages if (repo / p).is_file())}
    return sorted(found)


def _sorted(files: Iterable[AssetFile]) -> tuple[AssetFile, ...]:
    return tuple(sorted(files, key=lambda f: f.arcname))


def _manifest_sha256(files: tuple[AssetFile, ...]) -> str:
    return _sha256("".join(f"{f.arcname}\0{f.sha256}\n" for f in files).encode())


def _files(path: Path) -> list[Path]:
    """A file itself, or every file under a folder."""
    return [path] if path.is_file() else list(path.rglob("*"))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()

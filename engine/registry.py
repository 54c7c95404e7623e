"""The local model registry: SageMaker model package groups and versions in one SQLite file.

`<root>/registry.sqlite` holds what RegisterModel steps register: per group, versions 1, 2, ...
with their approval status, model data, image, metrics, drift-check baselines and inference
specification, under ARNs of AWS's form
`arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>`.

Every write is one `BEGIN IMMEDIATE` transaction (the database's write lock is taken before the
next version number is read, so concurrent registrations get distinct versions), and the file
is in WAL mode, so a writer killed half-way leaves the last committed state behind.

`python -m engine.registry [--root DIR] list [GROUP] | approve ARN | reject ARN`.
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import sys
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bundle.read import DEFAULT_PLACE
from kernel.errors import ProblemError

STATUSES = ("Approved", "PendingManualApproval", "Rejected")
DEFAULT_REGION, DEFAULT_ACCOUNT = DEFAULT_PLACE  # the engine's place where nothing names one
DEFAULT_ROOT = Path("build/engine")
ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"model-package/(?P<group>[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62})/(?P<version>[1-9]\d*)$"
)
GROUP_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
# Seconds a writer waits for another writer's transaction before giving up.
LOCK_TIMEOUT = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS model_package_groups (
    name TEXT PRIMARY KEY,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS model_packages (
    arn TEXT PRIMARY KEY,
    group_name TEXT NOT NULL REFERENCES model_package_groups(name),
    version INTEGER NOT NULL CHECK (version >= 1),
    status TEXT NOT NULL CHECK (status IN ('Approved', 'PendingManualApproval', 'Rejected')),
    model_data_url TEXT NOT NULL,
    image TEXT NOT NULL,
    metrics TEXT NOT NULL,
    drift_check_baselines TEXT NOT NULL,
    inference_specification TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    created TEXT NOT NULL,
    modified TEXT NOT NULL,
    UNIQUE (group_name, version)
);
"""
_COLUMNS = (
    "arn, group_name, version, status, model_data_url, image, metrics, drift_check_baselines,"
    " inference_specification, execution_id, created, modified"
)


@dataclass(frozen=True)
class Package:
    """One model package version, shaped after DescribeModelPackage.

    `metrics` and `drift_check_baselines` are the RegisterModel arguments ModelMetrics and
    DriftCheckBaselines, e.g. {"ModelDataQuality": {"Statistics": {"S3Uri": ...}, ...}}.
    """

    arn: str
    group: str
    version: int
    status: str
    model_data_url: str
    image: str
    metrics: dict[str, Any]
    drift_check_baselines: dict[str, Any]
    inference_specification: dict[str, Any]
    execution_id: str
    created: str
    modified: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _package(row: sqlite3.Row) -> Package:
    return Package(
        arn=row["arn"],
        group=row["group_name"],
        version=row["version"],
        status=row["status"],
        model_data_url=row["model_data_url"],
        image=row["image"],
        metrics=json.loads(row["metrics"]),
        drift_check_baselines=json.loads(row["drift_check_baselines"]),
        inference_specification=json.loads(row["inference_specification"]),
        execution_id=row["execution_id"],
        created=row["created"],
        modified=row["modified"],
    )


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise ValueError(f"approval status {status!r} is not one of {', '.join(STATUSES)}")


class Registry:
    """The model registry in `path` (created on first use).

    Args:
        path: the SQLite file, `<engine root>/registry.sqlite`.
        region, account: what new ARNs carry (the definition's role ARN gives the account).
    """

    def __init__(
        self, path: Path, *, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT
    ) -> None:
        self.path = path
        self.region = region
        self.account = account
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # isolation_level=None: no implicit transactions; writes say BEGIN IMMEDIATE themselves.
        with closing(
            sqlite3.connect(self.path, timeout=LOCK_TIMEOUT, isolation_level=None)
        ) as connection:
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA foreign_keys=ON")
            yield connection

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed at the end of the block, rolled back on any error."""
        with self._connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def _next_version(self, connection: sqlite3.Connection, group: str) -> int:
        row = connection.execute(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM model_packages WHERE group_name = ?",
            (group,),
        ).fetchone()
        return int(row[0])

    def register(
        self,
        group: str,
        *,
        model_data_url: str,
        image: str,
        status: str,
        metrics: dict[str, Any],
        drift_check_baselines: dict[str, Any],
        inference_specification: dict[str, Any],
        execution_id: str,
    ) -> str:
        """Add the next version of `group` (creating the group) and return its ARN.

        Raises:
            ValueError: a group name SageMaker would refuse, or an unknown approval status.
        """
        if not GROUP_RE.match(group):
            raise ValueError(
                f"model package group {group!r}: 1-63 letters, digits and hyphens, starting and "
                f"ending with a letter or digit"
            )
        _check_status(status)
        documents = [
            json.dumps(part, sort_keys=True)
            for part in (metrics, drift_check_baselines, inference_specification)
        ]
        now = _now()
        with self._write() as connection:
            connection.execute(
                "INSERT OR IGNORE INTO model_package_groups (name, created) VALUES (?, ?)",
                (group, now),
            )
            version = self._next_version(connection, group)
            arn = f"arn:aws:sagemaker:{self.region}:{self.account}:model-package/{group}/{version}"
            connection.execute(
                f"INSERT INTO model_packages ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    arn,
                    group,
                    version,
                    status,
                    model_data_url,
                    image,
                    *documents,
                    execution_id,
                    now,
                    now,
                ),
            )
        return arn

    def packages(self, group: str | None = None) -> list[Package]:
        """Every package (of one group), by group then version."""
        where, args = ("WHERE group_name = ?", (group,)) if group is not None else ("", ())
        with self._connect() as connection:
            rows = connection.execute(
                f"SELECT {_COLUMNS} FROM model_packages {where} ORDER BY group_name, version",
                args,
            ).fetchall()
        return [_package(row) for row in rows]

    def groups(self) -> list[str]:
        with self._connect() as connection:
            rows = connection.execute("SELECT name FROM model_package_groups ORDER BY name")
            return [str(row[0]) for row in rows]

    def package(self, arn: str) -> Package | None:
        with self._connect() as connection:
            row = connection.execute(
                f"SELECT {_COLUMNS} FROM model_packages WHERE arn = ?", (arn,)
            ).fetchone()
        return None if row is None else _package(row)

    def latest_approved(self, group: str) -> Package | None:
        """The highest Approved version of `group`, as the deploy handler and baselines pick it."""
        with self._connect() as connection:
            row = connection.execute(
                f"SELECT {_COLUMNS} FROM model_packages WHERE group_name = ? AND status = ?"
                " ORDER BY version DESC LIMIT 1",
                (group, "Approved"),
            ).fetchone()
        return None if row is None else _package(row)

    def set_status(self, arn: str, status: str) -> None:
        """Approve or reject a package (UpdateModelPackage's ModelApprovalStatus).

        Raises:
            KeyError: no package has this ARN.
            ValueError: an unknown approval status.
        """
        _check_status(status)
        with self._write() as connection:
            changed = connection.execute(
                "UPDATE model_packages SET status = ?, modified = ? WHERE arn = ?",
                (status, _now(), arn),
            ).rowcount
            if changed != 1:
                raise KeyError(arn)


# --------------------------------------------------------------------------- command line


def checked_arn(registry: Registry, arn: str) -> str:
    """The ARN, once it is well-formed and names a registered package.

    Raises:
        ProblemError: where/what/why/fix for a malformed or unknown ARN.
    """
    match = ARN_RE.match(arn)
    if match is None:
        raise ProblemError(
            "argument ARN",
            f"{arn!r} is not a model package ARN",
            "expected arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>",
            "copy the ARN from `python -m engine.registry list`",
        )
    if registry.package(arn) is None:
        group = match["group"]
        versions = [str(p.version) for p in registry.packages(group)]
        known = (
            f"group {group!r} has versions {', '.join(versions)}"
            if versions
            else (f"group {group!r} has no versions")
        )
        raise ProblemError(
            "argument ARN",
            f"no model package {arn} in {registry.path}",
            f"{known} in this registry (region and account are part of the ARN)",
            "copy the ARN from `python -m engine.registry list`, or pass the right --root",
        )
    return arn


def print_packages(registry: Registry, group: str | None) -> None:
    from rich.table import Table

    from kernel.console import output_console

    table = Table(title=f"model packages in {registry.path}", title_justify="left")
    for column in ("ARN", "status", "created", "model data"):
        table.add_column(column, no_wrap=column != "model data", overflow="fold")
    for package in registry.packages(group):
        created = package.created[:19].replace("T", " ")
        table.add_row(package.arn, package.status, created, package.model_data_url)
    output_console().print(table)  # a pipe gets whole ARNs too


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m engine.registry", description="List, approve or reject model packages."
    )
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="the engine's root folder")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="the packages (of one group)")
    listing.add_argument("group", nargs="?")
    for name in ("approve", "reject"):
        commands.add_parser(name, help=f"{name} a package").add_argument("arn")
    args = parser.parse_args(argv)
    path = args.root / "registry.sqlite"
    try:
        if not path.is_file():
            raise ProblemError(
                f"--root {args.root}",
                f"there is no model registry at {path}",
                "RegisterModel steps create it when a local run registers a model",
                "pass the engine root of your runs (default build/engine), or run a pipeline first",
            )
        registry = Registry(path)
        if args.command == "list":
            print_packages(registry, args.group)
            return 0
        arn = checked_arn(registry, args.arn)
        status = "Approved" if args.command == "approve" else "Rejected"
        registry.set_status(arn, status)
        print(f"{arn}: {status}")
        return 0
    except ProblemError as problem:
        print(problem.render(), file=sys.stderr)
        return problem.status


if __name__ == "__main__":
    sys.exit(main())

"""The JSON records the serving side keeps under the engine root: models/, endpoints/, schedules/.

Like SageMaker's resources, they outlive an execution: a Model step's record is read by the
Transform that names the model, an endpoint's by `python -m engine.endpoint serve`, a schedule's
by `python -m engine.schedule run`. Each is replaced whole, never half-written.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kernel.errors import ProblemError


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_json(path: Path, document: dict[str, Any]) -> None:
    """Write a record whole or not at all (written beside it, then renamed over it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    staged.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    staged.replace(path)


@contextlib.contextmanager
def locked(root: Path, name: str) -> Iterator[None]:
    """Hold an exclusive lock on `<root>/.locks/<name>`: engines started together on one root
    take turns at what they share (sample data, the S3 folder's data, published pipelines)."""
    folder = root / ".locks"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / name).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def update_json(path: Path, **changes: Any) -> None:
    """Change some fields of a record (and its LastModifiedTime)."""
    write_json(path, {**json.loads(path.read_text()), **changes, "LastModifiedTime": now()})


def read_named(folder: Path, name: str, kind: str, made_by: str, fix: str) -> dict[str, Any]:
    """`<folder>/<name>.json`, a record a local step wrote (endpoint, schedule).

    Raises:
        ProblemError: there is none; the message lists the names there are.
    """
    path = folder / f"{name}.json"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob("*.json"))
        raise ProblemError(
            f"{kind} {name!r}",
            f"no {path}",
            f"only {kind}s {made_by} can be used: "
            + (f"known here: {', '.join(known)}" if known else f"none under {folder.parent}"),
            fix,
        )
    record: dict[str, Any] = json.loads(path.read_text())
    return record

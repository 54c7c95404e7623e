"""The raw data of our compiler's bundles: placed at the InputDataUri parameter's value.

From `--data DIR`, or else the project's sample data (`projects/<name>/sample_data.py OUTDIR`).
A bare definition's data come from its local map instead (engine/localmap.py).
"""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bundle.assets import REPO
from bundle.read import Bundle
from engine.container_fs import ContainerPathsError, namespace_kind
from engine.records import locked
from engine.s3 import S3, S3UriError

DATA_PARAMETER = "InputDataUri"


class DataError(Exception):
    """Data that cannot be placed; where/what/why/fix. Nothing was written."""


@dataclass(frozen=True)
class Data:
    """Where the raw data go (the InputDataUri parameter's folder) and where they come from."""

    target: Path
    given: Path | None  # --data
    sample: Path  # the project's sample-data script, used without --data
    project: str


def plan_data(bundle: Bundle, parameters: dict[str, Any], s3: S3, data: Path | None) -> Data | None:
    """What place_data will do, checked before anything is written.

    Raises:
        DataError: an InputDataUri the S3 folder cannot hold, a --data that is not a
            folder, no --data and no sample data (a bundle of ours; a bare definition's data
            are mapped).
    """
    if DATA_PARAMETER not in parameters or (bundle.bare and data is None):
        return None  # a bare definition's data come from its map
    try:
        target = s3.path(str(parameters[DATA_PARAMETER]))
    except S3UriError as exc:
        raise DataError(
            f"parameter {DATA_PARAMETER}\n  {exc}\n  why: the raw data are placed there, inside "
            "the engine's S3 folder\n  fix: give an s3://bucket/prefix/ URI (-p "
            f"{DATA_PARAMETER}=...)"
        ) from None
    if data is not None and not data.is_dir():
        raise DataError(
            f"--data {data}\n  not a folder\n  why: the files in it are placed at "
            f"{DATA_PARAMETER} ({parameters[DATA_PARAMETER]})\n"
            "  fix: pass the folder that holds the raw data files"
        )
    project = bundle.manifest.project.name
    sample = REPO / "projects" / project / "sample_data.py"
    if data is None and not sample.is_file():
        raise DataError(
            f"{DATA_PARAMETER} = {parameters[DATA_PARAMETER]}\n  no data: no --data folder, and "
            f"project {project!r} has no sample data ({sample} does not exist)\n  why: the first "
            "step reads its raw data from there\n  fix: pass --data DIR with the raw data files"
        )
    return Data(target, data, sample, project)


def place_data(data: Data, root: Path) -> None:
    """The raw data at the InputDataUri parameter's value: --data's files, or sample data.

    Engines on one root take turns; data already in place, byte for byte, are left alone (a
    concurrent run may be reading them), others are replaced by a renamed, complete folder.
    The objects are hard links to the files (no bytes written, as an upload to S3 is not part
    of an execution) where jobs see their inputs through read-only mounts; else, and across
    file systems, copies: a job whose paths are rewritten is given hard links to its inputs
    made read-only, which must not change the user's own files.
    """
    source = data.given or _sample_data(data.sample, root / "sample_data" / data.project)
    files = sorted(p for p in source.iterdir() if p.is_file())
    link = _read_only_inputs()
    with locked(root, "data"):
        if _same_files(files, data.target):
            return
        data.target.parent.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkdtemp(dir=data.target.parent, prefix=f".{data.target.name}."))
        for path in files:
            _place(path, staged / path.name, link)
        if data.target.exists():
            old = data.target.rename(staged.with_name(staged.name + ".old"))
            shutil.rmtree(old)
        staged.rename(data.target)


def _read_only_inputs() -> bool:
    """Whether jobs see their inputs through read-only mounts (engine/container_fs.py)."""
    try:
        return namespace_kind() is not None
    except ContainerPathsError:  # the jobs say it when they start
        return False


def _place(source: Path, target: Path, link: bool) -> None:
    if link:
        try:
            os.link(source, target)
            return
        except OSError:  # another file system, or one without hard links
            pass
    shutil.copy2(source, target)


def _same_files(files: list[Path], folder: Path) -> bool:
    """Whether `folder` holds exactly these files, byte for byte (or the files themselves)."""
    return (
        folder.is_dir()
        and sorted(p.name for p in folder.iterdir()) == [p.name for p in files]
        and all(
            p.samefile(folder / p.name) or filecmp.cmp(p, folder / p.name, shallow=False)
            for p in files
        )
    )


def _sample_data(script: Path, folder: Path) -> Path:
    """The project's sample data (`python projects/<name>/sample_data.py OUTDIR`), written once
    per engine root (they are seeded: always equal), by one engine at a time."""
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with locked(folder.parent.parent, f"sample-data-{folder.name}"):
        if folder.is_dir():  # another engine wrote them while this one waited
            return folder
        partial = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
        done = subprocess.run(
            [sys.executable, str(script), str(partial)], cwd=REPO, capture_output=True, text=True
        )
        if done.returncode != 0:
            shutil.rmtree(partial)
            raise DataError(
                f"{script}\n  writing the sample data failed (exit {done.returncode}):\n"
                f"  {done.stderr.strip()[-800:]}\n  why: it writes the raw data the run starts "
                "from\n  fix: install the project's extras (pip install -e '.[scripts]') or pass "
                "--data DIR"
            )
        partial.rename(folder)
    return folder

"""Archives: an assets.json entry as the exact bytes to upload, and a trained model.tar.gz.

Archives are deterministic (sorted members, zero timestamps and owners), so the same sources
always give the same tarball, and every file is checked against the hash the bundle recorded:
a bundle compiled before a script changed cannot be packaged with the new script by mistake.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import zipfile
from pathlib import Path
from typing import Any

from compiler.context import REPO


class StaleBundleError(Exception):
    """A file changed since the bundle was compiled; recompile before packaging."""


def package_asset(asset: dict[str, Any], dest: Path, repo: Path = REPO) -> Path:
    """Write one asset (a file, or a source dir as sourcedir.tar.gz) into `dest`.

    Raises:
        StaleBundleError: a file's content no longer matches the bundle's sha256.
    """
    dest.mkdir(parents=True, exist_ok=True)
    contents = {}
    for entry in asset["files"]:
        data = (repo / entry["path"]).read_bytes()
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise StaleBundleError(
                f"{entry['path']} changed since the bundle was compiled; recompile it"
            )
        contents[entry["path"]] = data
    name: str = asset["s3_uri"].rsplit("/", 1)[-1]
    if asset["kind"] == "file":
        (dest / name).write_bytes(next(iter(contents.values())))
        return dest / name
    if asset["kind"] == "lambda":
        (dest / name).write_bytes(_zip({Path(p).name: data for p, data in contents.items()}))
        return dest / name
    (dest / name).write_bytes(_tar_gz(contents))
    return dest / name


def pack_model_dir(model_dir: Path, tarball: Path) -> Path:
    """model.tar.gz as a SageMaker training job uploads it: the model dir's contents at the root."""
    tarball.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball, "w:gz") as tar:
        for path in sorted(model_dir.iterdir()):
            tar.add(path, arcname=path.name)
    return tarball


def _zip(contents: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(contents):
            info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, contents[path], zipfile.ZIP_DEFLATED)
    return raw.getvalue()


def _tar_gz(contents: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(contents):
            info = tarfile.TarInfo(path)
            info.size = len(contents[path])
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(contents[path]))
    return gzip.compress(raw.getvalue(), mtime=0)

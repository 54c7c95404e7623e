"""assets.json entries as the exact bytes and S3 keys to upload, and trained model archives.

The one place that turns a bundle's assets into objects: the local engine puts them in its
folder-backed S3, publishing puts them in a real bucket, with the same bytes under the same keys.
Archives are deterministic (sorted members, zero timestamps and owners), so the same sources
always give the same bytes, and every file is checked against the hash the bundle recorded: a
bundle compiled before a script changed cannot be uploaded with the new script by mistake.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from kernel.errors import ProblemError
from kernel.manifest import Asset

REPO = Path(__file__).resolve().parent.parent  # asset paths are relative to the source checkout


class StaleBundleError(ProblemError):
    """A file changed since the bundle was compiled; recompile before packaging."""


def _stale(asset: Asset, path: str, what: str) -> StaleBundleError:
    return StaleBundleError(
        f"{path} (asset {asset.name} of the bundle)",
        what,
        "the bundle records every file's sha256: running or publishing it now would use code "
        "it does not describe",
        "recompile the bundle (`python -m compiler ...`) and use the new one",
    )


@dataclass(frozen=True)
class AssetObject:
    """One asset as an S3 object: where it goes and what it holds."""

    name: str
    bucket: str
    key: str
    body: bytes

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def split_s3_uri(uri: str) -> tuple[str, str]:
    """('bucket', 'key/of/object') of an s3:// URI."""
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ValueError(f"{uri!r} is not an s3://bucket/key URI")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key


def asset_contents(asset: Asset, repo: Path = REPO) -> dict[str, bytes]:
    """Every file of one assets.json entry, by its path in the upload, checked against its hash.

    Raises:
        StaleBundleError: a file is missing or its content no longer matches the bundle's sha256.
    """
    contents: dict[str, bytes] = {}
    for entry in asset.files:
        try:
            data = (repo / entry.path).read_bytes()
        except FileNotFoundError:
            raise _stale(asset, entry.path, "is gone since the bundle was compiled") from None
        if hashlib.sha256(data).hexdigest() != entry.sha256:
            raise _stale(asset, entry.path, "changed since the bundle was compiled")
        contents[entry.arcname] = data
    return contents


def asset_bytes(asset: Asset, repo: Path = REPO) -> bytes:
    """The one object to upload for a file, a source dir tarball or a Lambda zip.

    Raises:
        ValueError: a folder asset, which is several objects (see asset_objects).
        StaleBundleError: as asset_contents.
    """
    contents = asset_contents(asset, repo)
    if asset.kind == "file":
        (only,) = contents.values()
        return only
    if asset.kind == "lambda":
        return _zip(contents)
    if asset.kind == "sourcedir":
        return _tar_gz(contents)
    raise ValueError(f"asset {asset.name} is a {asset.kind}, not one object")


def asset_objects(assets: Iterable[Asset], repo: Path = REPO) -> list[AssetObject]:
    """Every asset as the objects publishing and the local engine put at its s3_uri: one for a
    file, a source dir or a Lambda zip; one per file under the prefix for a folder.

    Raises:
        StaleBundleError: as asset_contents.
    """
    objects = []
    for asset in assets:
        bucket, key = split_s3_uri(asset.s3_uri)
        if asset.kind != "folder":
            objects.append(AssetObject(asset.name, bucket, key, asset_bytes(asset, repo)))
            continue
        for arcname, body in sorted(asset_contents(asset, repo).items()):
            objects.append(AssetObject(f"{asset.name}/{arcname}", bucket, key + arcname, body))
    return objects


def put_assets(
    objects: Iterable[AssetObject],
    exists: Callable[[AssetObject], bool],
    put: Callable[[AssetObject], None],
) -> list[tuple[AssetObject, bool]]:
    """Put each object that is not there yet; keys are content addresses, so present = same.

    Returns:
        (object, uploaded) pairs, in order.
    """
    done = []
    for obj in objects:
        present = exists(obj)
        if not present:
            put(obj)
        done.append((obj, not present))
    return done


def package_asset(asset: Asset, dest: Path, repo: Path = REPO) -> Path:
    """Write one asset into folder `dest` as it is uploaded; return the file's (or, for a
    folder asset, the folder's) path.

    Raises:
        StaleBundleError: as asset_contents.
    """
    dest.mkdir(parents=True, exist_ok=True)
    if asset.kind == "folder":
        for arcname, body in asset_contents(asset, repo).items():
            (dest / arcname).parent.mkdir(parents=True, exist_ok=True)
            (dest / arcname).write_bytes(body)
        return dest
    target: Path = dest / asset.s3_uri.rsplit("/", 1)[-1]
    target.write_bytes(asset_bytes(asset, repo))
    return target


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

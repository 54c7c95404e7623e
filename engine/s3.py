"""S3 as a folder: s3://bucket/key is <root>/bucket/key, with S3Prefix semantics for copies."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import threading
from pathlib import Path

from bundle.assets import split_s3_uri
from kernel.names import s3_uri_problem


class S3UriError(ValueError):
    """A URI the local S3 cannot hold: not s3://bucket/key, or one that would leave its folder."""


class S3:
    """A folder that stands in for S3 during a local run."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, uri: str) -> Path:
        """The local path of an object or prefix.

        Raises:
            S3UriError: not an s3://bucket/key URI S3 would take, or a key that climbs out of
                its bucket: nothing outside the folder is ever touched.
        """
        problem = s3_uri_problem(uri) if uri.startswith("s3://") else "not an s3:// URI"
        if problem:
            raise S3UriError(f"{uri!r}: {problem}")
        bucket, key = split_s3_uri(uri) if uri.count("/") > 2 else (uri[5:].rstrip("/"), "")
        target = (self.root / bucket / key).resolve()
        if not target.is_relative_to((self.root / bucket).resolve()):
            raise S3UriError(f"{uri!r} leaves its bucket")
        return target

    def uri(self, path: Path) -> str:
        relative = path.resolve().relative_to(self.root.resolve()).as_posix()
        return f"s3://{relative}"

    def exists(self, uri: str) -> bool:
        return self.path(uri).exists()

    def put_bytes(self, uri: str, body: bytes) -> None:
        """Write an object whole: a reader (another engine on the root) never sees part of it."""
        target = self.path(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}")
        staged.write_bytes(body)
        staged.replace(target)

    def get_bytes(self, uri: str) -> bytes:
        return self.path(uri).read_bytes()

    def link(self, uri: str, dest: Path) -> list[Path]:
        """Hard-link an object, or every object under a prefix, into folder `dest` (S3Prefix: an
        object lands as dest/<its name>, a prefix's objects keep their relative paths); copied
        only across file systems. Each object is made read-only, as S3 objects are. Returns them.

        Raises:
            FileNotFoundError: nothing exists at the URI.
        """
        source = self.path(uri)
        dest.mkdir(parents=True, exist_ok=True)
        if source.is_file():
            pairs = [(source, dest / source.name)]
        elif source.is_dir():
            pairs = [(p, dest / p.relative_to(source)) for p in source.rglob("*") if p.is_file()]
        else:
            raise FileNotFoundError(f"no object or prefix at {uri}")
        for original, target in pairs:
            target.parent.mkdir(parents=True, exist_ok=True)
            mode = original.stat().st_mode
            original.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
            _replace_with(original, target)
        return [original for original, _ in pairs]

    def upload(self, source: Path, uri: str) -> None:
        """Copy a file, or a folder's contents, to the object or prefix at `uri`.

        Each object is a hard link to its file (a copy across file systems), renamed into
        place, never rewritten: a job's hard link to the object it replaces keeps the bytes
        that job was given, and an output costs no second copy.
        """
        target = self.path(uri)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True, copy_function=_replace_with)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            _replace_with(source, target)


def _replace_with(source: Path | str, target: Path | str) -> None:
    """Put `source` at `target` as a new file (hard link or copy) renamed into place."""
    target = Path(target)
    staged = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}")
    _link_or_copy(Path(source), staged)
    staged.replace(target)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError as error:
        if error.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
            raise
        shutil.copy2(source, target)

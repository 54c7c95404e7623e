"""Slow work done once per test run and shared by every pytest-xdist worker.

Each xdist worker is a process of its own, so a session fixture alone would train the same model
or run the same pipeline once per worker. `once` builds in a folder of the run's temporary root
under a file lock: the first worker to ask builds, the others wait for it and reuse what it left.
What it returns is shared: treat its folders as read-only (copy them to change anything).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import pickle
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

T = TypeVar("T")
_done: dict[str, Any] = {}  # this process's results, so the lock is taken once per key


def run_folder(factory: pytest.TempPathFactory) -> Path:
    """The temporary folder of this whole test run: every worker's base folder sits in it."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def once(factory: pytest.TempPathFactory, key: str, build: Callable[[Path], T]) -> T:
    """`build(folder)` the first time any worker asks for `key` in this run; its result after.

    A build that raised leaves nothing behind: the next to ask builds again (and fails the same
    way, in its own test).
    """
    if key not in _done:
        digest = hashlib.sha256(key.encode()).hexdigest()[:12]
        name = f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', key)[:80]}-{digest}"  # within a file name
        shared = run_folder(factory) / "once"
        shared.mkdir(exist_ok=True)
        result = shared / f"{name}.pickle"
        with (shared / f"{name}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if result.is_file():
                _done[key] = pickle.loads(result.read_bytes())
            else:
                folder = shared / name
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir()
                _done[key] = build(folder)
                result.write_bytes(pickle.dumps(_done[key]))
    return _done[key]  # type: ignore[no-any-return]

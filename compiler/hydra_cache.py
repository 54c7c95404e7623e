"""The one place that reaches inside Hydra: its file cache, shared between composes.

Hydra 1.3 makes a fresh CachingConfigRepository per compose, re-reading and re-parsing every YAML
file (its own included): ~110 ms a compose, ~70 ms with the cache shared (48 compositions, one
process). That is what keeps a 16-job sweep cheap. It replaces `CachingConfigRepository` in
`hydra._internal.config_loader_impl` for the length of one compose, so it holds only for the
hydra-core pinned exactly in pyproject.toml: tests/unit/test_compose.py fails when the installed
version or the source of the replaced class and of its one caller change, and checks that every
config combination composes identically with and without the cache.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hydra._internal import config_loader_impl

# The sha256 of the replaced class's source and its caller's, for the pinned hydra-core.
PATCHED_SOURCE_SHA256 = "dfc77c43162d56b01c15d1a975e8d5015f7f74df02535ab74eddf768dba03ee7"

_FILE_CACHES: dict[int, Any] = {}


class _Copying:
    """A shared cache that hands each compose its own copy of the primary config.

    Compose merges the other files and the command-line overrides into the primary config it
    loads (config.yaml), so one object handed out twice would carry one compose's overrides into
    the next: `output_dir=/x` once, and every later compile wrote to /x. The group files are
    merged from, never into, so they are shared as they are.
    """

    def __init__(self, cache: Any, primary: str) -> None:
        self._cache = cache
        self._primary = primary

    def load_config(self, config_path: str) -> Any:
        loaded = self._cache.load_config(config_path)
        return copy.deepcopy(loaded) if config_path == self._primary else loaded

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cache, name)


@contextmanager
def shared_file_cache(primary: str) -> Iterator[None]:
    """Let the compose() calls inside share Hydra's cache of loaded config files; `primary` is
    the config name they compose (its file is copied for each compose)."""
    original = config_loader_impl.CachingConfigRepository  # type: ignore[attr-defined]

    def shared(repository: Any) -> Any:
        key = id(repository)
        if key not in _FILE_CACHES:
            _FILE_CACHES[key] = _Copying(original(repository), primary)
        return _FILE_CACHES[key]

    config_loader_impl.CachingConfigRepository = shared  # type: ignore[attr-defined,assignment]
    try:
        yield
    finally:
        config_loader_impl.CachingConfigRepository = original  # type: ignore[attr-defined]


def patched_source() -> str:
    """The source this module's patch relies on: the class it replaces and the one caller."""
    replaced = config_loader_impl.CachingConfigRepository  # type: ignore[attr-defined]
    caller = config_loader_impl.ConfigLoaderImpl._parse_overrides_and_create_caching_repo
    return inspect.getsource(replaced) + inspect.getsource(caller)

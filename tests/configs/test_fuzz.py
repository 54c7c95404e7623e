"""Odd values in every config key: each compiles to a definition the API accepts, or is refused
with a where/what/why/fix CompileError. Nothing else (no traceback, no other exception).

The values go into the composed config the way a YAML file or an override would put them, so
every key of the schema is reached, not only those a test thought of.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.compile import compile_loaded
from compiler.load import LoadedConfig, load_config
from kernel.check import all_steps
from kernel.errors import CompileError
from kernel.limits import limit_problems

BASE = {
    "penguins": load_config(["project=penguins", "training=train_and_tune"]),
    "digits": load_config(["project=digits", "training=tune_top2"]),
}


def leaf_paths(node: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from leaf_paths(value, (*path, key))
    elif isinstance(node, list) and node:
        for index, value in enumerate(node):
            yield from leaf_paths(value, (*path, index))
        yield path
    else:
        yield path


PATHS = sorted(
    {(name, path) for name, loaded in BASE.items() for path in leaf_paths(loaded.data)},
    key=str,
)
ODD = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="ab-_./:$ {}", min_size=200, max_size=600),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.lists(st.text(max_size=8), max_size=4),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


def with_value(loaded: LoadedConfig, path: tuple[str | int, ...], value: Any) -> LoadedConfig:
    data = copy.deepcopy(loaded.data)
    node: Any = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return LoadedConfig(data, loaded.choices, loaded.overrides, loaded.raw)


@settings(
    max_examples=400,
    deadline=None,
    derandomize=True,  # the same examples on every run and machine
    suppress_health_check=[HealthCheck.too_slow],
)
@given(where=st.sampled_from(PATHS), value=ODD)
def test_an_odd_value_compiles_soundly_or_is_refused_clearly(
    where: tuple[str, tuple[str | int, ...]], value: Any
) -> None:
    project, path = where
    try:
        bundle = compile_loaded(with_value(BASE[project], path, value))
    except CompileError as exc:
        for problem in exc.problems:
            assert problem.where and problem.what and problem.why and problem.fix, exc.render()
        return
    definition = json.loads(bundle.pipeline_json)
    for step in all_steps(definition["Steps"]):
        assert limit_problems(step["Type"], step["Arguments"]) == []

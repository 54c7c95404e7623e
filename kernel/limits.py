"""The SageMaker API's length, count and pattern limits on what a definition's steps send.

Each step type's Arguments become one API request (Processing -> CreateProcessingJob...); a
value the API refuses fails only when the step starts, after minutes of earlier steps. The
limits come from botocore's service model, flattened to one line per field and committed beside
this file (`api_limits.json`), so compiling never loads the model; `python -m kernel.limits
--refresh` rewrites it and a test checks it still equals the installed botocore's.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

TABLE = Path(__file__).with_name("api_limits.json")
OPERATIONS = {  # the request each step type's Arguments are
    "Processing": "CreateProcessingJob",
    "QualityCheck": "CreateProcessingJob",
    "Training": "CreateTrainingJob",
    "Tuning": "CreateHyperParameterTuningJob",
    "Model": "CreateModel",
    "Transform": "CreateTransformJob",
    "RegisterModel": "CreateModelPackage",
}
CONSTRAINTS = ("min", "max", "pattern")


@cache
def _table() -> dict[str, dict[str, dict[str, Any]]]:
    table: dict[str, dict[str, dict[str, Any]]] = json.loads(TABLE.read_text())
    return table


@cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    """Python's reading of an API pattern; None where it uses Java-only syntax (\\p{...})."""
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error:
        return None


def limit_problems(step_type: str, arguments: Any) -> list[str]:
    """Every literal value in a step's Arguments that its API request would refuse."""
    operation = OPERATIONS.get(step_type)
    if operation is None:
        return []
    limits = _table()[operation]
    maps = _map_fields(operation)
    return [
        f"{path}: {why}"
        for path, field, value in _walk(arguments, "", "", maps)
        if (why := _violation(limits.get(field), value))
    ]


def _walk(
    value: Any, path: str, field: str, maps: frozenset[str]
) -> Iterator[tuple[str, str, Any]]:
    """(path with indexes, the field as the table names it, value) of every node."""
    if isinstance(value, dict) and value and set(value) <= {"Get", "Std:Join", "Std:JsonGet"}:
        return  # an expression: its value is known only at run time
    yield path, field, value
    if isinstance(value, dict):
        for key, item in value.items():
            if field in maps:
                yield f"{path}{{{key}}}", f"{field}{{key}}", key
                yield from _walk(item, f"{path}.{key}", f"{field}{{}}", maps)
            else:
                child = f"{field}.{key}" if field else str(key)
                yield from _walk(item, f"{path}.{key}" if path else str(key), child, maps)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]", f"{field}[]", maps)


@cache
def _map_fields(operation: str) -> frozenset[str]:
    """Fields that are maps (their keys are the user's, e.g. Environment, HyperParameters)."""
    return frozenset(name.split("{")[0] for name in _table()[operation] if "{" in name)


def _violation(limit: dict[str, Any] | None, value: Any) -> str | None:
    if limit is None or isinstance(value, bool):
        return None
    if isinstance(value, str | list | dict):
        size, unit = len(value), "characters" if isinstance(value, str) else "items"
        if "max" in limit and size > limit["max"]:
            return f"has {size} {unit}; the API takes at most {limit['max']}"
        if "min" in limit and size < limit["min"]:
            return f"has {size} {unit}; the API takes at least {limit['min']}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "max" in limit and value > limit["max"]:
            return f"is {value}; the API takes at most {limit['max']}"
        if "min" in limit and value < limit["min"]:
            return f"is {value}; the API takes at least {limit['min']}"
    if isinstance(value, str) and "pattern" in limit:
        pattern = _compiled(limit["pattern"])
        if pattern is not None and not pattern.fullmatch(value):
            return f"does not match the API's pattern {limit['pattern']}"
    return None


def botocore_table() -> dict[str, dict[str, dict[str, Any]]]:
    """The limits of every operation's input, read from the installed botocore (slow)."""
    from botocore.loaders import Loader

    model = Loader().load_service_model("sagemaker", "service-2")
    shapes, operations = model["shapes"], model["operations"]
    return {
        op: dict(sorted(_flatten(shapes, operations[op]["input"]["shape"], "", ()).items()))
        for op in sorted(set(OPERATIONS.values()))
    }


def _flatten(
    shapes: dict[str, Any], name: str, path: str, seen: tuple[str, ...]
) -> dict[str, dict[str, Any]]:
    shape = shapes[name]
    out: dict[str, dict[str, Any]] = {}
    own = {k: shape[k] for k in CONSTRAINTS if k in shape}
    if own and path:
        out[path] = own
    if name in seen:
        return out  # a recursive shape: its limits are those already listed
    seen = (*seen, name)
    kind = shape["type"]
    if kind == "structure":
        for member, spec in shape["members"].items():
            child = f"{path}.{member}" if path else member
            out |= _flatten(shapes, spec["shape"], child, seen)
    elif kind == "list":
        out |= _flatten(shapes, shape["member"]["shape"], f"{path}[]", seen)
    elif kind == "map":
        out |= _flatten(shapes, shape["key"]["shape"], f"{path}{{key}}", seen)
        out |= _flatten(shapes, shape["value"]["shape"], f"{path}{{}}", seen)
    return out


if __name__ == "__main__":  # pragma: no cover - developer tool
    if sys.argv[1:] != ["--refresh"]:
        sys.exit("usage: python -m kernel.limits --refresh")
    TABLE.write_text(json.dumps(botocore_table(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {TABLE}")

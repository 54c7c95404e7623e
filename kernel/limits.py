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
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from kernel.errors import did_you_mean

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
CONSTRAINTS = ("min", "max", "pattern", "enum")
EXPRESSIONS = {"Get", "Std:Join", "Std:JsonGet"}
PARAMETER_VALUES = {
    "String": "string",
    "Integer": "integer",
    "Float": "number",
    "Boolean": "boolean",
}
RENDERED = {  # (field type, parameter type) pairs whose value SageMaker can put there
    ("number", "integer"),
    ("string", "integer"),  # a number or a boolean has a text form: the SDK passes them so
    ("string", "number"),
    ("string", "boolean"),
}
ACCEPTS = {  # a field's type -> the JSON types a literal there may have
    "string": {"string"},
    "integer": {"integer"},
    "number": {"integer", "number"},
    "boolean": {"boolean"},
}
SCALARS = {  # botocore's scalar shape types -> the JSON value a definition must hold there
    "string": "string",
    "integer": "integer",
    "long": "integer",
    "float": "number",
    "double": "number",
    "boolean": "boolean",
}


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


def limit_problems(
    step_type: str, arguments: Any, parameters: Mapping[str, Mapping[str, Any]] | None = None
) -> list[str]:
    """Every value in a step's Arguments that its API request would refuse.

    A literal is checked against its field's type, enum, length, range and pattern; a Get of a
    pipeline parameter (`parameters`: the declared ones by name) against the field's type, and
    its DefaultValue like a literal (`ValueFrom` in a declaration names where a value other than
    the default came from); a Std:Join is a string.
    """
    operation = OPERATIONS.get(step_type)
    if operation is None:
        return []
    limits = _table()[operation]
    maps = _map_fields(operation)
    problems = []
    for path, field, value in _walk(arguments, "", "", maps):
        limit = limits.get(field)
        if _is_expression(value):
            why = _expression_violation(limit, value, parameters or {})
        else:
            why = _violation(limit, value)
        if why:
            problems.append(f"{path}: {why}")
    return problems


def _is_expression(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and set(value) <= EXPRESSIONS


def _walk(
    value: Any, path: str, field: str, maps: frozenset[str]
) -> Iterator[tuple[str, str, Any]]:
    """(path with indexes, the field as the table names it, value) of every node; an expression
    is a leaf (its value is known only at run time)."""
    yield path, field, value
    if _is_expression(value):
        return
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


def _expression_violation(
    limit: dict[str, Any] | None, value: dict[str, Any], parameters: Mapping[str, Mapping[str, Any]]
) -> str | None:
    """Why an expression cannot stand where the API takes `limit`'s type, or None."""
    wanted = (limit or {}).get("type")
    if wanted is None:
        return None
    ((function, body),) = value.items()
    if function == "Std:Join":
        given = "string"
    elif function == "Get" and isinstance(body, str) and body.startswith("Parameters."):
        declared = parameters.get(body.removeprefix("Parameters."))
        if declared is None:
            return None  # the reference check names it
        given = PARAMETER_VALUES.get(str(declared.get("Type", "String")), "string")
        default = declared.get("DefaultValue")
        if given == wanted and default is not None:
            why = _violation(_default_limit(limit or {}, default), default)
            return f"{body}'s {declared.get('ValueFrom', 'DefaultValue')} {why}" if why else None
    else:
        return None  # a step property or a JsonGet: its type is known only at run time
    if given == wanted or (wanted, given) in RENDERED:
        return None
    return f"is {_spelled(value)}, {_a(given)}; the API takes {_a(wanted)}"


def _default_limit(limit: dict[str, Any], default: Any) -> dict[str, Any]:
    """What a parameter's DefaultValue must meet: its field's type, enum and numeric range (a
    text default may be a placeholder every start replaces, such as '' for a required URI)."""
    sized = isinstance(default, str | list | dict)
    return {
        k: v for k, v in limit.items() if k != "pattern" and not (sized and k in CONSTRAINTS[:2])
    }


def _a(word: str) -> str:
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def _spelled(value: dict[str, Any]) -> str:
    ((function, body),) = value.items()
    return body if function == "Get" and isinstance(body, str) else function


def _violation(limit: dict[str, Any] | None, value: Any) -> str | None:
    if limit is None:
        return None
    wanted = limit.get("type")
    if wanted is not None and json_type(value) not in ACCEPTS[wanted]:
        return f"is {json_type(value)} {shown(value)}; the API takes {_a(wanted)}"
    if isinstance(value, bool):
        return None
    if isinstance(value, str | list | dict):
        size, unit = len(value), "characters" if isinstance(value, str) else "items"
        if "max" in limit and size > limit["max"]:
            return f"has {size} {unit}; the API takes at most {limit['max']}"
        if "min" in limit and size < limit["min"]:
            return f"has {size} {unit}; the API takes at least {limit['min']}"
    if isinstance(value, int | float):
        if "max" in limit and value > limit["max"]:
            return f"is {value}; the API takes at most {limit['max']}"
        if "min" in limit and value < limit["min"]:
            return f"is {value}; the API takes at least {limit['min']}"
    if isinstance(value, str) and "enum" in limit and value not in limit["enum"]:
        some = ", ".join(limit["enum"][:6]) + (", ..." if len(limit["enum"]) > 6 else "")
        hint = did_you_mean(value, limit["enum"])
        return f"{value!r} is not one of the API's values ({some}){hint}"
    if isinstance(value, str) and "pattern" in limit:
        pattern = _compiled(limit["pattern"])
        if pattern is not None and not pattern.fullmatch(value):
            return f"does not match the API's pattern {limit['pattern']}"
    return None


def json_type(value: Any) -> str:
    """A value's JSON type: boolean, integer, number, string, object, list or null."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object" if isinstance(value, dict) else "list" if isinstance(value, list) else "null"


def shown(value: Any, limit: int = 60) -> str:
    """A value as a person reads it in a message: JSON (texts quoted as Python would), cut short."""
    if value is None:
        return "missing"
    text = repr(value) if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
    if shape["type"] in SCALARS:
        own["type"] = SCALARS[shape["type"]]
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

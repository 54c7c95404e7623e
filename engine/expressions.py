"""The definition's expressions: Get, Std:Join, Std:JsonGet, and the conditions of a Condition step.

Resolution is strict, as on SageMaker: a Get that names a missing step, property, parameter or
execution variable, or a JsonGet path that is not in the report, is an error that names what was
asked for and what exists, so a broken definition fails the step that reads it.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from kernel.check_steps import literal_type
from kernel.errors import Problem, ProblemError
from kernel.ir import value_fits

FUNCTIONS = ("Get", "Std:Join", "Std:JsonGet")
_TOKEN = re.compile(r"\.?([A-Za-z0-9_:\-]+)|\[(\d+)\]|\['([^']*)'\]")
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": lambda a, b: bool(a == b),
    "GreaterThan": lambda a, b: bool(a > b),
    "GreaterThanOrEqualTo": lambda a, b: bool(a >= b),
    "LessThan": lambda a, b: bool(a < b),
    "LessThanOrEqualTo": lambda a, b: bool(a <= b),
}


class ExpressionError(Exception):
    """An expression that cannot be resolved; the message says which and why."""


@dataclass(frozen=True)
class PropertyFileRef:
    """What `{"Get": "Steps.X.PropertyFiles.Name"}` resolves to: a report a JsonGet can read."""

    step: str
    name: str


@dataclass(frozen=True)
class Scope:
    """What expressions can read.

    Attributes:
        parameters: every pipeline parameter's value for this execution.
        execution: execution variables (PipelineExecutionId, PipelineName, ...).
        properties: a step name -> its properties, raising ExpressionError when it has none.
        read_property_file: a PropertyFileRef -> the parsed JSON of that report.
    """

    parameters: dict[str, Any]
    execution: dict[str, Any]
    properties: Callable[[str], dict[str, Any]]
    read_property_file: Callable[[PropertyFileRef], Any]


def parse_path(path: str) -> list[str | int]:
    """'A.B[0].C['x']' -> ['A', 'B', 0, 'C', 'x'].

    Raises:
        ExpressionError: text that is not a property path.
    """
    parts: list[str | int] = []
    position = 0
    while position < len(path):
        match = _TOKEN.match(path, position)
        if match is None or match.end() == position:
            raise ExpressionError(f"{path!r} is not a property path (at character {position})")
        name, index, key = match.groups()
        parts.append(int(index) if index is not None else (name if name is not None else key))
        position = match.end()
    return parts


def walk_path(value: Any, parts: list[str | int], what: str) -> Any:
    """Follow `parts` into nested dicts and lists.

    Raises:
        ExpressionError: a key or index that is not there, naming what exists instead.
    """
    done = ""
    for part in parts:
        if isinstance(part, int):
            if not isinstance(value, list) or part >= len(value):
                size = len(value) if isinstance(value, list) else "no list"
                raise ExpressionError(
                    f"{what}: no index [{part}] at {done or 'the top'} (length {size})"
                )
            value = value[part]
            done += f"[{part}]"
        else:
            if not isinstance(value, dict) or part not in value:
                present = ", ".join(sorted(value)) if isinstance(value, dict) else "not a map"
                raise ExpressionError(
                    f"{what}: no {part!r} at {done or 'the top'} (there: {present})"
                )
            value = value[part]
            done += f".{part}" if done else part
    return value


def resolve(value: Any, scope: Scope) -> Any:
    """`value` with every expression in it replaced by its value."""
    if isinstance(value, list):
        return [resolve(item, scope) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, body),) = value.items()
        if key == "Get":
            return _get(str(body), scope)
        if key == "Std:Join":
            values = resolve(body["Values"], scope)
            return str(body["On"]).join(render(item) for item in values)
        if key == "Std:JsonGet":
            return _json_get(body, scope)
    return {key: resolve(item, scope) for key, item in value.items()}


def render(value: Any) -> str:
    """A value as Std:Join writes it: JSON's spelling of booleans, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, PropertyFileRef):
        raise ExpressionError(
            f"Steps.{value.step}.PropertyFiles.{value.name} is a property file, not a value: "
            "read it with Std:JsonGet"
        )
    return str(value)


def referenced_steps(value: Any) -> Iterator[str]:
    """The names of the steps whose properties `value` reads (its data dependencies)."""
    if isinstance(value, list):
        for item in value:
            yield from referenced_steps(item)
    elif isinstance(value, dict):
        get = value.get("Get")
        if len(value) == 1 and isinstance(get, str) and get.startswith("Steps."):
            first = parse_path(get)[1]
            yield str(first)
        else:
            for item in value.values():
                yield from referenced_steps(item)


def evaluate(condition: dict[str, Any]) -> bool:
    """One resolved condition (Equals, GreaterThan..., In, Not, Or).

    Raises:
        ExpressionError: an unknown condition type, or values that cannot be compared.
    """
    kind = condition.get("Type")
    if kind in _COMPARISONS:
        left, right = condition["LeftValue"], condition["RightValue"]
        if _kind(left) != _kind(right) or isinstance(left, PropertyFileRef):
            # SageMaker does not document a comparison across types: refused, Equals included
            raise ExpressionError(
                f"{kind}: cannot compare {render(left)!r} ({_kind(left)}) with "
                f"{render(right)!r} ({_kind(right)}): compare values of one type"
            )
        try:
            return _COMPARISONS[str(kind)](_comparable(left), _comparable(right))
        except TypeError:
            raise ExpressionError(
                f"{kind}: cannot compare {render(left)!r} ({_kind(left)}) with "
                f"{render(right)!r} ({_kind(right)})"
            ) from None
    if kind == "In":
        return condition["QueryValue"] in condition["Values"]
    if kind == "Not":
        return not evaluate(condition["Condition"])
    if kind == "Or":
        return any(evaluate(c) for c in condition["Conditions"])
    raise ExpressionError(f"unknown condition type {kind!r}")


def _kind(value: Any) -> str:
    """A resolved operand's type as a condition sees it: number, string, boolean, ..."""
    known = literal_type(value)
    if known is not None:
        return known
    return "property file" if isinstance(value, PropertyFileRef) else type(value).__name__


def _comparable(value: Any) -> Any:
    # SageMaker compares a JsonGet's number with a Float parameter as numbers.
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _get(path: str, scope: Scope) -> Any:
    parts = parse_path(path)
    where, rest = parts[0], parts[1:]
    if where == "Parameters":
        return _lookup(scope.parameters, rest, "parameter", path)
    if where == "Execution":
        return _lookup(scope.execution, rest, "execution variable", path)
    if where == "Steps" and rest and isinstance(rest[0], str):
        step = rest[0]
        if rest[1:2] == ["PropertyFiles"] and len(rest) == 3:
            return PropertyFileRef(step, str(rest[2]))
        return walk_path(scope.properties(step), rest[1:], f"Get {path}: step {step}")
    raise ExpressionError(f"Get {path}: not a Parameters, Execution or Steps reference")


def _lookup(table: dict[str, Any], rest: list[str | int], kind: str, path: str) -> Any:
    if len(rest) != 1 or rest[0] not in table:
        raise ExpressionError(
            f"Get {path}: no such {kind} (there: {', '.join(sorted(table)) or 'none'})"
        )
    return table[str(rest[0])]


def _json_get(body: dict[str, Any], scope: Scope) -> Any:
    ref = resolve(body["PropertyFile"], scope)
    if not isinstance(ref, PropertyFileRef):
        raise ExpressionError(f"Std:JsonGet: PropertyFile {body['PropertyFile']!r} is no report")
    report = scope.read_property_file(ref)
    path = str(body["Path"])
    return walk_path(
        report, parse_path(path), f"Std:JsonGet {path!r} in {ref.step}'s property file {ref.name}"
    )


def parse_parameters(declared: list[dict[str, Any]], overrides: Iterable[str]) -> dict[str, Any]:
    """Each parameter's value: its DefaultValue, or a `Name=Value` override of its declared Type.

    Raises:
        ParameterError: an override that is not Name=Value, names no parameter, or does not
            parse as the parameter's type; every bad one is listed.
    """
    values = {str(p["Name"]): p.get("DefaultValue") for p in declared}
    types = {str(p["Name"]): str(p.get("Type", "String")) for p in declared}
    problems = []
    for override in overrides:
        name, sep, text = override.partition("=")
        if not sep:
            problems.append(
                Problem(
                    f"-p {override}",
                    "not Name=Value",
                    "each parameter value is given as Name=Value",
                    "e.g. -p ApproveThreshold=0.9",
                )
            )
            continue
        if name not in types:
            hint = difflib.get_close_matches(name, types, n=1)
            problems.append(
                Problem(
                    f"-p {override}",
                    f"no parameter {name!r} in this pipeline",
                    f"-p sets the pipeline's declared parameters: {', '.join(sorted(types))}",
                    f"did you mean {hint[0]!r}?" if hint else "use one of those names",
                )
            )
            continue
        try:
            if not value_fits(types[name], text):  # the literals SageMaker takes, no more
                raise ValueError(text)
            values[name] = _PARSERS[types[name]](text)
        except (KeyError, ValueError):
            problems.append(
                Problem(
                    f"-p {override}",
                    f"{text!r} is not of type {types[name]}",
                    f"parameter {name} is declared with Type {types[name]} in pipeline.json",
                    f"give a value of type {types[name]}, "
                    f"e.g. -p {name}={_EXAMPLES.get(types[name], '...')}",
                )
            )
    missing = sorted(n for n, v in values.items() if v is None)
    problems += [
        Problem(
            f"parameter {n}",
            "has no DefaultValue and no -p value",
            "the pipeline declares it without a DefaultValue",
            f"pass -p {n}=...",
        )
        for n in missing
    ]
    if problems:
        raise ParameterError.of(problems)
    return values


class ParameterError(ProblemError):
    """Bad `-p` overrides (the engine refuses to start on them), every one listed."""


def _boolean(text: str) -> bool:
    return text == "true"


_PARSERS: dict[str, Callable[[str], Any]] = {
    "String": str,
    "Integer": int,
    "Float": float,
    "Boolean": _boolean,
}
_EXAMPLES = {"String": "text", "Integer": "3", "Float": "0.8", "Boolean": "true"}

"""Stage 2, validate: the composed config against the schema, then the rules, as one error.

Pydantic's validation errors are translated here into where/what/why/fix problems: the key path
as the user writes it, the file or override that set it, and a fix (a "did you mean" for an
unknown key or choice, with every key or choice there is).
"""

from __future__ import annotations

import re
import types
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from compiler.load import LoadedConfig
from compiler.rules import broken_rules
from compiler.schema import PipelineConfig
from kernel.errors import CompileError, Problem, did_you_mean, one_of


def validate_config(loaded: LoadedConfig) -> PipelineConfig:
    """Validate the composed config; collect every problem into one CompileError.

    Raises:
        CompileError: with one where/what/why/fix problem per invalid key or broken rule.
    """
    try:
        config = PipelineConfig.model_validate(loaded.data)
    except ValidationError as exc:
        raise CompileError(_problems(loaded, exc)) from None
    problems = [
        Problem(loaded.source_of(i.loc), i.what, i.why, i.fix) for i in broken_rules(config)
    ]
    if problems:
        raise CompileError(problems)
    return config


def _problems(loaded: LoadedConfig, exc: ValidationError) -> list[Problem]:
    errors = [(_schema_at(e["loc"]), e) for e in exc.errors(include_url=False)]
    failing = {".".join(map(str, at.loc)) for at, _ in errors}
    problems = []
    for at, error in errors:
        loc = at.loc
        path = ".".join(str(p) for p in loc)
        why, _, fix = _split_message(error["msg"])
        if error["type"] == "extra_forbidden":
            problems.append(_unknown_key(loaded, loc, at.parent_keys))
            continue
        if error["type"] in ("literal_error", "union_tag_invalid"):
            problems.append(_unknown_choice(loaded, loc, error, at.choices))
            continue
        if error["type"] == "missing":
            why, fix = "this key is required", f"set {path} (see README's config reference)"
        elif not fix:
            fix = _default_fix(error)
        what = f"{path} = {error['input']!r}" if error["type"] != "missing" else path
        where = loaded.source_of(loc)
        sources = loaded.derived_from(loc)
        if any(source in failing for source in sources):
            continue  # the key it is made from is reported, and fixing that fixes this one
        if sources:
            # A derived value: name the keys the user sets, and where the one they set was set.
            what += f", made from {', '.join(sources)}"
            where = next(
                (loaded.source_of(tuple(s.split("."))) for s in sources if _overridden(loaded, s)),
                where,
            )
            fix = f"{fix}: change {' or '.join(sources)}, or set {path} itself"
        problems.append(Problem(where=where, what=what, why=why, fix=fix))
    return _merged(problems)


def _merged(problems: list[Problem]) -> list[Problem]:
    """One problem per value: a value that fits none of a union's types fails once per type."""
    merged: dict[tuple[str, str], Problem] = {}
    for problem in problems:
        key = (problem.where, problem.what)
        first = merged.get(key)
        if first is None:
            merged[key] = problem
        elif problem.why not in first.why.split("; "):
            merged[key] = Problem(first.where, first.what, f"{first.why}; {problem.why}", first.fix)
    return list(merged.values())


def _unknown_key(loaded: LoadedConfig, loc: tuple[Any, ...], keys: list[str]) -> Problem:
    """Every key the schema takes there, the same list as for the same typo given as override."""
    parent, key = ".".join(str(p) for p in loc[:-1]) or "the root", str(loc[-1])
    keys = keys or _siblings(loaded.data, loc)
    return Problem(
        where=loaded.source_of(loc),
        what=f"unknown key '{'.'.join(str(p) for p in loc)}'",
        why=f"{parent} has no key '{key}'" + (f"; its keys are {one_of(keys)}" if keys else ""),
        fix=f"remove it or use an existing key{did_you_mean(key, keys)}",
    )


def _unknown_choice(
    loaded: LoadedConfig, loc: tuple[Any, ...], error: Any, choices: list[str]
) -> Problem:
    """A value outside a fixed set (a Literal, or the tag of a union such as data.kind)."""
    if error["type"] == "union_tag_invalid":
        ctx = error["ctx"]
        loc = (*loc, ctx["discriminator"].strip("'"))
        value: Any = ctx["tag"]
        choices = re.findall(r"'([^']*)'", ctx["expected_tags"])
    else:
        value = error["input"]
    path = ".".join(str(p) for p in loc)
    listed = ", ".join(repr(c) for c in choices)
    return Problem(
        where=loaded.source_of(loc),
        what=f"{path} = {value!r}",
        why=f"it is not one of the values {path} takes",
        fix=f"use one of {listed}{did_you_mean(str(value), [str(c) for c in choices])}",
    )


class _At:
    """Where a pydantic error location points in the schema.

    Attributes:
        loc: the key path as the user writes it (without union tags).
        parent_keys: the keys the model holding the last key takes.
        choices: the values the last key takes, if it is a Literal.
    """

    def __init__(self, loc: tuple[Any, ...], parent_keys: list[str], choices: list[Any]) -> None:
        self.loc, self.parent_keys, self.choices = loc, parent_keys, choices


def _schema_at(raw: tuple[Any, ...]) -> _At:
    """Follow pydantic's error location through the schema's types."""
    loc: list[Any] = []
    node: Any = PipelineConfig
    parent_keys: list[str] = []
    for part in raw:
        members = [m for m in _union_members(node) if m is not type(None)]
        if len(members) > 1:
            chosen = next((m for m in members if part in _tags(m)), None)
            if chosen is not None:
                node = chosen  # the union's tag: pydantic's, not the user's key
                continue
        if members:
            node = members[0]
        loc.append(part)
        if _is_model(node):
            parent_keys = list(node.model_fields)
            field = node.model_fields.get(part)
            node = field.annotation if field is not None else None
        elif get_origin(node) is dict:
            parent_keys, node = [], get_args(node)[1]
        elif get_origin(node) in (list, tuple):
            parent_keys, node = [], get_args(node)[0]
        else:
            parent_keys, node = [], None
    return _At(tuple(loc), parent_keys, _choices(node))


def _union_members(node: Any) -> list[Any]:
    if get_origin(node) in (Union, types.UnionType):
        return [_plain_type(a) for a in get_args(node)]
    return []


def _plain_type(node: Any) -> Any:
    return get_args(node)[0] if hasattr(node, "__metadata__") else node


def _is_model(node: Any) -> bool:
    return isinstance(node, type) and issubclass(node, BaseModel)


def _tags(member: Any) -> list[Any]:
    """The values a union member is told apart by: its Literal fields' values, or its name."""
    if not _is_model(member):
        return [getattr(member, "__name__", None)]
    return [v for f in member.model_fields.values() for v in _choices(f.annotation)]


def _choices(node: Any) -> list[Any]:
    node = _plain_type(node)
    return list(get_args(node)) if get_origin(node) is Literal else []


def _overridden(loaded: LoadedConfig, key: str) -> bool:
    return loaded.source_of(tuple(key.split("."))).startswith("command line")


def _split_message(message: str) -> tuple[str, str, str]:
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    why, sep, fix = message.partition("; fix: ")
    return why, sep, fix


def _default_fix(error: Any) -> str:
    ctx = error.get("ctx") or {}
    if "pattern" in ctx:
        return f"use a value matching {ctx['pattern']}"
    if "expected" in ctx:
        return f"use one of {ctx['expected']}"
    bounds = {"gt": "above", "ge": "at least", "lt": "below", "le": "at most"}
    for key, word in bounds.items():
        if key in ctx:
            return f"use a value {word} {ctx[key]}"
    return "see README's config reference for the expected value"


def _siblings(data: dict[str, Any], loc: tuple[Any, ...]) -> list[str]:
    node: Any = data
    for part in loc[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    return [str(k) for k in node if k != loc[-1]] if isinstance(node, dict) else []

"""The steps of a definition as a graph: nested branch steps, DependsOn and data dependencies.

A step inside a Condition's IfSteps or ElseSteps runs only after that condition chose its
branch; every step waits for the steps it names in DependsOn and the steps whose properties its
expressions read. A name that is not a step, a duplicate or a cycle makes the definition one
SageMaker would refuse, so it is refused before anything runs.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from engine.expressions import ExpressionError, referenced_steps
from kernel.errors import ProblemError

BRANCHES = ("IfSteps", "ElseSteps")


class DefinitionError(ProblemError):
    """A definition SageMaker's CreatePipeline would reject (the engine runs nothing)."""


@dataclass(frozen=True)
class Node:
    """One step, wherever it is nested.

    Attributes:
        parent: the Condition step whose branch holds it, if any.
        branch: True for IfSteps, False for ElseSteps (None at the top level).
        needs: the steps it waits for (DependsOn, data dependencies, and its parent).
    """

    name: str
    type: str
    definition: dict[str, Any]
    parent: str | None
    branch: bool | None
    needs: frozenset[str]


def build_graph(definition: dict[str, Any]) -> dict[str, Node]:
    """Every step of pipeline.json by name, in definition order.

    Raises:
        DefinitionError: duplicate names, a reference to no step, a malformed Get, a cycle.
    """
    raw = list(_flatten(definition.get("Steps", []), None, None))
    malformed = [i for i, (s, _, _) in enumerate(raw) if not _well_formed(s)]
    if malformed:
        raise DefinitionError(
            "pipeline.json",
            f"{len(malformed)} step(s) without a string Name and Type (in definition order, "
            f"counting nested steps: {', '.join(str(i) for i in malformed)})",
            "every step has both",
            "recompile the bundle with `python -m compiler ...`",
        )
    names = [step["Name"] for step, _, _ in raw]
    problems = [
        f"step name {n!r} is used twice" for n in sorted({n for n in names if names.count(n) > 1})
    ]
    nodes: dict[str, Node] = {}
    for step, parent, branch in raw:
        name = str(step["Name"])
        try:
            reads = set(referenced_steps(own_definition(step)))
        except ExpressionError as exc:
            problems.append(f"step {name}: {exc}")
            reads = set()
        depends = set(step.get("DependsOn") or [])
        for target, how in [(t, "DependsOn names") for t in sorted(depends)] + [
            (t, "a Get reads") for t in sorted(reads)
        ]:
            if target not in names:
                hint = difflib.get_close_matches(target, names, n=1)
                problems.append(
                    f"step {name}: {how} step {target!r}, which is not in the definition"
                    + (f" (did you mean {hint[0]!r}?)" if hint else "")
                )
        needs = (depends | reads | ({parent} if parent else set())) - {name}
        nodes[name] = Node(
            name, str(step["Type"]), step, parent, branch, frozenset(needs & set(names))
        )
    if not problems:
        problems += _cycles(nodes)
    if problems:
        raise DefinitionError(
            "pipeline.json",
            "\n  ".join(problems),  # one file, several faults: one line each
            "SageMaker rejects a definition whose steps name steps that do not exist "
            "or wait for each other",
            "correct the step names (recompile the bundle if it was edited by hand)",
        )
    return nodes


def descendants(nodes: dict[str, Node], start: str) -> set[str]:
    """`start` and every step that waits for it, directly or not."""
    found = {start}
    changed = True
    while changed:
        changed = False
        for node in nodes.values():
            if node.name not in found and node.needs & found:
                found.add(node.name)
                changed = True
    return found


def own_definition(step: dict[str, Any]) -> dict[str, Any]:
    """The parts of a step its own run resolves (a Condition's branches are their own steps)."""
    if step.get("Type") != "Condition":
        return step
    arguments = {k: v for k, v in step.get("Arguments", {}).items() if k not in BRANCHES}
    return {**step, "Arguments": arguments}


def _well_formed(step: Any) -> bool:
    return (
        isinstance(step, dict)
        and isinstance(step.get("Name"), str)
        and isinstance(step.get("Type"), str)
    )


def _flatten(
    steps: list[dict[str, Any]], parent: str | None, branch: bool | None
) -> Iterator[tuple[dict[str, Any], str | None, bool | None]]:
    for step in steps:
        yield step, parent, branch
        if _well_formed(step) and step["Type"] == "Condition":
            arguments = step.get("Arguments", {})
            yield from _flatten(arguments.get("IfSteps", []), step["Name"], True)
            yield from _flatten(arguments.get("ElseSteps", []), step["Name"], False)


def _cycles(nodes: dict[str, Node]) -> list[str]:
    done: set[str] = set()
    remaining = dict(nodes)
    while remaining:
        ready = [n for n, node in remaining.items() if node.needs <= done]
        if not ready:
            return [f"these steps wait for each other: {' -> '.join(sorted(remaining))}"]
        done.update(ready)
        for name in ready:
            del remaining[name]
    return []

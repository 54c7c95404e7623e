"""Read a pipeline definition as people write it: its steps wherever they sit, the steps each
one reads, and expressions as text (`Parameters.X`, `join("/", ...)`, `jsonget(...)`).

Pure functions over the parsed pipeline.json, shared by the picture, the diff and the engine.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

BRANCHES = ("IfSteps", "ElseSteps")
BRANCH_LABELS = {"IfSteps": "if true", "ElseSteps": "else"}


@dataclass(frozen=True)
class PlacedStep:
    """A step and where it sits: top level, or in a branch of a condition step.

    Attributes:
        step: the step as the definition holds it.
        parent: the condition step whose branch holds it; None at the top level.
        branch: `IfSteps` or `ElseSteps` of that parent; None at the top level.
    """

    step: dict[str, Any]
    parent: str | None = None
    branch: str | None = None

    @property
    def name(self) -> str:
        return str(self.step["Name"])

    @property
    def type(self) -> str:
        return str(self.step["Type"])

    @property
    def placement(self) -> str:
        if self.parent is None:
            return "top level"
        return f"{self.parent} ({BRANCH_LABELS[str(self.branch)]})"


def placed_steps(
    steps: list[dict[str, Any]], parent: str | None = None, branch: str | None = None
) -> Iterator[PlacedStep]:
    """Every step in definition order, each condition step followed by its branches' steps."""
    for step in steps:
        yield PlacedStep(step, parent, branch)
        if step.get("Type") == "Condition":
            for inner in BRANCHES:
                yield from placed_steps(
                    step.get("Arguments", {}).get(inner, []), step["Name"], inner
                )


def all_steps(definition: dict[str, Any]) -> list[PlacedStep]:
    """The definition's steps, nested condition branches included, in definition order."""
    return list(placed_steps(definition.get("Steps", [])))


def own_content(step: dict[str, Any]) -> dict[str, Any]:
    """The step without its branches' steps (a condition's branches list names instead)."""
    if step.get("Type") != "Condition":
        return step
    arguments = dict(step.get("Arguments", {}))
    for branch in BRANCHES:
        if branch in arguments:
            arguments[branch] = [inner.get("Name") for inner in arguments[branch]]
    return {**step, "Arguments": arguments}


def is_expression(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in EXPRESSIONS


def gets(value: Any) -> Iterator[str]:
    """Every `{"Get": ...}` path inside a value, Std:Join and Std:JsonGet included."""
    if isinstance(value, dict):
        if set(value) == {"Get"} and isinstance(value["Get"], str):
            yield value["Get"]
            return
        for item in value.values():
            yield from gets(item)
    elif isinstance(value, list):
        for item in value:
            yield from gets(item)


def referenced_steps(value: Any) -> set[str]:
    """The names of the steps whose properties the value reads."""
    names = set()
    for path in gets(value):
        parts = path.split(".")
        if len(parts) > 1 and parts[0] == "Steps":
            names.add(parts[1].split("[")[0])
    return names


def step_references(step: dict[str, Any]) -> set[str]:
    """The names of the steps whose properties this step reads (not its branches' reads)."""
    return referenced_steps(own_content(step))


def property_file_text(reference: Any) -> str:
    """`Evaluate.EvaluationReport` for the property file a JsonGet reads."""
    if isinstance(reference, dict) and isinstance(reference.get("Get"), str):
        parts = reference["Get"].split(".")
        if len(parts) == 4 and parts[0] == "Steps" and parts[2] == "PropertyFiles":
            return f"{parts[1]}.{parts[3]}"
        return str(reference["Get"])
    return show(reference)


def show(value: Any) -> str:
    """A definition value as written: expressions by name, literals as JSON."""
    if isinstance(value, dict):
        if set(value) == {"Get"}:
            return str(value["Get"])
        if set(value) == {"Std:Join"}:
            join = value["Std:Join"]
            parts = [json.dumps(join.get("On", "")), *(show(v) for v in join.get("Values", []))]
            return f"join({', '.join(parts)})"
        if set(value) == {"Std:JsonGet"}:
            get = value["Std:JsonGet"]
            return f"jsonget({property_file_text(get.get('PropertyFile'))}, {get.get('Path')})"
        items = (f"{json.dumps(k)}: {show(v)}" for k, v in sorted(value.items()))
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return json.dumps(value)


EXPRESSIONS = ("Get", "Std:Join", "Std:JsonGet")

"""The pipeline as a picture: Mermaid text (GitHub renders it) and Graphviz DOT.

Pure and deterministic: the same definition always gives the same bytes. Steps are drawn by
type; an edge joins each step to the steps whose properties it reads (solid) or that it waits
for by DependsOn alone (dashed); a condition step's branches are boxes under it, entered by
edges labelled `if true` / `else`, and the condition's node shows its comparisons with each
parameter's default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from kernel.notation import (
    BRANCH_LABELS,
    BRANCHES,
    PlacedStep,
    all_steps,
    property_file_text,
    show,
    step_references,
)

OPERATORS = {
    "Equals": "==",
    "NotEquals": "!=",
    "GreaterThan": ">",
    "GreaterThanOrEqualTo": ">=",
    "LessThan": "<",
    "LessThanOrEqualTo": "<=",
}


@dataclass(frozen=True)
class Look:
    """How one step type is drawn in each notation."""

    css: str
    mermaid: tuple[str, str]
    dot_shape: str
    fill: str


LOOKS = {
    "Processing": Look("processing", ("[[", "]]"), "box3d", "#dbeafe"),
    "Training": Look("training", ("([", "])"), "box", "#dcfce7"),
    "Tuning": Look("tuning", ("{{", "}}"), "hexagon", "#dcfce7"),
    "Condition": Look("condition", ("{", "}"), "diamond", "#fef9c3"),
    "Fail": Look("fail", (">", "]"), "octagon", "#fee2e2"),
    "Lambda": Look("lambda", ("[/", "/]"), "parallelogram", "#f3e8ff"),
    "RegisterModel": Look("register", ("[(", ")]"), "cylinder", "#ffedd5"),
    "Model": Look("model", ("(", ")"), "component", "#ffedd5"),
    "Transform": Look("transform", ("[\\", "\\]"), "trapezium", "#e0f2fe"),
    "QualityCheck": Look("check", ("[/", "\\]"), "invtrapezium", "#ccfbf1"),
    "ClarifyCheck": Look("check", ("[/", "\\]"), "invtrapezium", "#ccfbf1"),
}
OTHER = Look("other", ("[", "]"), "box", "#f1f5f9")
HEADER = "generated from pipeline.json by kernel.picture; do not edit"


def look(step_type: str) -> Look:
    return LOOKS.get(step_type, OTHER)


def parameter_defaults(definition: dict[str, Any]) -> dict[str, Any]:
    return {p["Name"]: p.get("DefaultValue") for p in definition.get("Parameters", [])}


def parameter_lines(definition: dict[str, Any]) -> list[str]:
    """`Name: Type = default` for each parameter, in definition order."""
    lines = []
    for parameter in definition.get("Parameters", []):
        line = f"{parameter['Name']}: {parameter.get('Type', 'String')}"
        if "DefaultValue" in parameter:
            line += f" = {show(parameter['DefaultValue'])}"
        lines.append(line)
    return lines


def operand_text(value: Any, defaults: dict[str, Any]) -> str:
    """A comparison's side: `ApproveThreshold (0.7)`, `Evaluate.EvaluationReport: a.b`."""
    if isinstance(value, dict) and set(value) == {"Get"} and isinstance(value["Get"], str):
        scope, _, rest = value["Get"].partition(".")
        if scope == "Parameters":
            default = f" ({show(defaults[rest])})" if rest in defaults else ""
            return f"{rest}{default}"
        if scope == "Steps":
            return rest
    if isinstance(value, dict) and set(value) == {"Std:JsonGet"}:
        get = value["Std:JsonGet"]
        return f"{property_file_text(get.get('PropertyFile'))}: {get.get('Path')}"
    return show(value)


def condition_text(condition: dict[str, Any], defaults: dict[str, Any]) -> str:
    """One condition as a comparison, e.g. `x >= ApproveThreshold (0.7)`."""
    kind = condition.get("Type")
    if kind in OPERATORS:
        left = operand_text(condition.get("LeftValue"), defaults)
        right = operand_text(condition.get("RightValue"), defaults)
        return f"{left} {OPERATORS[str(kind)]} {right}"
    if kind in ("In", "NotIn"):
        values = ", ".join(operand_text(v, defaults) for v in condition.get("Values", []))
        word = "in" if kind == "In" else "not in"
        return f"{operand_text(condition.get('QueryValue'), defaults)} {word} [{values}]"
    if kind == "Not":
        inner = condition.get("Expression", condition.get("Condition", {}))
        return f"not ({condition_text(inner, defaults)})"
    if kind == "Or":
        return "(" + " or ".join(condition_text(c, defaults) for c in condition["Conditions"]) + ")"
    return show(condition)


def label_lines(placed: PlacedStep, defaults: dict[str, Any]) -> list[str]:
    """Name, then the comparisons (a condition, ANDed) or the step type."""
    if placed.type != "Condition":
        return [placed.name, placed.type]
    conditions = placed.step.get("Arguments", {}).get("Conditions", [])
    texts = [condition_text(c, defaults) for c in conditions]
    return [placed.name, *(t if i == 0 else f"and {t}" for i, t in enumerate(texts))]


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: str  # "data", "depends", "IfSteps" or "ElseSteps"


def edges(steps: list[PlacedStep]) -> list[Edge]:
    """Data and DependsOn edges, and condition -> first steps of each branch, sorted."""
    order = {p.name: i for i, p in enumerate(steps)}
    incoming: dict[str, set[str]] = {}
    found: list[Edge] = []
    for placed in steps:
        reads = sorted(
            step_references(placed.step) & set(order) - {placed.name}, key=order.__getitem__
        )
        waits = [n for n in placed.step.get("DependsOn", []) if n in order and n not in reads]
        found += [Edge(source, placed.name, "data") for source in reads]
        found += [
            Edge(source, placed.name, "depends") for source in sorted(waits, key=order.__getitem__)
        ]
        incoming[placed.name] = set(reads) | set(waits)
    for placed in steps:
        if placed.parent is not None:
            siblings = {
                p.name for p in steps if (p.parent, p.branch) == (placed.parent, placed.branch)
            }
            if not incoming[placed.name] & siblings:
                found.append(Edge(placed.parent, placed.name, str(placed.branch)))
    return sorted(found, key=lambda e: (order[e.target], order[e.source], e.kind))


@dataclass(frozen=True)
class Event:
    """One line's worth of the nested layout: a step, or a branch box opening or closing."""

    kind: str  # "step", "open" or "close"
    depth: int
    placed: PlacedStep
    branch: str = ""


def layout(steps: list[PlacedStep]) -> Iterator[Event]:
    """Steps in definition order, each condition's non-empty branches boxed under it."""

    def children(parent: str | None, branch: str | None) -> list[PlacedStep]:
        return [p for p in steps if (p.parent, p.branch) == (parent, branch)]

    def walk(parent: str | None, branch: str | None, depth: int) -> Iterator[Event]:
        for placed in children(parent, branch):
            yield Event("step", depth, placed)
            for inner in BRANCHES if placed.type == "Condition" else ():
                if children(placed.name, inner):
                    yield Event("open", depth, placed, inner)
                    yield from walk(placed.name, inner, depth + 1)
                    yield Event("close", depth, placed, inner)

    yield from walk(None, None, 1)


def mermaid_text(text: str) -> str:
    """Escape for a quoted Mermaid label: entity codes for # " < > &."""
    for char, code in (
        ("#", "#35;"),
        ('"', "#quot;"),
        ("<", "#lt;"),
        (">", "#gt;"),
        ("&", "#amp;"),
    ):
        text = text.replace(char, code)
    return text


def drawn(
    steps: list[PlacedStep],
    node: Callable[[PlacedStep], str],
    branch: Callable[[PlacedStep, str], str],
    close: str,
    arrow: Callable[[Edge], str],
) -> list[str]:
    """The steps nested as `layout` places them, then the edges: the same walk for every
    notation, each drawing a node, a branch's opening and closing, and an edge its own way."""
    lines = []
    for event in layout(steps):
        indent = "  " * event.depth
        if event.kind == "step":
            lines.append(indent + node(event.placed))
        elif event.kind == "open":
            lines.append(indent + branch(event.placed, event.branch))
        else:
            lines.append(indent + close)
    return lines + [f"  {arrow(edge)}" for edge in edges(steps)]


# How each notation draws a data edge and a dependency (a branch edge is labelled by its branch).
ARROWS = {"data": "-->", "depends": "-.->|depends on|"}
ATTRIBUTES = {"data": "", "depends": ' [style=dashed, label="depends on"]'}


def mermaid_ids(steps: list[PlacedStep]) -> dict[str, str]:
    """Node ids: `s_Name`, or `s<n>_Name` without hyphens when the name has any."""
    return {
        p.name: f"s_{p.name}" if "-" not in p.name else f"s{i}_{p.name.replace('-', '')}"
        for i, p in enumerate(steps)
    }


def mermaid(definition: dict[str, Any]) -> str:
    """The pipeline as a Mermaid flowchart."""
    steps = all_steps(definition)
    defaults = parameter_defaults(definition)
    ids = mermaid_ids(steps)
    parameters = "<br/>".join(mermaid_text(t) for t in ["Parameters", *parameter_lines(definition)])
    lines = ["flowchart TD", f"  %% {HEADER}", f'  parameters["{parameters}"]']

    def node(placed: PlacedStep) -> str:
        opening, closing = look(placed.type).mermaid
        label = "<br/>".join(mermaid_text(t) for t in label_lines(placed, defaults))
        return f'{ids[placed.name]}{opening}"{label}"{closing}'

    def branch(placed: PlacedStep, kind: str) -> str:
        title = mermaid_text(f"{placed.name}: {BRANCH_LABELS[kind]}")
        return f'subgraph b{ids[placed.name][1:]}_{kind} ["{title}"]'

    def arrow(edge: Edge) -> str:
        shaft = ARROWS.get(edge.kind, f"-->|{BRANCH_LABELS.get(edge.kind)}|")
        return f"{ids[edge.source]} {shaft} {ids[edge.target]}"

    lines += drawn(steps, node, branch, "end", arrow)
    for css in sorted({look(p.type).css for p in steps}):
        members = [p for p in steps if look(p.type).css == css]
        lines.append(f"  classDef {css} fill:{look(members[0].type).fill},stroke:#334155")
        lines.append(f"  class {','.join(ids[p.name] for p in members)} {css}")
    return "\n".join(lines) + "\n"


def dot_text(text: str) -> str:
    """Escape for a double-quoted DOT string."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def dot(definition: dict[str, Any]) -> str:
    """The pipeline as a Graphviz digraph (`dot -Tsvg` draws it)."""
    steps = all_steps(definition)
    defaults = parameter_defaults(definition)
    parameters = "".join(dot_text(t) + "\\l" for t in ["Parameters", *parameter_lines(definition)])
    lines = [
        f"// {HEADER}",
        "digraph pipeline {",
        '  graph [rankdir=TB, fontname="Helvetica", fontsize=11];',
        '  node [fontname="Helvetica", fontsize=11, style=filled, color="#334155"];',
        '  edge [fontname="Helvetica", fontsize=10, color="#334155"];',
        f'  "(parameters)" [shape=note, fillcolor="#f8fafc", label="{parameters}"];',
    ]

    def node(placed: PlacedStep) -> str:
        style = look(placed.type)
        label = "\\n".join(dot_text(t) for t in label_lines(placed, defaults))
        return (
            f'"{dot_text(placed.name)}" [shape={style.dot_shape}, '
            f'fillcolor="{style.fill}", label="{label}"];'
        )

    def cluster(placed: PlacedStep, kind: str) -> str:
        title = dot_text(f"{placed.name}: {BRANCH_LABELS[kind]}")
        name = dot_text(f"cluster_{placed.name}_{kind}")
        return f'subgraph "{name}" {{ label="{title}"; style=dashed;'

    def arrow(edge: Edge) -> str:
        extra = ATTRIBUTES.get(edge.kind, f' [label="{BRANCH_LABELS.get(edge.kind)}"]')
        return f'"{dot_text(edge.source)}" -> "{dot_text(edge.target)}"{extra};'

    lines += [*drawn(steps, node, cluster, "}", arrow), "}"]
    return "\n".join(lines) + "\n"


def picture_files(definition: dict[str, Any]) -> dict[str, str]:
    """The picture files every bundle carries: file name -> text."""
    return {"pipeline.mmd": mermaid(definition), "pipeline.dot": dot(definition)}

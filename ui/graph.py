"""A pipeline's picture laid out for the page: steps in layers, edges between them.

The steps and edges are the kernel's (kernel.picture: the same ones the bundle's pipeline.mmd and
.dot draw); the layout is ours so the page can colour each step by its state without Graphviz:
a step's layer is the longest path to it, steps keep definition order within a layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kernel.notation import all_steps
from kernel.picture import edges, look

WIDTH, HEIGHT = 200, 46  # a step's box
GAP_X, GAP_Y, MARGIN = 24, 44, 16


@dataclass(frozen=True)
class Box:
    name: str
    type: str
    x: int
    y: int
    fill: str
    branch: str  # "", or "Parent: if true" / "Parent: else"


@dataclass(frozen=True)
class Line:
    source: str
    target: str
    kind: str  # data, depends, IfSteps, ElseSteps
    path: str  # SVG path data


@dataclass(frozen=True)
class Picture:
    boxes: tuple[Box, ...]
    lines: tuple[Line, ...]
    width: int
    height: int
    box_width: int = WIDTH
    box_height: int = HEIGHT


def picture(definition: dict[str, Any]) -> Picture:
    """The definition's steps in layers, top to bottom."""
    steps = all_steps(definition)
    found = edges(steps)
    layer = {p.name: 0 for p in steps}
    for _ in steps:  # longest path: at most one pass per step settles it
        for edge in found:
            layer[edge.target] = max(layer[edge.target], layer[edge.source] + 1)
    rows: dict[int, list[str]] = {}
    for placed in steps:
        rows.setdefault(layer[placed.name], []).append(placed.name)
    widest = max((len(r) for r in rows.values()), default=1)
    width = MARGIN * 2 + widest * WIDTH + (widest - 1) * GAP_X
    position = {}
    for number, names in rows.items():
        used = len(names) * WIDTH + (len(names) - 1) * GAP_X
        for index, name in enumerate(names):
            x = (width - used) // 2 + index * (WIDTH + GAP_X)
            position[name] = (x, MARGIN + number * (HEIGHT + GAP_Y))
    boxes = tuple(
        Box(
            p.name,
            p.type,
            *position[p.name],
            look(p.type).fill,
            f"{p.parent}: {'if true' if p.branch == 'IfSteps' else 'else'}" if p.parent else "",
        )
        for p in steps
    )
    lines = tuple(
        Line(e.source, e.target, e.kind, _route(position[e.source], position[e.target]))
        for e in found
    )
    height = MARGIN * 2 + max(len(rows), 1) * (HEIGHT + GAP_Y) - GAP_Y
    return Picture(boxes, lines, width, height)


def _route(source: tuple[int, int], target: tuple[int, int]) -> str:
    """A curve from the bottom middle of one box to the top middle of the other."""
    (x1, y1), (x2, y2) = (
        (source[0] + WIDTH // 2, source[1] + HEIGHT),
        (target[0] + WIDTH // 2, target[1]),
    )
    bend = max(GAP_Y // 2, (y2 - y1) // 2)
    return f"M{x1},{y1} C{x1},{y1 + bend} {x2},{y2 - bend} {x2},{y2}"

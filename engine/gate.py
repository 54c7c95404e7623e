"""What a Condition step decided, as people read it: each comparison with its values, the branch.

The Condition executor records its resolved conditions (`ResolvedConditions` in the step's
properties); this module pairs them with the conditions as the definition writes them, so the run
summary and the web view both say e.g. `Evaluate.EvaluationReport: metrics.accuracy.value = 0.97
>= ApproveThreshold = 0.7`, and which branch's steps the outcome started.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kernel.notation import all_steps, show
from kernel.picture import OPERATORS, condition_text, operand_text

RESOLVED = "ResolvedConditions"  # the Condition executor's property: the resolved conditions


@dataclass(frozen=True)
class Comparison:
    """One condition as written, with the values its sides had in this execution."""

    text: str  # e.g. `Evaluate.EvaluationReport: metrics.accuracy.value = 0.97 >= ...`
    result: bool | None
    value: Any = None  # the left side's value (the metric a gate compares), when it has one


@dataclass(frozen=True)
class Decision:
    """A Condition step that ran: its comparisons (ANDed), outcome and the branch it took."""

    step: str
    outcome: str
    comparisons: tuple[Comparison, ...]
    branch: str  # "if true" or "else"
    started: tuple[str, ...]  # the top steps of the branch taken

    def lines(self) -> list[str]:
        taken = ", ".join(self.started) or "no steps"
        head = f"condition {self.step}: {self.outcome} -> {self.branch} branch ({taken})"
        return [head, *(f"  {c.text}: {show(c.result)}" for c in self.comparisons)]


def decisions(definition: dict[str, Any], records: dict[str, dict[str, Any]]) -> list[Decision]:
    """The Condition steps of `definition` that succeeded in the execution `records` describe."""
    found = []
    for placed in all_steps(definition):
        record = records.get(placed.name)
        if placed.type != "Condition" or not record or record.get("StepStatus") != "Succeeded":
            continue
        properties = record.get("Properties", {})
        outcome = str(properties.get("Outcome"))
        arguments = placed.step.get("Arguments", {})
        branch = "IfSteps" if outcome == "True" else "ElseSteps"
        written = arguments.get("Conditions", [])
        resolved = properties.get(RESOLVED) or [{} for _ in written]  # a run before RESOLVED
        pairs = zip(written, resolved, strict=False)
        found.append(
            Decision(
                step=placed.name,
                outcome=outcome,
                comparisons=tuple(_comparison(w, r) for w, r in pairs),
                branch="if true" if branch == "IfSteps" else "else",
                started=tuple(str(s.get("Name")) for s in arguments.get(branch, [])),
            )
        )
    return found


def _comparison(written: dict[str, Any], resolved: dict[str, Any]) -> Comparison:
    """`left = value OP right = value`; a literal side is shown once; In, Not, Or as written."""
    kind = str(written.get("Type"))
    if "LeftValue" not in written or "LeftValue" not in resolved:
        return Comparison(condition_text(written, {}), resolved.get("Result"))
    sides = []
    for side in ("LeftValue", "RightValue"):
        text, value = operand_text(written[side], {}), show(resolved[side])
        sides.append(text if text == value else f"{text} = {value}")
    text = f"{sides[0]} {OPERATORS.get(kind, kind)} {sides[1]}"
    return Comparison(text, resolved.get("Result"), resolved["LeftValue"])

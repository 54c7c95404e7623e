"""What a person sees: a live table of the steps while they run, then a summary and the decision.

On a terminal the table redraws in place (rich's Live); elsewhere (logs, CI, tests) each step's
end is one printed line, so the output stays readable as plain text.
"""

from __future__ import annotations

import time
from datetime import datetime
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from engine.gate import decisions
from engine.run import Result

STYLES = {"Succeeded": "green", "Failed": "red", "Stopped": "yellow", "Executing": "cyan"}


class LiveView:
    """Receives each step record as it changes (pass `update` to run_bundle)."""

    def __init__(self, console: Console, title: str) -> None:
        self.console, self.title = console, title
        self.records: dict[str, dict[str, Any]] = {}
        self.live: Live | None = None

    def __enter__(self) -> LiveView:
        if self.console.is_terminal:
            self.live = Live(
                self._table(), console=self.console, refresh_per_second=4, transient=True
            )
            self.live.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.live is not None:
            self.live.update(self._table())
            self.live.__exit__(kind, exc, tb)

    def update(self, record: dict[str, Any]) -> None:
        self.records[record["StepName"]] = record
        if self.live is not None:
            self.live.update(self._table())
        elif record["StepStatus"] != "Executing":
            note = " (cached)" if "CacheHitResult" in record else ""
            note = " (reused)" if "SelectiveExecutionResult" in record else note
            self.console.print(
                f"{record['StepName']}: {record['StepStatus']}{note} in {seconds(record)}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )

    def _table(self) -> Table:
        table = Table(title=self.title)
        for column in ("Step", "Type", "Status", "Time"):
            table.add_column(column)
        for record in self.records.values():
            status = record["StepStatus"]
            table.add_row(
                record["StepName"],
                record.get("StepType", ""),
                f"[{STYLES.get(status, 'white')}]{status}[/]",
                seconds(record),
            )
        return table


def seconds(record: dict[str, Any]) -> str:
    start = datetime.fromisoformat(record["StartTime"]).timestamp()
    end = (
        datetime.fromisoformat(record["EndTime"]).timestamp()
        if "EndTime" in record
        else time.time()
    )
    return f"{end - start:.1f} s"


def print_summary(
    console: Console, result: Result, definition: dict[str, Any], s3_root: str
) -> None:
    """The summary table, the gate's decision, and where the logs and outputs are."""
    table = Table(title=f"execution {result.execution.id}: {result.status}")
    for column in ("Step", "Type", "Status", "Time"):
        table.add_column(column, no_wrap=True, min_width=len(column))
    table.add_column("Note", no_wrap=True)
    for name, node in result.nodes.items():
        record = result.records.get(name)
        if record is None:
            continue
        table.add_row(
            name,
            node.type,
            f"[{STYLES.get(record['StepStatus'], 'white')}]{record['StepStatus']}[/]",
            seconds(record),
            _note(record),
        )
    console.print(table)
    for line in decision(result, definition):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    console.print(
        f"execution: {result.execution.folder}", markup=False, highlight=False, soft_wrap=True
    )
    console.print(
        f"logs: {result.execution.folder}/steps/<step>/log.txt; S3 folder: {s3_root}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    if result.failure:
        console.print(f"failed: {result.failure}", markup=False, highlight=False, soft_wrap=True)


def decision(result: Result, definition: dict[str, Any]) -> list[str]:
    """The conditions (values compared, outcome, branch taken), the RegisterModel steps that
    ran, the Fail steps' messages."""
    lines = [line for found in decisions(definition, result.records) for line in found.lines()]
    for name, node in result.nodes.items():
        record = result.records.get(name)
        if record is None:
            continue
        if node.type == "RegisterModel":
            status = node.definition.get("Arguments", {}).get("ModelApprovalStatus")
            lines.append(f"register {name} ({status}): {record['StepStatus']}")
        elif node.type == "Fail":
            lines.append(f"fail {name}: {record.get('FailureReason', '')}")
    return lines


def _note(record: dict[str, Any]) -> str:
    if "CacheHitResult" in record:
        return "cache hit"
    if "SelectiveExecutionResult" in record:
        return "reused"
    if "Outcome" in record.get("Properties", {}):
        return f"Outcome {record['Properties']['Outcome']}"
    return "reason below" if record.get("FailureReason") else ""

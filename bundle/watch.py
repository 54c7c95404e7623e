"""Start a published pipeline with checked parameter values, and follow an execution to its end.

`python -m bundle.watch EXECUTION_ARN` follows any execution; `python -m bundle.publish ...
--start --watch` uses the same functions right after publishing. Parameter values are checked
against the definition's Parameters before anything is started: SageMaker itself accepts any
string and fails the execution later.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from bundle.aws import Aws, AwsError, connect
from kernel.console import output_console

TERMINAL = ("Succeeded", "Failed", "Stopped")
VALUE_PATTERNS = {  # the literals each parameter type takes; String takes any text
    "Integer": re.compile(r"[+-]?[0-9]+"),
    "Float": re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"),
    "Boolean": re.compile(r"true|false"),
}


class ParameterError(Exception):
    """Parameter values that do not fit the pipeline; the message reads where/what/why/fix."""


def parse_assignments(pairs: Iterable[str], where: str) -> dict[str, str]:
    """{'Name': 'Value'} from ['Name=Value', ...].

    Raises:
        ParameterError: an item has no '=' or an empty name.
    """
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ParameterError(
                f"{where} {pair}\n  not a Name=Value pair\n"
                "  why: each parameter value is given as Name=Value\n"
                "  fix: write it as e.g. `-p ApproveThreshold=0.8`"
            )
        values[name] = value
    return values


def as_parameter_value(value: Any) -> str:
    """A config value as the string StartPipelineExecution takes (booleans as true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def check_parameters(
    definition: Mapping[str, Any], values: Mapping[str, str], where: str
) -> dict[str, str]:
    """The values, checked against the definition's Parameters (names and types).

    Raises:
        ParameterError: every unknown name and every value of the wrong type, at once.
    """
    declared = {p["Name"]: p for p in definition.get("Parameters", [])}
    problems = []
    for name, value in values.items():
        if name not in declared:
            problems.append(
                f"{where} {name}={value}\n  unknown parameter {name!r}\n"
                f"  why: the pipeline's parameters are {', '.join(sorted(declared)) or '(none)'}\n"
                f"  fix: use one of them{_did_you_mean(name, declared)}"
            )
            continue
        kind = declared[name].get("Type", "String")
        if not value_fits(kind, value):
            problems.append(
                f"{where} {name}={value}\n  {value!r} is not {_article(kind)}\n"
                f"  why: parameter {name} is declared {kind} "
                f"(default {json.dumps(declared[name].get('DefaultValue'))})\n"
                f"  fix: give {_example(kind)}"
            )
    if problems:
        noun = "problem" if len(problems) == 1 else "problems"
        raise ParameterError(
            f"{len(problems)} {noun} in the parameter values\n\n" + "\n\n".join(problems)
        )
    return dict(values)


def value_fits(kind: str, value: str) -> bool:
    """Whether `value` is a literal of the parameter type (Python's int() and float() would also
    take '1_000', ' 5' or 'nan', which SageMaker does not). Publishing and the engine share it."""
    pattern = VALUE_PATTERNS.get(kind)
    return pattern is None or pattern.fullmatch(value) is not None


def _article(kind: str) -> str:
    return ("an " if kind[0] in "AEIOU" else "a ") + kind


def _example(kind: str) -> str:
    return {
        "Boolean": "true or false (lower case)",
        "Integer": "a whole number, e.g. 100",
        "Float": "a number, e.g. 0.8",
    }.get(kind, "a string")


def _did_you_mean(name: str, declared: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(declared), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass
class Outcome:
    """How an execution ended (or where it was when the time limit came)."""

    arn: str
    status: str
    failure_reason: str = ""
    failed_steps: list[tuple[str, str]] = field(default_factory=list)
    timed_out: bool = False

    @property
    def succeeded(self) -> bool:
        return self.status == "Succeeded"

    def to_json(self) -> dict[str, Any]:
        return {
            "arn": self.arn,
            "status": self.status,
            "failure_reason": self.failure_reason,
            "failed_steps": [{"step": s, "reason": r} for s, r in self.failed_steps],
            "timed_out": self.timed_out,
        }


def watch_execution(
    aws: Aws,
    arn: str,
    *,
    timeout: float | None,
    poll_seconds: float,
    console: Console,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Poll the execution and its steps, showing them live, until it ends or `timeout` passes."""
    deadline = None if timeout is None else clock() + timeout
    seen: dict[str, str] = {}
    with Live(console=console, auto_refresh=False, transient=False) as live:
        while True:
            execution = aws.execution(arn)
            steps = aws.execution_steps(arn)
            status = str(execution.get("PipelineExecutionStatus", "Unknown"))
            _log_transitions(steps, seen, console)  # one line per change: readable in CI logs
            live.update(_view(arn, status, steps), refresh=True)
            timed_out = deadline is not None and clock() >= deadline
            if status in TERMINAL or timed_out:
                break
            sleep(poll_seconds)
    if not console.is_terminal:
        console.line()  # a file gets the final table without its last newline
    failed = [
        (str(s["StepName"]), str(s.get("FailureReason", "(no reason given)")))
        for s in steps
        if s.get("StepStatus") == "Failed"
    ]
    return Outcome(
        arn,
        status,
        str(execution.get("FailureReason", "")),
        failed,
        timed_out=status not in TERMINAL,
    )


def _view(arn: str, status: str, steps: list[dict[str, Any]]) -> Group:
    table = Table(title=None, show_lines=False)
    for column in ("step", "status", "started", "ended"):
        table.add_column(column)
    for step in steps:
        table.add_row(
            str(step.get("StepName")),
            str(step.get("StepStatus")),
            _time(step.get("StartTime")),
            _time(step.get("EndTime")),
        )
    return Group(Text(f"execution {arn}: {status}"), table)


def _log_transitions(steps: list[dict[str, Any]], seen: dict[str, str], console: Console) -> None:
    for step in steps:
        name, status = str(step.get("StepName")), str(step.get("StepStatus"))
        if seen.get(name) != status:
            seen[name] = status
            console.print(f"{name}: {status}", markup=False, highlight=False)


def _time(value: Any) -> str:
    return value.strftime("%H:%M:%S") if hasattr(value, "strftime") else ""


def report_outcome(outcome: Outcome, console: Console, timeout: float | None) -> int:
    """Print how the execution ended; 0 when it succeeded, 1 otherwise."""
    if outcome.timed_out:
        console.print(
            f"execution {outcome.arn}\n  still {outcome.status} after {timeout:g} seconds\n"
            "  why: --timeout ended the watch; the execution keeps running on AWS\n"
            f"  fix: follow it again with `python -m bundle.watch {outcome.arn}`",
            markup=False,
            highlight=False,
        )
        return 1
    for step, reason in outcome.failed_steps:
        console.print(f"step {step} failed: {reason}", markup=False, highlight=False)
    if outcome.failure_reason and not outcome.succeeded:
        console.print(f"execution: {outcome.failure_reason}", markup=False, highlight=False)
    console.print(f"execution {outcome.status}", markup=False, highlight=False)
    return 0 if outcome.succeeded else 1


def main(
    argv: list[str] | None = None, connect_aws: Callable[[str | None, str], Aws] = connect
) -> int:
    """`python -m bundle.watch EXECUTION_ARN`: 0 when it succeeded, 1 otherwise, 2 bad input."""
    parser = argparse.ArgumentParser(prog="python -m bundle.watch", description=__doc__)
    parser.add_argument("execution_arn")
    parser.add_argument("--timeout", type=float, default=None, help="seconds; default: no limit")
    parser.add_argument("--poll", type=float, default=10.0, help="seconds between polls")
    parser.add_argument("--region", default=None)
    args = parser.parse_args(argv)
    console = output_console()
    try:
        outcome = watch_execution(
            connect_aws(args.region or _arn_region(args.execution_arn), "us-east-1"),
            args.execution_arn,
            timeout=args.timeout,
            poll_seconds=args.poll,
            console=console,
        )
    except AwsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return report_outcome(outcome, console, args.timeout)


def _arn_region(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else None


if __name__ == "__main__":
    sys.exit(main())

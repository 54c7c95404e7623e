"""Errors people can act on: each problem says where, what, why and how to fix it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input.

    Attributes:
        where: the file (and what selected it) or the command-line override.
        what: the key path and its value, or the object at fault.
        why: the rule it breaks.
        fix: what to do instead.
    """

    where: str
    what: str
    why: str
    fix: str

    def render(self) -> str:
        return f"{self.where}\n  {self.what}\n  why: {self.why}\n  fix: {self.fix}"


@dataclass(frozen=True)
class Issue:
    """A problem found by a component's cross check, at a key path relative to its settings.

    The assembly turns it into a Problem: it knows the full key path and where it was set.
    """

    loc: tuple[str, ...]
    what: str
    why: str
    fix: str


class CompileError(Exception):
    """All problems found in one stage, raised together so a user fixes them in one go."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__(self.render())

    def render(self) -> str:
        count = len(self.problems)
        head = f"error: {count} problem{'s' if count != 1 else ''} in the pipeline configuration"
        return head + "\n\n" + "\n\n".join(p.render() for p in self.problems)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ` (did you mean 'x'?)` suffix, or '' when nothing is close."""
    close = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def one_of(choices: Iterable[str]) -> str:
    return ", ".join(f"'{c}'" for c in sorted(set(choices)))


class ToolError(Exception):
    """A runtime tool's problem a person can act on: printed alone (no traceback), exit `status`.

    `problem` holds where/what/why/fix; the message is "error: " and the problem as rendered.
    """

    def __init__(self, where: str, what: str, why: str, fix: str, status: int = 2) -> None:
        self.problem = Problem(where=where, what=what, why=why, fix=fix)
        self.status = status
        super().__init__(self.render())

    def render(self) -> str:
        return "error: " + self.problem.render()

"""Errors people can act on: each problem says where, what, why and how to fix it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Self


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

    def reason(self) -> str:
        """The problem as a failed step's FailureReason: where and what on its first line."""
        return f"{self.where}: {self.what}\n  why: {self.why}\n  fix: {self.fix}"


@dataclass(frozen=True)
class Issue:
    """A problem found by a component's cross check, at a key path relative to its settings.

    The assembly turns it into a Problem: it knows the full key path and where it was set.
    """

    loc: tuple[str, ...]
    what: str
    why: str
    fix: str


class ProblemError(Exception):
    """The root of every error a person can act on: where, what, why and how to fix it.

    Its message is the problem (str(error)); a command prints it alone, no traceback, as
    `render()` does ("error: " first), and exits `status` (2: bad input). Several problems found
    together are raised together, under one headline, so a user fixes them in one go.
    Subclasses exist only where callers must tell errors apart.
    """

    status: int = 2
    topic: str = ""  # what the problems are in, for the headline of several
    most_shown: int | None = None  # problems shown of many (the rest are counted)

    def __init__(
        self, where: str, what: str, why: str, fix: str, status: int | None = None
    ) -> None:
        self._hold((Problem(where=where, what=what, why=why, fix=fix),), status, listed=False)

    @classmethod
    def of(cls, problems: Iterable[Problem], status: int | None = None) -> Self:
        """One error holding every problem found (at least one), under the topic's headline."""
        error = cls.__new__(cls)
        error._hold(tuple(problems), status, listed=True)
        return error

    def _hold(self, problems: tuple[Problem, ...], status: int | None, listed: bool) -> None:
        if not problems:
            raise ValueError("an error holds at least one problem")
        self.problems, self._listed = problems, listed
        if status is not None:
            self.status = status
        Exception.__init__(self, self._message())

    @property
    def problem(self) -> Problem:
        """The first (usually the only) problem."""
        return self.problems[0]

    @property
    def where(self) -> str:
        return self.problem.where

    @property
    def what(self) -> str:
        return self.problem.what

    @property
    def why(self) -> str:
        return self.problem.why

    @property
    def fix(self) -> str:
        return self.problem.fix

    def render(self) -> str:
        """What a command prints: "error: " and the message."""
        return f"error: {self}"

    def _message(self) -> str:
        if len(self.problems) == 1 and not (self._listed and self.topic):
            return self.problem.render()
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''}{self.topic}"
        shown = [p.render() for p in self.problems[: self.most_shown]]
        if len(shown) < count:
            shown.append(f"... and {count - len(shown)} more")
        return head + "\n\n" + "\n\n".join(shown)


class CompileError(ProblemError):
    """The configuration's problems, all found in one stage."""

    topic = " in the pipeline configuration"

    def __init__(self, problems: Iterable[Problem]) -> None:
        self._hold(tuple(problems), None, listed=True)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ` (did you mean 'x'?)` suffix, or '' when nothing is close."""
    close = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def one_of(choices: Iterable[str]) -> str:
    return ", ".join(f"'{c}'" for c in sorted(set(choices)))

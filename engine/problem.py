"""A problem a person can act on, as the engine's commands report it: where, what, why, fix."""

from __future__ import annotations


class Problem(Exception):
    """Raised by the engine's serving-side commands; printed alone, then exit `status`.

    Attributes:
        where: the argument, file or record at fault.
        what: the value and what is wrong with it.
        why: the rule it breaks.
        fix: what to do instead.
    """

    def __init__(self, where: str, what: str, why: str, fix: str, status: int = 2) -> None:
        self.where, self.what, self.why, self.fix, self.status = where, what, why, fix, status
        super().__init__(self.render())

    def render(self) -> str:
        return f"error: {self.where}\n  {self.what}\n  why: {self.why}\n  fix: {self.fix}"

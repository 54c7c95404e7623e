"""The console every command-line tool prints through.

On a terminal rich fits tables to its width; anywhere else (a pipe, a log file, CI) rich would
assume 80 columns and cut table cells ("Succeed…") and wrap long lines. Output that is not a
terminal gets a width no table reaches instead, and lines are never wrapped by rich (soft wrap),
so an ARN stays one line a person or a script can copy.
"""

from __future__ import annotations

import sys

from rich.console import Console

UNCUT_WIDTH = 10_000  # columns assumed when the output is not a terminal: nothing is cut


def output_console(*, stderr: bool = False) -> Console:
    """A console on stdout (or stderr) that never cuts or wraps what is not a terminal."""
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else UNCUT_WIDTH
    return Console(stderr=stderr, width=width, soft_wrap=True)

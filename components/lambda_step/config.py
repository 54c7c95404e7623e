"""Settings of a Lambda call's outcome check."""

from __future__ import annotations

from kernel.settings import Settings


class Succeeded(Settings):
    """`<name>Succeeded` goes on when every call answered 200; else `<name>Failed` fails the run."""

    name: str

"""What every project's sample_data script shares: writing its CSV files, and its command line."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any


def write_csvs(directory: str | Path, frames: Mapping[str, Any]) -> list[Path]:
    """Write each data frame as `<directory>/<file name>` (no index column); return the paths."""
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in frames.items():
        path = out_dir / name
        frame.to_csv(path, index=False)
        paths.append(path)
    return paths


def command(module: str, write: Callable[[str], Path | Sequence[Path]]) -> Callable[..., int]:
    """The script's `main(argv=None)`: `python -m <module> OUTDIR` writes the files there and
    prints their paths."""

    def main(argv: list[str] | None = None) -> int:
        args = sys.argv[1:] if argv is None else argv
        if len(args) != 1:
            print(f"usage: python -m {module} OUTDIR", file=sys.stderr)
            return 2
        written = write(args[0])
        for path in [written] if isinstance(written, Path) else written:
            print(path)
        return 0

    return main

"""`python -m bundle.graph DEFINITION [--format mermaid|dot|svg] [--output FILE]`: the picture.

Draws a bundle's pipeline.json (or a bare definition: a pipeline.json our compiler did not
write, or DescribePipeline's answer) (kernel.picture) as Mermaid text, Graphviz DOT, or an SVG
drawn by Graphviz's `dot` when it is installed. Writes to stdout, or to FILE whole (staged,
then renamed) so that a failed run leaves no half-written file.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bundle.read import BundleError, read_definition
from kernel.errors import ProblemError
from kernel.picture import dot, mermaid

INSTALL_GRAPHVIZ = (
    "install Graphviz: `sudo apt-get install -y graphviz` (Debian, Ubuntu), "
    "`brew install graphviz` (macOS), or see https://graphviz.org/download/; "
    "or use --format mermaid or --format dot"
)


def svg(dot_text: str, where: str) -> bytes:
    """Run Graphviz `dot -Tsvg` on the DOT text."""
    program = shutil.which("dot")
    if program is None:
        raise ProblemError(
            where,
            "--format svg needs Graphviz's `dot` program",
            "`dot` is not on PATH",
            INSTALL_GRAPHVIZ,
        )
    done = subprocess.run(
        [program, "-Tsvg"], input=dot_text.encode(), capture_output=True, check=False
    )
    if done.returncode != 0:
        raise ProblemError(
            where,
            f"`dot -Tsvg` failed (exit {done.returncode})",
            done.stderr.decode(errors="replace").strip(),
            "report this with the bundle's pipeline.json; --format dot shows the input",
        )
    return done.stdout


def picture(bundle_dir: Path, kind: str) -> bytes:
    """The picture of the bundle's pipeline in the asked format, as bytes."""
    bundle = read_definition(bundle_dir)
    definition = bundle.definition
    if kind == "mermaid":
        return mermaid(definition).encode()
    if kind == "dot":
        return dot(definition).encode()
    return svg(dot(definition), str(bundle.definition_file))


def write_whole(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a file beside it, then rename (the umask sets the mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with staging.open("xb") as out:
            out.write(data)
        os.replace(staging, path)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bundle.graph", description="Draw a compiled bundle's pipeline."
    )
    parser.add_argument(
        "bundle",
        type=Path,
        metavar="DEFINITION",
        help="a compiled bundle folder, a pipeline.json, or DescribePipeline's answer",
    )
    parser.add_argument(
        "--format", choices=("mermaid", "dot", "svg"), default="mermaid", help="default: mermaid"
    )
    parser.add_argument("--output", type=Path, metavar="FILE", help="write here (default: stdout)")
    args = parser.parse_args(argv)
    try:
        data = picture(args.bundle, args.format)
    except (BundleError, ProblemError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        write_whole(args.output, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())

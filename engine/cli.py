"""`python -m engine run DEFINITION ...` and `python -m engine compile-run OVERRIDES ...`.

DEFINITION is a bundle folder, a pipeline definition file (pipeline.json) or DescribePipeline's
answer; a local map (engine/localmap.py: `--map FILE` or `<stem>.map.yaml` beside it, `--s3`,
`--lambda`, `-p`) says what stands in for its S3 objects, parameters and Lambda functions.

Exit status: 0 the execution Succeeded; 1 it Failed (a Fail step included: its ErrorMessage is
printed); 130 it was Stopped (Ctrl-C); 2 bad input (arguments, bundle, data), nothing ran;
70 the engine itself failed (a bug: one line, the traceback in <root>/engine-errors.log).
"""

from __future__ import annotations

import argparse
import functools
import signal
import subprocess
import sys
import traceback
from dataclasses import replace
from pathlib import Path
from types import FrameType

from rich.console import Console

from bundle.read import Bundle, BundleError, read_definition
from engine import container_fs, environments
from engine.executions import now
from engine.localmap import LocalMap, from_options, map_beside, read_map, with_map
from engine.run import EngineInputError, RunOptions, engine_bug, run_bundle
from engine.view import LiveView, print_summary
from kernel.console import output_console
from kernel.errors import ProblemError

DEFAULT_ROOT = Path("build/engine")
EXIT = {"Succeeded": 0, "Failed": 1, "Stopped": 130}
ENGINE_BUG = 70  # EX_SOFTWARE: the engine itself failed
BUNDLE_LINE = "  -> "  # how `python -m compiler` reports where it wrote a bundle


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "run" and extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.max_parallel < 1:
        parser.error(f"--max-parallel {args.max_parallel}: give at least 1")
    console = output_console()
    errors = output_console(stderr=True)
    if args.command == "compile-run":
        bundle_dir = _compile(extra, errors)
        if bundle_dir is None:
            return 2
        console.print(
            f"compiled {' '.join(extra) or '(defaults)'} -> {bundle_dir}",
            markup=False,
            highlight=False,
        )
    else:
        bundle_dir = args.bundle
    previous = signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops jobs as Ctrl-C does
    # Ctrl-C stops the run even where the starter left SIGINT ignored (a background job of a
    # non-interactive shell, nohup): a command that says "Ctrl-C stops it" must mean it.
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    if args.container_paths:
        container_fs.choose(args.container_paths)
    options = RunOptions(
        root=args.root.resolve(),
        parameters=tuple(args.parameter),
        data=args.data and args.data.resolve(),
        from_step=args.from_step,
        use_cache=not args.no_cache,
        max_parallel=args.max_parallel,
        containers=environments.selected(args.containers),
    )
    try:
        bundle, local = _read(bundle_dir, args)
        options = replace(options, parameters=(*local.parameter_options(), *options.parameters))
        with LiveView(console, bundle.name) as view:
            result = run_bundle(bundle, options, view.update, functools.partial(_say, console))
    except (BundleError, EngineInputError, ProblemError) as exc:  # MapError is a ProblemError
        errors.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt:  # before the first step started: nothing to record
        errors.print("stopped before any step ran", markup=False, highlight=False)
        return EXIT["Stopped"]
    except Exception as exc:  # an engine bug: said once, its traceback in a file
        log_path = options.root / "engine-errors.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("a", encoding="utf-8") as log:
            log.write(f"[{now()}] python -m engine {' '.join(sys.argv[1:])}\n")
            log.write(traceback.format_exc())
        errors.print(
            f"error: {engine_bug(exc, log_path)}", markup=False, highlight=False, soft_wrap=True
        )
        return ENGINE_BUG
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
    print_summary(console, result, bundle.definition, str(options.root / "s3"))
    return EXIT[result.status]


def _read(path: Path, args: argparse.Namespace) -> tuple[Bundle, LocalMap]:
    """The definition with its local map's objects and functions, and that map.

    Raises:
        BundleError: the definition cannot be read.
        MapError: the map cannot be used.
    """
    bundle = read_definition(path)
    file = args.map or map_beside(path)
    local = (read_map(file) if file else LocalMap()).overridden(
        from_options(s3=args.s3, lambdas=args.lambdas)
    )
    return with_map(bundle, local), local


def _say(console: Console, lines: list[str]) -> None:
    """Notes before the steps (above the live table while it runs)."""
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engine", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "run",
        help="run a compiled bundle, a pipeline definition (pipeline.json) or DescribePipeline's "
        "answer",
    )
    run.add_argument("bundle", type=Path, metavar="DEFINITION")
    compile_run = commands.add_parser(
        "compile-run",
        help="compile with `python -m compiler OVERRIDES...`, then run the bundle it writes",
    )
    for command in (run, compile_run):
        command.add_argument(
            "-p",
            "--parameter",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="set a pipeline parameter",
        )
        command.add_argument(
            "--map",
            type=Path,
            metavar="FILE",
            help="the local map: s3 URIs, parameters, lambdas (default: <definition>.map.yaml "
            "beside the definition, if there is one)",
        )
        command.add_argument(
            "--s3",
            action="append",
            default=[],
            metavar="URI=PATH",
            help="a local file or folder for an S3 object or prefix the definition reads",
        )
        command.add_argument(
            "--lambda",
            dest="lambdas",
            action="append",
            default=[],
            metavar="ARN=FILE:FUNCTION",
            help="the local handler of a Lambda function the definition calls",
        )
        command.add_argument(
            "--data",
            type=Path,
            help="folder of raw data files for InputDataUri (default: the project's sample data)",
        )
        command.add_argument(
            "--from",
            dest="from_step",
            metavar="STEP",
            help="rerun from STEP, reusing the last execution's earlier steps",
        )
        command.add_argument("--no-cache", action="store_true", help="ignore CacheConfig")
        command.add_argument(
            "--root",
            type=Path,
            default=DEFAULT_ROOT,
            help=f"engine folder: S3, executions, registry (default {DEFAULT_ROOT})",
        )
        environments.add_options(command)
        command.add_argument(
            "--container-paths",
            choices=container_fs.MODES,
            help="how jobs see /opt/ml: a mount namespace, rewritten paths, or auto (default: "
            f"${container_fs.MODE_VARIABLE} or auto; see engine/README.md)",
        )
        command.add_argument(
            "--max-parallel", type=int, default=4, metavar="N", help="steps run at once (default 4)"
        )
    return parser


def _compile(overrides: list[str], errors: Console) -> Path | None:
    """Run the compiler as its own process (the engine never imports it); the bundle it wrote."""
    done = subprocess.run(
        [sys.executable, "-m", "compiler", *overrides], capture_output=True, text=True
    )
    if done.returncode != 0:
        errors.print(done.stderr.rstrip(), markup=False, highlight=False, soft_wrap=True)
        return None
    given = [o.split("=", 1)[1] for o in overrides if o.startswith("output_dir=")]
    if given:
        return Path(given[-1])
    written = [
        line[len(BUNDLE_LINE) :].split("/pipeline.json")[0]
        for line in done.stdout.splitlines()
        if line.startswith(BUNDLE_LINE)
    ]
    if len(written) != 1:
        several = ProblemError(
            f"python -m compiler {' '.join(overrides)}",
            f"wrote {len(written)} bundles",
            "compile-run runs exactly one bundle",
            "drop -m (sweeps), or compile first and use `python -m engine run BUNDLE_DIR`",
        )
        errors.print(
            several.render(),
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return None
    return Path(written[0])


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt

"""`python -m ui [--build DIR] [--root DIR] [--host H] [--port N]`: serve the web view.

Listens on 127.0.0.1 unless `--host` says otherwise, and prints the address with a fresh token
(as Jupyter does): the first visit with it opens a session; approving or rejecting a model needs
the token itself. Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import secrets
import socket
import sys
from pathlib import Path

import uvicorn

from ui.app import create_app
from ui.security import LOOPBACK_NAMES, Guard
from ui.sources import Sources

DEFAULT_PORT = 8765


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ui", description=__doc__)
    parser.add_argument("--build", type=Path, default=Path("build"), help="bundles (default build)")
    parser.add_argument(
        "--root", type=Path, default=Path("build/engine"), help="engine root (default build/engine)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default loopback)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}; 0: a free one"
    )
    args = parser.parse_args(argv)
    try:
        listener = bind(args.host, args.port)
    except OSError as exc:
        print(
            f"error: --host {args.host} --port {args.port}\n  cannot listen: {exc.strerror}\n"
            "  why: another program uses the port, or the address is not this machine's\n"
            "  fix: pass another --port (0 picks a free one)",
            file=sys.stderr,
        )
        return 2
    guard = Guard(secrets.token_urlsafe(24), loopback=args.host in LOOPBACK_NAMES)
    server = make_server(Sources(args.build, args.root), guard)
    host, port = listener.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"serving {args.build} and {args.root} at http://{shown}:{port}/?token={guard.token}")
    print("open that address (it carries the token); Ctrl-C stops", flush=True)
    server.run(sockets=[listener])
    return 0


def bind(host: str, port: int) -> socket.socket:
    """The listening socket (bound here so that port 0 gives a known free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(128)  # connections wait from now on, even before the server accepts them
    return listener


def make_server(found: Sources, guard: Guard) -> uvicorn.Server:
    config = uvicorn.Config(
        create_app(found, guard),
        log_level="warning",
        timeout_graceful_shutdown=2,
        lifespan="off",
    )
    return uvicorn.Server(config)

"""A served web view over a build folder and engine root, and headless Chromium to look at it.

The browser is Debian's chromium at /usr/bin/chromium (`.ci/run` installs it), driven by
Playwright; nothing is downloaded.
"""

from __future__ import annotations

import http.cookiejar
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ui.cli import bind, make_server
from ui.security import Guard
from ui.sources import Sources

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Served:
    """A running `python -m ui` server (in a thread of this process)."""

    url: str
    guard: Guard
    build: Path
    root: Path

    def login_url(self, path: str = "/") -> str:
        return f"{self.url}{path}?token={self.guard.token}"

    def opener(self) -> urllib.request.OpenerDirector:
        """A client holding the session cookie the token gives (as a browser would)."""
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.open(self.login_url())
        return opener


def serve(build: Path, root: Path) -> Iterator[Served]:
    listener = bind("127.0.0.1", 0)
    guard = Guard("test-token-" + os.urandom(8).hex())
    server = make_server(Sources(build, root), guard)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the ui server did not start"
    yield Served(url, guard, build, root)
    server.should_exit = True
    thread.join(10)
    listener.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """A server over an empty build folder and engine root (tests fill them)."""
    (tmp_path / "build").mkdir()
    yield from serve(tmp_path / "build", tmp_path / "build" / "engine")


def fetch(
    opener: urllib.request.OpenerDirector | None, url: str, **request: Any
) -> tuple[int, str]:
    """Status and body of a request (errors are answers too)."""
    call = opener.open if opener else urllib.request.urlopen
    try:
        with call(urllib.request.Request(url, **request)) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def start_engine(bundle: Path, root: Path, *args: str) -> subprocess.Popen[str]:
    """`python -m engine run` as its own process (it handles signals in its main thread)."""
    return subprocess.Popen(
        [sys.executable, "-m", "engine", "run", str(bundle), "--root", str(root), *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(process: subprocess.Popen[str], code: int = 0) -> str:
    out, _ = process.communicate(timeout=300)
    assert process.returncode == code, out
    return out

"""Compare text with a committed golden file; rewrite it only under `pytest --update-goldens`."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


def check_golden(golden: Path, actual: str, request: pytest.FixtureRequest) -> None:
    """Fail with a unified diff that names the golden when `actual` differs from it."""
    if request.config.getoption("--update-goldens"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual, encoding="utf-8")
        return
    expected = golden.read_text(encoding="utf-8") if golden.exists() else ""
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile=f"{golden.relative_to(TESTS.parent)} (golden)",
                tofile="produced now",
            )
        )
        pytest.fail(f"{golden} differs; if intended, run pytest --update-goldens\n{diff}")

"""Output that is not a terminal is never cut: long lines stay whole, wide tables keep all cells."""

from __future__ import annotations

import pytest
from rich.table import Table

from kernel.console import output_console

ARN = (
    "arn:aws:sagemaker:eu-central-1:123456789012:pipeline/"
    "penguins-pytorch-tune-top2-strict-gate-eu/execution/abcdef123456"
)


def test_a_long_arn_is_one_line_when_piped(capsys: pytest.CaptureFixture[str]) -> None:
    output_console().print(f"started {ARN}", markup=False, highlight=False)
    assert capsys.readouterr().out == f"started {ARN}\n"


def test_a_wide_table_keeps_every_cell_when_piped(capsys: pytest.CaptureFixture[str]) -> None:
    table = Table("Step", "Type", "Status", "Time", "Note")
    cells = ["SelectBestModelOfTheTuningJob", "Condition", "Succeeded", "10.25 s", "Outcome True"]
    for number in range(3):
        table.add_row(*cells[:-1], f"{cells[-1]} {ARN} {number}")
    output_console().print(table)
    out = capsys.readouterr().out
    assert "…" not in out
    rows = [line for line in out.splitlines() if cells[0] in line]
    assert len(rows) == 3
    for number, row in enumerate(rows):
        assert all(cell in row for cell in cells[:-1]), row
        assert f"{cells[-1]} {ARN} {number}" in row


def test_errors_on_stderr_are_not_wrapped_either(capsys: pytest.CaptureFixture[str]) -> None:
    output_console(stderr=True).print("x" * 300, markup=False)
    assert capsys.readouterr().err == "x" * 300 + "\n"

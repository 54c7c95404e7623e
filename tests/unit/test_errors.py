"""One error family: every error a person can act on is a kernel.errors.ProblemError."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bundle.aws import AwsError
from bundle.watch import ParameterError
from endpoint.common import EndpointError
from kernel.errors import CompileError, Problem, ProblemError

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ("compiler", "kernel", "bundle", "engine", "endpoint")
WRONG = Problem("conf/gate/default.yaml", "gate.approve = 2", "thresholds lie in (0, 1]", "use 0.7")


def test_the_root_holds_the_four_fields_and_renders_them_after_error() -> None:
    error = ProblemError("-p X", "unknown parameter 'X'", "no such parameter", "use Y", status=3)
    assert (error.where, error.what, error.why, error.fix, error.status) == (
        "-p X",
        "unknown parameter 'X'",
        "no such parameter",
        "use Y",
        3,
    )
    assert str(error) == "-p X\n  unknown parameter 'X'\n  why: no such parameter\n  fix: use Y"
    assert error.render() == f"error: {error}"


def test_several_problems_read_under_one_headline() -> None:
    other = Problem("command line override x=1", "unknown key 'x'", "the root has no key 'x'", "-")
    error = CompileError([WRONG, other])
    assert error.problems == (WRONG, other)
    assert error.where == WRONG.where
    assert error.render() == (
        f"error: 2 problems in the pipeline configuration\n\n{WRONG.render()}\n\n{other.render()}"
    )
    assert (
        str(ParameterError.of([WRONG])) == f"1 problem in the parameter values\n\n{WRONG.render()}"
    )


def test_an_error_without_a_problem_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one problem"):
        ProblemError.of([])


@pytest.mark.parametrize("family", [CompileError, AwsError, ParameterError, EndpointError])
def test_each_error_kind_is_in_the_family(family: type[Exception]) -> None:
    assert issubclass(family, ProblemError)


def test_endpoint_tools_exit_1_by_default() -> None:
    assert EndpointError("endpoint e", "no answer", "it timed out", "retry").status == 1
    assert ProblemError("a", "b", "c", "d").status == 2


def test_no_module_imports_an_error_under_another_name() -> None:
    """`from kernel.errors import ToolError as Problem` once collided with kernel.errors.Problem."""
    renamed = [
        f"{path.relative_to(REPO)}: {alias.name} as {alias.asname}"
        for package in PRODUCT
        for path in (REPO / package).rglob("*.py")
        if "scripts" not in path.parts
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.module == "kernel.errors"
        for alias in node.names
        if alias.asname
    ]
    assert renamed == []
